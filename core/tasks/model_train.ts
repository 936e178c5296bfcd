/**
 * `deno task model:train [--out DIR] [--steps N] [--batch B] [--lr LR] [--seed S] [--resume]`
 *
 * Trains the embedded default model from scratch on the procedural shape world (see
 * core/training/train_world_model.ts). Writes a diffusers-layout pixel-space checkpoint.
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { trainWorldModel } from "../training/train_world_model.ts";
import { WORLD_SCHEDULES } from "../training/world_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const USAGE = `usage: deno task model:train [options]
  --out DIR        checkpoint folder (default core/models/embedded/dd-world-tiny)
  --steps N        training steps (default 4000)
  --batch B        images per step (default 16)
  --lr LR          AdamW learning rate (default 1e-3)
  --min-snr G      Min-SNR-gamma loss weighting; 0 is the plain DDPM loss (default 0: on
                   dd-world-tiny, gamma 5 raised the plain loss, see the README)
  --schedule S     noise schedule: v (v-prediction, zero terminal SNR; default) or epsilon
                   (the schedule dd-world-tiny's first 8900 steps used, to replay them)
  --lr-end LR      learning rate at this run's last step, reached by a cosine decay from
                   --lr (default: --lr, a constant rate)
  --warmup N       linear learning-rate warm-up steps for fresh optimiser state (default 200)
  --seed S         seed (default 0)
  --save-every N   write EMA weights and training state every N steps (default 200)
  --state DIR      training-state folder: raw weights + AdamW moments
                   (default .cache/model-train/<name of --out>)
  --resume         continue from --out (and its training state, when there is one)`;

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: "string", default: `${ROOT}core/models/embedded/dd-world-tiny` },
        steps: { type: "string", default: "4000" },
        batch: { type: "string", default: "16" },
        lr: { type: "string", default: "1e-3" },
        "lr-end": { type: "string" },
        schedule: { type: "string", default: "v" },
        warmup: { type: "string", default: "200" },
        "min-snr": { type: "string", default: "0" },
        state: { type: "string" },
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
    const num = (k: string, v: string, int: boolean, zero = false) => {
      const n = v.trim() === "" ? NaN : Number(v);
      if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (int && !Number.isInteger(n))) {
        const what = `${zero ? "non-negative" : "positive"} ${int ? "integer" : "number"}`;
        throw new Error(`--${k} must be a ${what}, got ${v}`);
      }
      return n;
    };
    const steps = num("steps", values.steps, true);
    const scheduleName = values.schedule;
    if (!Object.hasOwn(WORLD_SCHEDULES, scheduleName)) {
      throw new Error(`--schedule must be one of ${Object.keys(WORLD_SCHEDULES).join(", ")}`);
    }
    const schedule = WORLD_SCHEDULES[scheduleName as keyof typeof WORLD_SCHEDULES];
    const t0 = performance.now();
    let done = 0;
    const curve = await trainWorldModel({
      out: values.out,
      clipTokenizerDir: `${ROOT}tests/fixtures/clip-tokenizer`,
      steps,
      batch: num("batch", values.batch, true),
      lr: num("lr", values.lr, false),
      lrEnd: values["lr-end"] === undefined
        ? undefined
        : num("lr-end", values["lr-end"], false, true),
      seed: Math.floor(Number(values.seed)),
      emaDecay: 0.999,
      captionDropout: 0.1,
      saveEvery: num("save-every", values["save-every"], true),
      resume: values.resume,
      minSnrGamma: num("min-snr", values["min-snr"], false, true),
      warmupSteps: num("warmup", values.warmup, true, true),
      stateDir: values.state ?? `${ROOT}.cache/model-train/${basename(values.out)}`,
      schedule,
      onNotice: (message) => console.error(message),
      onProgress: (step, loss, rate) => {
        // `step` counts from the start of training (it goes on across --resume).
        if (++done === 1 || step % 10 === 0 || done === steps) {
          const eta = (steps - done) / rate;
          console.error(
            `step ${step} (${done}/${steps} this run) loss ${loss.toFixed(4)} ` +
              `${rate.toFixed(2)} it/s ETA ${Math.floor(eta / 60)}m${Math.round(eta % 60)}s`,
          );
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
