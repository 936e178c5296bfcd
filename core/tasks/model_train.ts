/**
 * `deno task model:train [--out DIR] [--steps N] [--batch B] [--lr LR] [--seed S] [--resume]`
 *
 * Trains the embedded default model from scratch on the procedural shape world (see
 * core/training/train_world_model.ts). Writes a diffusers-layout pixel-space checkpoint.
 * @module
 */
import { parseArgs } from "node:util";
import { trainWorldModel } from "../training/train_world_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const USAGE = `usage: deno task model:train [options]
  --out DIR        checkpoint folder (default core/models/embedded/dd-world-tiny)
  --steps N        training steps (default 4000)
  --batch B        images per step (default 32)
  --lr LR          AdamW learning rate (default 5e-4)
  --seed S         seed (default 0)
  --save-every N   write EMA weights every N steps (default 200)
  --resume         continue from the weights in --out`;

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: "string", default: `${ROOT}core/models/embedded/dd-world-tiny` },
        steps: { type: "string", default: "4000" },
        batch: { type: "string", default: "32" },
        lr: { type: "string", default: "5e-4" },
        seed: { type: "string", default: "0" },
        "save-every": { type: "string", default: "200" },
        resume: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const num = (k: string, v: string, int: boolean) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n))) {
        throw new Error(`--${k} must be a positive ${int ? "integer" : "number"}, got ${v}`);
      }
      return n;
    };
    const steps = num("steps", values.steps, true);
    const t0 = performance.now();
    const curve = await trainWorldModel({
      out: values.out,
      clipTokenizerDir: `${ROOT}tests/fixtures/clip-tokenizer`,
      steps,
      batch: num("batch", values.batch, true),
      lr: num("lr", values.lr, false),
      seed: Math.floor(Number(values.seed)),
      emaDecay: 0.999,
      captionDropout: 0.1,
      saveEvery: num("save-every", values["save-every"], true),
      resume: values.resume,
      onProgress: (step, loss, rate) => {
        if (step === 1 || step % 10 === 0 || step === steps) {
          console.error(`step ${step}/${steps} loss ${loss.toFixed(4)} ${rate.toFixed(2)} it/s`);
        }
      },
    });
    const tail = curve.slice(-50);
    console.log(
      `trained ${values.out}: ${steps} steps in ${
        ((performance.now() - t0) / 60000).toFixed(1)
      } min, ` +
        `mean loss of the last ${tail.length} steps ${
          (tail.reduce((a, b) => a + b, 0) / tail.length).toFixed(4)
        }`,
    );
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
