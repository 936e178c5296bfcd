/**
 * Shared helpers of the core/models tests: the diffusers-tiny-sd2 fixture (see its
 * README), its reference outputs, batch slicing, error measures, and writing modified
 * copies of the checkpoint (safetensors written from scratch) into temp dirs.
 */
import { dirname, join } from "node:path";
import { type HostTensor, Session } from "../../../core/onnx/runtime.ts";
import type { Model } from "../../../core/onnx/types.ts";
import { FIXTURES, type JsonArray, readJson } from "../../helpers/fixtures.ts";

/** The fixture checkpoint root. */
export const SD2 = `${FIXTURES}diffusers-tiny-sd2`;

/** reference.json, the parts these tests read. */
export interface Reference {
  text_encoder: { input_ids: JsonArray; last_hidden_state: JsonArray; pooler_output: JsonArray };
  unet: {
    sample: JsonArray;
    timestep: JsonArray;
    encoder_hidden_states: JsonArray;
    out_sample: JsonArray;
  };
  vae: {
    decode_latent_sample: JsonArray;
    decode_sample: JsonArray;
    encode_sample: JsonArray;
    encode_mean: JsonArray;
  };
}

/** The fixture's reference.json. */
export const REF: Reference = await readJson<Reference>("diffusers-tiny-sd2/reference.json");

/** Rows `rows` of a batch-first array as a host tensor (float32, or int32 for integer data). */
export function rows(a: JsonArray, picks: number[]): HostTensor {
  const per = a.data.length / a.shape[0]!;
  const data = picks.flatMap((r) => a.data.slice(r * per, (r + 1) * per));
  const dims = [picks.length, ...a.shape.slice(1)];
  return a.dtype.startsWith("int")
    ? { dtype: "int32", dims, data: Int32Array.from(data) }
    : { dtype: "float32", dims, data: Float32Array.from(data) };
}

/** The flat reference values of rows `picks`. */
export function refRows(a: JsonArray, picks: number[]): number[] {
  const per = a.data.length / a.shape[0]!;
  return picks.flatMap((r) => a.data.slice(r * per, (r + 1) * per));
}

/** max |a - b|, checking lengths. */
export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** Runs `model` once on `feeds` and returns output `name`'s data and dims. */
export async function runOnce(
  model: Model,
  feeds: Record<string, HostTensor>,
  name: string,
): Promise<{ data: Float32Array; dims: number[] }> {
  const s = await Session.create(model);
  try {
    const out = (await s.run(feeds))[name];
    if (!out) throw new Error(`no output ${name}`);
    return { data: out.data as Float32Array, dims: out.dims };
  } finally {
    await s.release();
  }
}

/** Copies the fixture's configs and weights into `dest` (a fresh checkpoint folder). */
export async function copyCheckpoint(dest: string): Promise<void> {
  const files = [
    "model_index.json",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
  ];
  for (const f of files) {
    await Deno.mkdir(dirname(join(dest, f)), { recursive: true });
    await Deno.copyFile(join(SD2, f), join(dest, f));
  }
}

/** One tensor to write into a safetensors file. */
export interface StEntry {
  name: string;
  dtype: "F32" | "F16" | "BF16";
  shape: number[];
  bytes: Uint8Array;
}

/** Writes a safetensors file (8-byte header length, JSON header padded to 8, data). */
export async function writeSafetensors(path: string, entries: StEntry[]): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = {
      dtype: e.dtype,
      shape: e.shape,
      data_offsets: [offset, offset + e.bytes.length],
    };
    offset += e.bytes.length;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += " ";
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, out);
}
