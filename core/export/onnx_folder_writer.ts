/**
 * Writing the graphs core builds from a diffusers checkpoint as an ONNX export folder in the
 * optimum layout, so that any ONNX Runtime (or core's loadOnnxFolder) runs them without
 * Python:
 *
 *     text_encoder/model.onnx    input_ids int32 [batch, L]       → last_hidden_state
 *     text_encoder/embeds.onnx   inputs_embeds f32 [batch, L, d]   → last_hidden_state
 *     unet/model.onnx            sample, timestep f32 [batch], encoder_hidden_states → out_sample
 *     vae_decoder/model.onnx     latent_sample → sample (no scaling factor)
 *     vae_encoder/model.onnx     sample → latent_sample (posterior mean)
 *     <component>/weights.bin    the component's tensors as external data
 *     <component>/config.json, tokenizer/, scheduler/, README.md
 *
 * Weights are copied byte for byte from the safetensors files (fp16 stays fp16; the graphs
 * keep their Cast to float32) into ONE external-data file per component folder, because ONNX
 * Runtime refuses external data outside a model's folder. The folder is written under a
 * temporary name beside `outDir` and renamed at the end, so a failed export leaves nothing.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { type CheckpointOptions, loadDiffusersCheckpoint, type SdGraphs } from "../models/mod.ts";
import {
  DType,
  type Model,
  saveModel,
  type Tensor,
  tensorBytes,
  type ValueInfo,
} from "../onnx/mod.ts";

/** Options of {@linkcode writeOnnxFolder}. */
export interface OnnxFolderWriteOptions extends CheckpointOptions {
  /** Replace an existing non-empty `outDir` (default: refuse). */
  overwrite?: boolean;
  /** Recorded in README.md. */
  source?: { name: string; revision: string };
  /** Called after each tensor written. */
  onProgress?: (done: number, total: number) => void;
}

/** What was written for one component folder. */
export interface ExportedComponent {
  folder: string;
  models: string[];
  /** Bytes of weights.bin (0 when the graphs hold no large tensors). */
  weightBytes: number;
  tensors: number;
}

/** Inline tensors at least this large move to weights.bin too. */
const INLINE_LIMIT = 1024;
/** Offsets in weights.bin are aligned to this many bytes. */
const ALIGN = 64;
const WEIGHTS = "weights.bin";

interface ComponentSpec {
  folder: string;
  models: [string, Model][];
  config: string;
}

/** The component folders of `g`; a pixel-space model (no VAE) has no vae_* folders. */
function components(g: SdGraphs): ComponentSpec[] {
  const specs: ComponentSpec[] = [
    {
      folder: "text_encoder",
      models: [["model.onnx", g.textEncoder], ["embeds.onnx", g.textEncoderEmbeds]],
      config: "text_encoder/config.json",
    },
    { folder: "unet", models: [["model.onnx", g.unet]], config: "unet/config.json" },
  ];
  if (g.vaeDecoder) {
    specs.push({
      folder: "vae_decoder",
      models: [["model.onnx", g.vaeDecoder]],
      config: "vae/config.json",
    });
  }
  if (g.vaeEncoder) {
    specs.push({
      folder: "vae_encoder",
      models: [["model.onnx", g.vaeEncoder]],
      config: "vae/config.json",
    });
  }
  return specs;
}

/** Identity of an external tensor's bytes (shared by graphs that use the same weight). */
function keyOf(t: Tensor, base: string | undefined): string | null {
  if (!t.external) return null;
  const loc = t.external.location;
  return `${
    isAbsolute(loc) ? loc : resolve(base ?? ".", loc)
  }:${t.external.offset}:${t.external.length}`;
}

/** Whether a tensor goes to weights.bin. */
const moves = (t: Tensor) => t.external !== undefined || (t.data?.length ?? 0) >= INLINE_LIMIT;

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

/** Moves every external (and large inline) tensor of `models` into `dir`/weights.bin. */
async function writeComponent(
  dir: string,
  spec: ComponentSpec,
  tick: () => void,
): Promise<ExportedComponent> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(join(dir, WEIGHTS), { write: true, create: true, truncate: true });
  const placed = new Map<string, number>();
  let size = 0, tensors = 0;
  const place = async (t: Tensor, base: string | undefined): Promise<Tensor> => {
    if (!moves(t)) return t;
    const key = keyOf(t, base);
    let offset = key === null ? undefined : placed.get(key);
    const bytes = offset === undefined ? await tensorBytes(t, base) : null;
    if (bytes) {
      offset = size;
      await writeAll(file, bytes);
      const pad = (ALIGN - (bytes.length % ALIGN)) % ALIGN;
      if (pad) await writeAll(file, new Uint8Array(pad));
      size += bytes.length + pad;
      tensors++;
      if (key !== null) placed.set(key, offset);
      tick();
    }
    const length = t.external?.length ?? t.data!.length;
    return {
      name: t.name,
      dtype: t.dtype,
      dims: t.dims,
      external: { location: WEIGHTS, offset: offset!, length },
    };
  };
  try {
    for (const [name, model] of spec.models) {
      const initializers: Tensor[] = [];
      for (const t of model.graph.initializers) initializers.push(await place(t, model.baseDir));
      await saveModel(
        { ...model, graph: { ...model.graph, initializers }, baseDir: dir },
        join(dir, name),
      );
    }
  } finally {
    file.close();
  }
  if (size === 0) await Deno.remove(join(dir, WEIGHTS));
  return { folder: spec.folder, models: spec.models.map(([n]) => n), weightBytes: size, tensors };
}

