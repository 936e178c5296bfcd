/**
 * ONNX export folders (the optimum / diffusers-converter layout): text_encoder/model.onnx,
 * unet/model.onnx, vae_decoder/model.onnx, vae_encoder/model.onnx, loaded as they are.
 * The text encoder is cut at its token-embedding Gather so that it also accepts
 * `inputs_embeds` (the positional embedding, added after the Gather, stays added once).
 *
 * @module
 */
import { join } from "node:path";
import { DType, inferShapes, loadModel, type Model, type Node } from "../onnx/mod.ts";
import type { ModelInfo, SdGraphs } from "./types.ts";

/** Options for facts an ONNX folder may not record. */
export interface OnnxFolderOptions {
  /** Latent side at the native resolution; default: unet/config.json sample_size, else 64. */
  latentSize?: number;
  /** VAE scaling factor; default: vae_decoder/config.json scaling_factor, else 0.18215. */
  scalingFactor?: number;
}

async function readJsonIfExists(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Nodes needed to compute `outputs` (others dropped), in original order. */
function prune(nodes: Node[], outputs: string[]): Node[] {
  const needed = new Set(outputs);
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    n.inputs.forEach((x) => x && needed.add(x));
  }
  return nodes.filter((_, i) => keep[i]);
}

/**
 * Cuts a text encoder (input_ids → last_hidden_state) at its token-embedding Gather:
 * returns a model taking inputs_embeds [batch, L, d] instead. Remaining uses of the ids
 * (shape computations) read a zero tensor of the ids' shape.
 * @throws Error when no Gather from a [vocab, d] initializer by the ids is found.
 */
export function cutAtTokenEmbedding(textEncoder: Model): { embeds: Model; tokenTable: string } {
  const graph = textEncoder.graph;
  const ids = graph.inputs[0]!;
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  // The ids may pass through a Cast or a Reshape (diffusers' export) before the Gather.
  const passThrough = new Set(["Cast", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze"]);
  const idsAliases = new Set([ids.name]);
  for (const n of graph.nodes) {
    if (passThrough.has(n.opType) && idsAliases.has(n.inputs[0]!)) idsAliases.add(n.outputs[0]!);
  }
  const gather = graph.nodes.find((n) =>
    n.opType === "Gather" && inits.get(n.inputs[0]!)?.dims.length === 2 &&
    idsAliases.has(n.inputs[1]!)
  );
  if (!gather) throw new Error("text encoder: no token-embedding Gather found to cut at");
  const table = inits.get(gather.inputs[0]!)!;
  const d = table.dims[1]!;
  const seq = ids.shape?.[1] ?? "sequence";
  const E = "inputs_embeds";
  // Zero ids with the right shape for shape-only uses: Shape(E)[0:2] → ConstantOfShape.
  const stub: Node[] = [
    node("Shape", [E], ["cut/embeds_shape"], []),
    node("Slice", ["cut/embeds_shape", "cut/zero", "cut/two"], ["cut/ids_shape"], []),
    node("ConstantOfShape", ["cut/ids_shape"], ["cut/ids_stub"], [{
      name: "value",
      type: "tensor",
      t: {
        name: "",
        dtype: ids.dtype,
        dims: [1],
        data: new Uint8Array(ids.dtype === DType.INT64 ? 8 : 4),
      },
    }]),
  ];
  const rename = (x: string) => (x === gather.outputs[0] ? E : x === ids.name ? "cut/ids_stub" : x);
  const nodes = graph.nodes.filter((n) => n !== gather).map((n) => ({
    ...n,
    inputs: n.inputs.map(rename),
  }));
  const outName = graph.outputs[0]!.name;
  const int64 = (name: string, v: number) => ({
    name,
    dtype: DType.INT64,
    dims: [1],
    data: new Uint8Array(BigInt64Array.from([BigInt(v)]).buffer),
  });
  const kept = prune([...stub, ...nodes], [outName]);
  const used = new Set(kept.flatMap((n) => n.inputs));
  const embeds: Model = {
    ...textEncoder,
    graph: {
      ...graph,
      nodes: kept,
      initializers: [...graph.initializers, int64("cut/zero", 0), int64("cut/two", 2)]
        .filter((t) => used.has(t.name)),
      inputs: [{ name: E, dtype: DType.FLOAT, shape: [ids.shape?.[0] ?? "batch", seq, d] }],
      outputs: [graph.outputs[0]!],
      valueInfo: [],
    },
  };
  return { embeds, tokenTable: table.name };
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Node["attributes"],
): Node {
  return { name: `cut/${opType}_${outputs[0]}`, opType, domain: "", inputs, outputs, attributes };
}

/**
 * Loads an ONNX export folder into the common SdGraphs form.
 * @throws Error naming the missing file or the graph that does not fit the interface.
 */
export async function loadOnnxFolder(dir: string, opts: OnnxFolderOptions = {}): Promise<SdGraphs> {
  const [textEncoder, unet, vaeDecoder, vaeEncoder] = await Promise.all(
    ["text_encoder", "unet", "vae_decoder", "vae_encoder"].map((c) =>
      loadModel(join(dir, c, "model.onnx"))
    ),
  ) as [Model, Model, Model, Model];
  const { embeds, tokenTable } = cutAtTokenEmbedding(textEncoder);
  const table = textEncoder.graph.initializers.find((t) => t.name === tokenTable)!;
  const unetConfig = await readJsonIfExists(join(dir, "unet", "config.json"));
  const vaeConfig = await readJsonIfExists(join(dir, "vae_decoder", "config.json"));
  const convIn = unet.graph.nodes.find((n) => n.opType === "Conv")!;
  const convW = unet.graph.initializers.find((t) => t.name === convIn.inputs[1]);
  if (!convW) throw new Error(`${dir}/unet/model.onnx: first Conv has no initializer weight`);
  const latentChannels = convW.dims[1]!;
  const seqDim = textEncoder.graph.inputs[0]!.shape?.[1];
  const maxLength = typeof seqDim === "number" ? seqDim : 77;
  const latentSize = opts.latentSize ?? (unetConfig?.sample_size as number | undefined) ?? 64;
  const dec = inferShapes(vaeDecoder, {
    [vaeDecoder.graph.inputs[0]!.name]: [1, latentChannels, latentSize, latentSize],
  });
  const outSide = dec.type(vaeDecoder.graph.outputs[0]!.name).shape[2]!;
  const info: ModelInfo = {
    maxLength,
    hiddenSize: table.dims[1]!,
    latentChannels,
    latentSize,
    vaeScale: outSide / latentSize,
    scalingFactor: opts.scalingFactor ?? (vaeConfig?.scaling_factor as number | undefined) ??
      0.18215,
  };
  return {
    info,
    textEncoder,
    textEncoderEmbeds: embeds,
    tokenEmbedding: table,
    ...(textEncoder.baseDir ? { tokenEmbeddingBaseDir: textEncoder.baseDir } : {}),
    unet,
    vaeDecoder,
    vaeEncoder,
  };
}
