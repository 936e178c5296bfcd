/**
 * Loading and saving ONNX models on disk. External data stays where it is: a saved model
 * refers to the same files (by a relative path from its own directory) and the same
 * offsets, so weights are never copied.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { decodeModel, encodeModel } from "./proto.ts";
import type { Model, Tensor } from "./types.ts";

/**
 * Reads an ONNX model file. External data is not read, only referenced.
 * @throws Error naming the file when it is missing or is not an ONNX model.
 * @example
 * ```ts ignore
 * const model = await loadModel("unet/model.onnx");
 * console.log(model.graph.nodes.length);
 * ```
 */
export async function loadModel(path: string): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`model file not found: ${path}`);
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let model: Model;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  model.baseDir = resolve(dirname(path));
  return model;
}

/** External-data locations of `model`, rewritten to resolve from `dir`. */
function rebaseExternal(model: Model, dir: string): Model {
  const base = model.baseDir;
  const rebase = (t: Tensor): Tensor => {
    if (!t.external || !base) return t;
    const abs = isAbsolute(t.external.location)
      ? t.external.location
      : join(base, t.external.location);
    return { ...t, external: { ...t.external, location: relative(dir, abs) } };
  };
  return {
    ...model,
    graph: { ...model.graph, initializers: model.graph.initializers.map(rebase) },
    baseDir: dir,
  };
}

/**
 * Writes a model; external tensors keep pointing at their original files, rewritten
 * relative to the new file's directory. The write is atomic (temp file then rename).
 */
export async function saveModel(model: Model, path: string): Promise<void> {
  const dir = resolve(dirname(path));
  const bytes = encodeModel(rebaseExternal(model, dir));
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
}

/** The model's bytes with external references resolved against `dir` (for in-memory sessions). */
export function serializeForDir(model: Model, dir: string): Uint8Array {
  return encodeModel(rebaseExternal(model, resolve(dir)));
}

/** Reads a tensor's bytes, from the model or from its external file. */
export async function tensorBytes(t: Tensor, baseDir?: string): Promise<Uint8Array> {
  if (t.data) return t.data;
  if (!t.external) return new Uint8Array(0);
  const loc = isAbsolute(t.external.location) || !baseDir
    ? t.external.location
    : join(baseDir, t.external.location);
  const file = await Deno.open(loc, { read: true });
  try {
    await file.seek(t.external.offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(t.external.length);
    let read = 0;
    while (read < buf.length) {
      const n = await file.read(buf.subarray(read));
      if (n === null) {
        throw new Error(`external data ${loc} is shorter than tensor '${t.name}' needs`);
      }
      read += n;
    }
    return buf;
  } finally {
    file.close();
  }
}
