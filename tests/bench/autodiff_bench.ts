/**
 * `deno task bench`: the cost of a gradient graph against the forward graph it came from,
 * on the sd-tiny-torch fixture UNet at batch 2, ONNX Runtime CPU.
 *
 * Memory: each configuration runs in its own process so that its peak (VmHWM, minus the RSS
 * measured after loading the runtime and before creating the session) is its own.
 * Time: one process holds a session per configuration and runs them in turn, one run each,
 * 3 warm-up rounds then `--runs` rounds (default 40), median: a load that comes and goes on a
 * shared machine falls on every row alike, so the ratios of one run compare.
 * The "(before)" rows differentiate with core/autodiff as it was before issue 16 (lean
 * backward graphs; see _baseline_autodiff.ts) and run with the session options of then
 * (memory pattern on), so that both are measured in one run; their ratios are to
 * "forward (before)". `--before COMMIT` differentiates the "(before)" rows with core/autodiff at
 * that commit instead, and runs them with today's session options (a graph-only comparison):
 *
 *   deno run -A tests/bench/autodiff_bench.ts [--runs N] [--threads N] [--before COMMIT]
 */
import { differentiate } from "../../core/autodiff/driver.ts";
import { baselineDifferentiate } from "./_baseline_autodiff.ts";
import { unetLossModel } from "../helpers/unet_loss.ts";
import { loadModel } from "../../core/onnx/model.ts";
import { type HostTensor, Session } from "../../core/onnx/runtime.ts";
import { DType, type Model } from "../../core/onnx/types.ts";

const UNET = new URL("../fixtures/sd-tiny-torch/unet/model.onnx", import.meta.url).pathname;
const B = 2;
/** `--threads N`: intra-op threads of every session (default: ONNX Runtime's choice). */
const THREADS = Number(Deno.args[Deno.args.indexOf("--threads") + 1] ?? 0) || 0;
/** `--runs N`: timed rounds. */
const RUNS = Number(Deno.args[Deno.args.indexOf("--runs") + 1] ?? 40) || 40;
/** `--before COMMIT`: the "(before)" rows' autodiff commit (default: the issue-16 baseline). */
const BEFORE = Deno.args.includes("--before")
  ? Deno.args[Deno.args.indexOf("--before") + 1]
  : undefined;
const MODES: Mode[] = [
  "forward",
  "grad-inputs",
  "grad-weights",
  "forward (before)",
  "grad-inputs (before)",
  "grad-weights (before)",
];
type Mode =
  | "forward"
  | "grad-inputs"
  | "grad-weights"
  | "forward (before)"
  | "grad-inputs (before)"
  | "grad-weights (before)";

function rssKiB(field: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) : NaN;
}

async function buildModel(mode: Mode): Promise<Model> {
  const unet = await loadModel(UNET);
  const model = unetLossModel(unet, {
    sample: [B, 4, 16, 16],
    timestep: [B],
    context: [B, 16, 32],
  });
  if (mode.startsWith("forward")) return model;
  const wrt = mode.startsWith("grad-inputs")
    ? ["sample", "encoder_hidden_states"]
    : model.graph.initializers.filter((t) =>
      t.name.startsWith("unet/") && t.dtype === DType.FLOAT &&
      t.dims.length > 0 && t.dims.reduce((a, b) => a * b, 1) > 1
    ).map((t) => t.name);
  const diff = mode.endsWith("(before)") ? await baselineDifferentiate(BEFORE) : differentiate;
  return diff(model, { loss: "loss", wrt }).model;
}

function feeds(): Record<string, HostTensor> {
  const rand = (n: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  return {
    sample: { dtype: "float32", dims: [B, 4, 16, 16], data: rand(B * 1024) },
    timestep: { dtype: "float32", dims: [B], data: Float32Array.from([10, 500]) },
    encoder_hidden_states: { dtype: "float32", dims: [B, 16, 32], data: rand(B * 512) },
    target: { dtype: "float32", dims: [B, 4, 16, 16], data: rand(B * 1024).reverse() },
  };
}

/** Session options of a row: before issue 16 the memory pattern planner was on. */
const sessionOptions = (mode: Mode) => ({
  memoryPattern: mode.endsWith("(before)") && BEFORE === undefined,
  intraOpThreads: THREADS,
});

async function memoryWorker(mode: Mode): Promise<void> {
  const model = await buildModel(mode);
  const base = rssKiB("VmRSS");
  const s = await Session.create(model, sessionOptions(mode));
  for (let i = 0; i < 3; i++) await s.run(feeds());
  const peak = rssKiB("VmHWM");
  console.log(JSON.stringify({ peakMiB: (peak - base) / 1024, nodes: model.graph.nodes.length }));
}

async function timeWorker(): Promise<void> {
  const sessions = [];
  for (const m of MODES) {
    sessions.push(await Session.create(await buildModel(m), sessionOptions(m)));
  }
  const x = feeds();
  const times: number[][] = MODES.map(() => []);
  for (let r = -3; r < RUNS; r++) {
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(x);
      if (r >= 0) times[i]!.push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(JSON.stringify(Object.fromEntries(MODES.map((m, i) => [m, median(times[i]!)]))));
}

async function runWorker(args: string[]): Promise<Record<string, number>> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      ...args,
      "--threads",
      String(THREADS),
      "--runs",
      String(RUNS),
      ...(BEFORE ? ["--before", BEFORE] : []),
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await cmd.output();
  if (!out.success) throw new Error(`bench worker ${args.join(" ")} failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

if (Deno.args[0] === "--memory") {
  await memoryWorker(Deno.args[1] as Mode);
} else if (Deno.args[0] === "--time") {
  await timeWorker();
} else {
  const load0 = load();
  const ms = await runWorker(["--time"]);
  const mem = new Map<Mode, Record<string, number>>();
  for (const m of MODES) mem.set(m, await runWorker(["--memory", m]));
  const fwdOf = (m: Mode): Mode => (m.endsWith("(before)") ? "forward (before)" : "forward");
  console.log(
    `sd-tiny-torch UNet, batch ${B}, ONNX Runtime CPU (${navigator.hardwareConcurrency} cores, ` +
      `${THREADS || "default"} intra-op threads); "(before)": ${
        BEFORE ? `autodiff at ${BEFORE}, today's session options` : "the issue-16 baseline"
      }; load average before ${load0}`,
  );
  console.log("graph                      nodes   time ms   peak MiB   time ratio   memory ratio");
  for (const m of MODES) {
    const r = mem.get(m)!, peak = r.peakMiB!, fwdPeak = mem.get(fwdOf(m))!.peakMiB!;
    console.log(
      `${m.padEnd(26)} ${String(r.nodes).padStart(5)} ${ms[m]!.toFixed(2).padStart(9)} ` +
        `${peak.toFixed(1).padStart(10)} ${(ms[m]! / ms[fwdOf(m)]!).toFixed(2).padStart(12)} ` +
        `${(peak / fwdPeak).toFixed(2).padStart(14)}`,
    );
  }
  console.log(`load average after: ${load()}`);
}