async function copyTree(from: string, to: string): Promise<boolean> {
  try {
    if (!(await Deno.stat(from)).isDirectory) return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
  return true;
}

const io = (v: ValueInfo) =>
  `\`${v.name}\` ${DType[v.dtype]?.toLowerCase()} [${(v.shape ?? []).join(", ")}]`;

function readme(
  g: SdGraphs,
  specs: ComponentSpec[],
  out: ExportedComponent[],
  o: OnnxFolderWriteOptions,
  extras: string[],
): string {
  const src = o.source
    ? `${o.source.name} (revision ${o.source.revision})`
    : "a diffusers checkpoint";
  const rows = specs.flatMap((s, i) =>
    s.models.map(([name, m]) =>
      `| ${s.folder}/${name} | ${m.graph.inputs.map(io).join(", ")} | ${
        m.graph.outputs.map(io).join(", ")
      } | ` +
      `${out[i]!.weightBytes ? `${WEIGHTS} (${out[i]!.weightBytes} bytes)` : "inline"} |`
    )
  );
  const { info } = g;
  return [
    "# ONNX export (optimum layout)",
    "",
    `Written by DreamDistribution core (\`deno task export-onnx\`) from ${src}: the graphs core builds`,
    "from config.json + safetensors, with the weights copied byte for byte (fp16 stays fp16, cast in the",
    "graph) into one external-data file per folder.",
    "",
    "| graph | inputs | outputs | weights |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `- Batch is symbolic; the other axes are static: L=${info.maxLength}, d=${info.hiddenSize}, ` +
    `latents ${info.latentChannels}x${info.latentSize}x${info.latentSize}, ` +
    `images ${info.latentSize * info.vaeScale}x${info.latentSize * info.vaeScale}.`,
    `- VAE scaling factor ${info.scalingFactor} is not applied by the graphs (divide latents by it before decoding).`,
    g.vaeEncoder
      ? "- vae_encoder returns the posterior mean (deterministic), not a sample."
      : "- Pixel-space model: no VAE; the UNet denoises pixels in [-1, 1] directly.",
    `- Opset ${
      g.unet.opsetImports.map((i) => `${i.domain || "ai.onnx"} ${i.version}`).join(", ")
    }.`,
    `- Also here: ${extras.join(", ") || "nothing else"}.`,
    "",
    "```json",
    JSON.stringify({ format: "onnx-optimum", info, source: o.source ?? null }, null, 2),
    "```",
    "",
  ].join("\n");
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/**
 * Exports the checkpoint in `checkpointDir` as an ONNX folder at `outDir`.
 * @returns what each component folder holds.
 * @throws Error when `outDir` exists and is not empty (unless `overwrite`), or for any
 * checkpoint error of loadDiffusersCheckpoint; nothing is left at `outDir` then.
 * @example
 * ```ts ignore
 * await writeOnnxFolder("tests/fixtures/diffusers-tiny-sd2", "/tmp/tiny-onnx");
 * const sd = await loadOnnxFolder("/tmp/tiny-onnx");
 * ```
 */
export async function writeOnnxFolder(
  checkpointDir: string,
  outDir: string,
  o: OnnxFolderWriteOptions = {},
): Promise<ExportedComponent[]> {
  const out = resolve(outDir);
  if (!o.overwrite && !(await isEmptyOrMissing(out))) {
    throw new Error(`output folder ${outDir} exists and is not empty (overwrite to replace it)`);
  }
  const opts: CheckpointOptions = {
    ...(o.variant ? { variant: o.variant } : {}),
    ...(o.latentSize ? { latentSize: o.latentSize } : {}),
  };
  const graphs = await loadDiffusersCheckpoint(checkpointDir, opts);
  const specs = components(graphs);
  let total = 0;
  for (const s of specs) {
    const keys = new Set<string>();
    for (const [, m] of s.models) {
      for (const t of m.graph.initializers.filter(moves)) {
        const key = keyOf(t, m.baseDir);
        if (key === null) total++;
        else keys.add(key);
      }
    }
    total += keys.size;
  }
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);
  await Deno.mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${crypto.randomUUID().slice(0, 8)}`);
  try {
    const written: ExportedComponent[] = [];
    for (const s of specs) {
      written.push(await writeComponent(join(tmp, s.folder), s, tick));
      await Deno.copyFile(join(checkpointDir, s.config), join(tmp, s.folder, "config.json"));
    }
    const extras: string[] = [];
    for (const d of ["tokenizer", "scheduler"]) {
      if (await copyTree(join(checkpointDir, d), join(tmp, d))) extras.push(`${d}/`);
    }
    await Deno.writeTextFile(join(tmp, "README.md"), readme(graphs, specs, written, o, extras));
    await Deno.remove(out, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(tmp, out);
    return written;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
