/**
 * `deno task grad IN.onnx --loss NAME --wrt A,B --out OUT.onnx [--shape name=2x4x16x16 ...]`
 *
 * Writes OUT.onnx: every input of IN, outputs NAME then grad_A, grad_B, ... in --wrt
 * order. External weights are referenced, not copied. Errors: one line, exit code 1.
 * @module
 */
import { differentiate } from "../autodiff/mod.ts";
import { loadModel, saveModel } from "../onnx/mod.ts";
import { defineTask, list, runMain, str, type TaskMain, UsageError } from "./_cli.ts";

const USAGE =
  "usage: deno task grad IN.onnx --loss NAME --wrt A,B,... --out OUT.onnx [--shape name=2x4x16x16 ...]";

/** Parses `name=2x4x16x16` into a shape entry. */
export function parseShape(spec: string): [string, number[]] {
  const eq = spec.lastIndexOf("=");
  const name = spec.slice(0, eq);
  const dims = spec.slice(eq + 1).split("x").map((d) => Number(d));
  if (eq <= 0 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new UsageError(`bad --shape '${spec}': expected name=2x4x16x16`);
  }
  return [name, dims];
}

/** Runs the task on `args`; returns the exit code. */
export const main: TaskMain = defineTask({
  usage: USAGE,
  about: "Writes IN's graph with the gradients of the scalar output NAME with respect to the\n" +
    "named inputs or initializers appended as outputs grad_A, grad_B, ...",
  positionals: true,
  options: {
    loss: { type: "string", arg: "NAME", help: "the scalar output to differentiate, required" },
    wrt: { type: "string", arg: "A,B", help: "inputs or initializers, comma-separated, required" },
    out: { type: "string", arg: "OUT.onnx", help: "output model, required" },
    shape: {
      type: "string",
      arg: "name=2x4x16x16",
      multiple: true,
      help: "a concrete input shape for shape inference (repeatable)",
    },
  },
  run: async ({ values, positionals, io }) => {
    if (positionals.length !== 1) throw new UsageError(`expected one input model. ${USAGE}`);
    const loss = str(values, "loss"), wrtText = str(values, "wrt"), outPath = str(values, "out");
    if (!loss) throw new UsageError(`--loss is required. ${USAGE}`);
    if (!wrtText) throw new UsageError(`--wrt is required. ${USAGE}`);
    if (!outPath) throw new UsageError(`--out is required. ${USAGE}`);
    const wrt = wrtText.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    const shapes = Object.fromEntries(list(values, "shape").map(parseShape));
    const model = await loadModel(positionals[0]!);
    const { model: out, gradNames } = differentiate(model, { loss, wrt, shapes });
    await saveModel(out, outPath);
    const saved = await loadModel(outPath);
    const outside = saved.graph.initializers.find((t) => t.external?.location.startsWith(".."));
    if (outside) {
      // ONNX Runtime refuses external data outside the model's folder when loading by path.
      io.err(
        `note: ${outPath} reads weights from ${outside.external!.location}; ONNX Runtime ` +
          "loads such a file only through core/onnx/runtime.ts, or if written beside the weights",
      );
    }
    io.out(
      `wrote ${outPath}: outputs ${[loss, ...gradNames].join(", ")} ` +
        `(${out.graph.nodes.length} nodes)`,
    );
    return 0;
  },
});

if (import.meta.main) await runMain(main);
