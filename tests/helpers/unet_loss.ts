/** The UNet with loss = mean((out_sample - target)^2), the graph the fixtures' gradients use. */
import { inlineModel, startGraph } from "../../core/onnx/compose.ts";
import { DType, type Model } from "../../core/onnx/types.ts";

/** A model with inputs sample, timestep, encoder_hidden_states, target and output "loss". */
export function unetLossModel(
  unet: Model,
  shapes: { sample: number[]; timestep: number[]; context: number[] },
): Model {
  const f = (name: string, shape: number[]) => ({ name, dtype: DType.FLOAT, shape });
  const { g, finish } = startGraph([
    f("sample", shapes.sample),
    f("timestep", shapes.timestep),
    f("encoder_hidden_states", shapes.context),
    f("target", shapes.sample),
  ]);
  const out = inlineModel(g, unet, {
    sample: "sample",
    timestep: "timestep",
    encoder_hidden_states: "encoder_hidden_states",
  }, "unet/").out_sample!;
  const err = g.sub(out, "target");
  g.name(g.reduceMean(g.mul(err, err), [0, 1, 2, 3], false), "loss");
  return finish(["loss"]);
}
