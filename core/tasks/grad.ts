/**
 * `deno task grad IN.onnx --loss NAME --wrt A,B --out OUT.onnx [--shape name=2x4x16x16 ...]`
 *
 * Writes OUT.onnx: every input of IN, outputs NAME then grad_A, grad_B, ... in --wrt
 * order. External weights are referenced, not copied. Errors: one line, exit code 1.
 * @module
 */
import { parseArgs } from "node:util";
import { differentiate } from "../autodiff/driver.ts";
import { loadModel, saveModel } from "../onnx/model.ts";

const USAGE =
  "usage: deno task grad IN.onnx --loss NAME --wrt A,B,... --out OUT.onnx [--shape name=2x4x16x16 ...]";

/** Parses `name=2x4x16x16` into a shape entry. */
export function parseShape(spec: string): [string, number[]] {
  const eq = spec.lastIndexOf("=");
  const name = spec.slice(0, eq);
  const dims = spec.slice(eq + 1).split("x").map((d) => Number(d));
  if (eq <= 0 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`bad --shape '${spec}': expected name=2x4x16x16`);
  }
  return [name, dims];
}

/** Runs the CLI on `args`; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        loss: { type: "string" },
        wrt: { type: "string" },
        out: { type: "string" },
        shape: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error(`expected one input model. ${USAGE}`);
    if (!values.loss) throw new Error(`--loss is required. ${USAGE}`);
    if (!values.wrt) throw new Error(`--wrt is required. ${USAGE}`);
    if (!values.out) throw new Error(`--out is required. ${USAGE}`);
    const wrt = values.wrt.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    const shapes = Object.fromEntries((values.shape ?? []).map(parseShape));
    const model = await loadModel(positionals[0]!);
    const { model: out, gradNames } = differentiate(model, { loss: values.loss, wrt, shapes });
    await saveModel(out, values.out);
    const saved = await loadModel(values.out);
    const outside = saved.graph.initializers.find((t) => t.external?.location.startsWith(".."));
    if (outside) {
      // ONNX Runtime refuses external data outside the model's folder when loading by path.
      console.error(
        `note: ${values.out} reads weights from ${outside.external!.location}; ONNX Runtime ` +
          "loads such a file only through core/onnx/runtime.ts, or if written beside the weights",
      );
    }
    console.log(
      `wrote ${values.out}: outputs ${[values.loss, ...gradNames].join(", ")} ` +
        `(${out.graph.nodes.length} nodes)`,
    );
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
