/**
 * `deno task bench`: the cost of a gradient graph against the forward graph it came from,
 * on the sd-tiny-torch fixture UNet at batch 2, ONNX Runtime CPU.
 *
 * Each configuration runs in its own process so that peak memory (VmHWM, minus the RSS
 * measured after loading the runtime and before creating the session) is its own.
 * Time: median of 40 runs after 3 warm-up runs. Rows run alternately, three times each; best kept.
 * The "(before)" rows differentiate with core/autodiff as it was before issue 16 (lean
 * backward graphs; see _baseline_autodiff.ts), so that both are measured in one run.
 */
import { differentiate } from "../../core/autodiff/driver.ts";
import { baselineDifferentiate } from "./_baseline_autodiff.ts";
import { unetLossModel } from "../helpers/unet_loss.ts";
import { loadModel } from "../../core/onnx/model.ts";
import { type HostTensor, Session } from "../../core/onnx/runtime.ts";
import { DType, type Model } from "../../core/onnx/types.ts";

const UNET = new URL("../fixtures/sd-tiny-torch/unet/model.onnx", import.meta.url).pathname;
const B = 2;
type Mode =
  | "forward"
  | "grad-inputs"
  | "grad-weights"
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
  if (mode === "forward") return model;
  const wrt = mode.startsWith("grad-inputs")
    ? ["sample", "encoder_hidden_states"]
    : model.graph.initializers.filter((t) =>
      t.name.startsWith("unet/") && t.dtype === DType.FLOAT &&
      t.dims.length > 0 && t.dims.reduce((a, b) => a * b, 1) > 1
    ).map((t) => t.name);
  const diff = mode.endsWith("(before)") ? await baselineDifferentiate() : differentiate;
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

async function worker(mode: Mode): Promise<void> {
  const model = await buildModel(mode);
  const base = rssKiB("VmRSS");
  const s = await Session.create(model);
  const x = feeds();
  for (let i = 0; i < 3; i++) await s.run(x);
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    await s.run(x);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const peak = rssKiB("VmHWM");
  console.log(
    JSON.stringify({
      mode,
      ms: times[20],
      peakMiB: (peak - base) / 1024,
      nodes: model.graph.nodes.length,
    }),
  );
}

async function runWorker(mode: Mode): Promise<{ ms: number; peakMiB: number; nodes: number }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--worker", mode],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await cmd.output();
  if (!out.success) throw new Error(`bench worker ${mode} failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

if (Deno.args[0] === "--worker") {
  await worker(Deno.args[1] as Mode);
} else {
  const modes: Mode[] = [
    "forward",
    "grad-inputs",
    "grad-weights",
    "grad-inputs (before)",
    "grad-weights (before)",
  ];
  const results = new Map<Mode, { ms: number[]; peak: number[]; nodes: number }>();
  for (let round = 0; round < 3; round++) {
    for (const m of modes) {
      const r = await runWorker(m);
      const e = results.get(m) ?? { ms: [], peak: [], nodes: r.nodes };
      e.ms.push(r.ms);
      e.peak.push(r.peakMiB);
      results.set(m, e);
    }
  }
  const best = (xs: number[]) => Math.min(...xs);
  const fwd = results.get("forward")!;
  console.log(
    `sd-tiny-torch UNet, batch ${B}, ONNX Runtime CPU (${navigator.hardwareConcurrency} cores); ` +
      `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  );
  console.log("graph                      nodes   time ms   peak MiB   time ratio   memory ratio");
  for (const m of modes) {
    const r = results.get(m)!;
    console.log(
      `${m.padEnd(26)} ${String(r.nodes).padStart(5)} ${best(r.ms).toFixed(2).padStart(9)} ` +
        `${best(r.peak).toFixed(1).padStart(10)} ${
          (best(r.ms) / best(fwd.ms)).toFixed(2).padStart(12)
        } ` +
        `${(best(r.peak) / best(fwd.peak)).toFixed(2).padStart(14)}`,
    );
  }
  console.log(`load average after: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}
