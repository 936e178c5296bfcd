/**
 * The train-step graph of a text-to-image model trained from scratch: caption ids →
 * text encoder → UNet on noisy samples → MSE against the target, differentiated with
 * respect to every weight. Each sample's squared error is scaled by a fed weight (for
 * Min-SNR weighting, Hang et al. 2023; all ones gives the plain DDPM loss). The weights become graph inputs, so each step feeds the
 * current values (ONNX Runtime sessions hold initializers as constants).
 *
 * @module
 */
import { differentiate } from "../autodiff/mod.ts";
import type { SdGraphs } from "../models/mod.ts";
import { DType, inlineModel, type Model, startGraph } from "../onnx/mod.ts";

/** Prefixes of the inlined components' weight names in the train graph. */
export const TEXT_PREFIX = "te/";
export const UNET_PREFIX = "unet/";

/** The train-step model; its weight inputs are `te/<name>` and `unet/<name>`. */
export function buildBaseTrainGraph(graphs: SdGraphs, batch: number): Model {
  const { maxLength: L, latentChannels: C, latentSize: h } = graphs.info;
  const f = (name: string, shape: number[]) => ({ name, dtype: DType.FLOAT, shape });
  const { g, finish } = startGraph(
    [
      { name: "input_ids", dtype: DType.INT32, shape: [batch, L] },
      f("x_t", [batch, C, h, h]),
      f("timestep", [batch]),
      f("target", [batch, C, h, h]),
      f("loss_weight", [batch, 1, 1, 1]),
    ],
    17,
    graphs.unet.baseDir,
  );
  const baseDir = graphs.unet.baseDir;
  const te = inlineModel(g, graphs.textEncoder, { input_ids: "input_ids" }, TEXT_PREFIX, baseDir);
  const ctx = te.last_hidden_state!;
  const out = inlineModel(
    g,
    graphs.unet,
    {
      sample: "x_t",
      timestep: "timestep",
      encoder_hidden_states: ctx,
    },
    UNET_PREFIX,
    baseDir,
  ).out_sample!;
  const err = g.sub(out, "target");
  g.name(g.reduceMean(g.mul(g.mul(err, err), "loss_weight"), [0, 1, 2, 3], false), "loss");
  const model = finish(["loss"]);
  // Weights (external tensors) become inputs fed every step.
  const weights = model.graph.initializers.filter((t) => t.external);
  const names = new Set(weights.map((t) => t.name));
  model.graph.initializers = model.graph.initializers.filter((t) => !names.has(t.name));
  model.graph.inputs.push(...weights.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.dims })));
  return differentiate(model, { loss: "loss", wrt: weights.map((t) => t.name) }).model;
}
