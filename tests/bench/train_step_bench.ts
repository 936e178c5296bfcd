/**
 * One DreamDistribution training step at the paper's defaults (K=32, M=4, S=4, batch 4):
 * ONNX Runtime's forward + backward + AdamW, on the embedded model (dd-world-tiny) and on
 * the tiny SD2 fixture. "before" is the train-step graph emitted as before issue 16
 * (core/autodiff at the baseline commit, see _baseline_autodiff.ts), "after" is
 * what `trainDistribution` runs today (`buildTrainGraph`, default session options).
 *
 * Each (model, arm) runs in its own process, so peak RSS (VmHWM: the whole process, graph
 * build included) is its own; arms alternate, three rounds, best kept. Time: median of 20
 * steps after 3 warm-up steps.
 *
 *   deno run -A tests/bench/train_step_bench.ts
 */
import { baselineDifferentiate } from "./_baseline_autodiff.ts";
import { buildObjective } from "../../core/distribution/objective.ts";
import { readTokenTable, templateIds } from "../../core/distribution/template.ts";
import {
  buildTrainGraph,
  TRAIN_INPUTS,
  type TrainGraphSpec,
} from "../../core/distribution/train_graph.ts";
import { validateTrainOptions } from "../../core/distribution/train_options.ts";
import { loadDiffusersCheckpoint } from "../../core/models/checkpoint.ts";
import type { SdGraphs } from "../../core/models/types.ts";
import { startGraph } from "../../core/onnx/compose.ts";
import { type HostTensor, Session, type SessionOptions } from "../../core/onnx/runtime.ts";
import { DType, type Model } from "../../core/onnx/types.ts";
import { AdamW } from "../../core/optim/adamw.ts";
import { Rng } from "../../core/random.ts";
import { ClipTokenizer } from "../../core/tokenizer/clip.ts";
import { printProfile } from "./autodiff_profile.ts";

const MODELS = {
  "dd-world-tiny": new URL("../../core/models/embedded/dd-world-tiny", import.meta.url).pathname,
  "tiny-sd2": new URL("../fixtures/diffusers-tiny-sd2", import.meta.url).pathname,
};
type ModelName = keyof typeof MODELS;
type Arm = "before" | "after";

/** buildTrainGraph's forward half, differentiated by the autodiff before issue 16. */
async function plainTrainGraph(graphs: SdGraphs, spec: TrainGraphSpec): Promise<Model> {
  const differentiate = await baselineDifferentiate();
  const { maxLength: L, hiddenSize: d, latentChannels: C, latentSize: h } = graphs.info;
  const f = (name: string, shape: number[]) => ({ name, dtype: DType.FLOAT, shape });
  const I = TRAIN_INPUTS;
  const { g, finish } = startGraph(
    [
      f(I.ctx, [spec.K, spec.M, d]),
      f(I.before, [spec.beforeRows, d]),
      f(I.after, [spec.afterRows, d]),
      f(I.xT, [spec.batch, C, h, h]),
      f(I.timestep, [spec.batch]),
      f(I.target, [spec.batch, C, h, h]),
      f(I.omega, [spec.S, L, d]),
    ],
    17,
    graphs.unet.baseDir,
  );
  const o = buildObjective(g, graphs.textEncoderEmbeds, graphs.unet, {
    ctx: I.ctx,
    before: I.before,
    after: I.after,
    xT: I.xT,
    timestep: I.timestep,
    target: I.target,
    omega: I.omega,
  }, {
    K: spec.K,
    M: spec.M,
    S: spec.S,
    lambda: spec.lambda,
    sigma: spec.sigma,
    ortho: spec.ortho,
    eosIndex: spec.beforeRows + spec.M + spec.suffixRows,
    omegaPerImage: false,
    bestPromptWeight: 0,
    ...(graphs.unet.baseDir ? { baseDir: graphs.unet.baseDir } : {}),
  });
  g.name(o.loss, "loss");
  g.name(o.diffusion, "diffusion");
  const extra = ["diffusion"];
  if (o.ortho) extra.push(g.name(o.ortho, "ortho"));
  return differentiate(finish(["loss"]), {
    loss: "loss",
    wrt: [I.ctx],
    extraOutputs: extra,
  }).model;
}

function rssMiB(field: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function worker(name: ModelName, arm: Arm, profile: boolean): Promise<void> {
  const dir = MODELS[name];
  const graphs = await loadDiffusersCheckpoint(dir);
  const tok = await ClipTokenizer.fromDir(`${dir}/tokenizer`);
  const o = validateTrainOptions({}, 4);
  const { maxLength: L, hiddenSize: d, latentChannels: C, latentSize: h } = graphs.info;
  const ids = templateIds(tok, o.template, o.M, L, "options");
  const spec: TrainGraphSpec = {
    K: o.K,
    M: o.M,
    S: o.S,
    batch: o.batchSize,
    beforeRows: ids.before.length,
    afterRows: ids.after.length,
    suffixRows: ids.after.indexOf(tok.eosId),
    omegaPerImage: false,
    bestPromptWeight: 0,
    lambda: o.lambda,
    sigma: o.sigma,
    ortho: o.ortho,
    minSnr: false,
  };
  const t0 = performance.now();
  const model = arm === "before"
    ? await plainTrainGraph(graphs, spec)
    : buildTrainGraph(graphs, spec);
  const buildMs = performance.now() - t0;
  // Before issue 16 the session took ONNX Runtime's thread default (one per core).
  const opts: SessionOptions = arm === "before" ? { intraOpThreads: 0 } : {};
  const profileDir = profile ? await Deno.makeTempDir() : "";
  if (profile) opts.profilePrefix = `${profileDir}/profile`;
  const threads = Deno.env.get("BENCH_THREADS");
  if (threads) opts.intraOpThreads = Number(threads);
  if (Deno.env.get("BENCH_SPIN")) opts.spinning = Deno.env.get("BENCH_SPIN") === "1";
  if (Deno.env.get("BENCH_PATTERN")) opts.memoryPattern = Deno.env.get("BENCH_PATTERN") === "1";
  if (Deno.env.get("BENCH_ARENA")) opts.cpuArena = Deno.env.get("BENCH_ARENA") === "1";
  const level = Deno.env.get("BENCH_OPT_LEVEL");
  if (level) opts.optimization = level as NonNullable<SessionOptions["optimization"]>;
  const session = await Session.create(model, opts);
  const table = await readTokenTable(graphs);
  const rows = (idx: number[]) => {
    const out = new Float32Array(idx.length * d);
    idx.forEach((t, i) => out.set(table.subarray(t * d, (t + 1) * d), i * d));
    return out;
  };
  const rng = new Rng(0);
  const ctx = rng.normals(o.K * o.M * d).map((v) => v * o.initStd);
  const f32 = (dims: number[], data: Float32Array): HostTensor => ({
    dtype: "float32",
    dims,
    data,
  });
  const lat = o.batchSize * C * h * h;
  const feeds = (step: number): Record<string, HostTensor> => {
    const r = rng.fork(step);
    return {
      [TRAIN_INPUTS.ctx]: f32([o.K, o.M, d], ctx),
      [TRAIN_INPUTS.before]: f32([ids.before.length, d], rows(ids.before)),
      [TRAIN_INPUTS.after]: f32([ids.after.length, d], rows(ids.after)),
      [TRAIN_INPUTS.xT]: f32([o.batchSize, C, h, h], r.normals(lat)),
      [TRAIN_INPUTS.timestep]: f32(
        [o.batchSize],
        Float32Array.from({ length: o.batchSize }, () => Math.floor(r.uniform() * 1000)),
      ),
      [TRAIN_INPUTS.target]: f32([o.batchSize, C, h, h], r.normals(lat)),
      [TRAIN_INPUTS.omega]: f32([o.S, L, d], r.normals(o.S * L * d)),
    };
  };
  const opt = new AdamW(ctx.length, { lr: o.lr, weightDecay: o.weightDecay });
  const times: number[] = [];
  for (let step = 0; step < 23; step++) {
    const x = feeds(step);
    const t = performance.now();
    const out = await session.run(x, ["loss", "grad_ctx"]);
    opt.step(ctx, out.grad_ctx!.data as Float32Array);
    if (step >= 3) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  if (profile) {
    session.endProfiling();
    printProfile(profileDir, 23, 30);
  }
  console.log(JSON.stringify({
    ms: times[Math.floor(times.length / 2)]!,
    peakMiB: rssMiB("VmHWM"),
    nodes: model.graph.nodes.length,
    buildMs,
  }));
  await session.release();
}

interface Result {
  ms: number;
  peakMiB: number;
  nodes: number;
  buildMs: number;
}

async function runWorker(name: ModelName, arm: Arm): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--worker", name, arm],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`bench worker ${name} ${arm} failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

if (Deno.args[0] === "--worker") {
  await worker(Deno.args[1] as ModelName, Deno.args[2] as Arm, Deno.args[3] === "--profile");
} else {
  const rounds = Number(Deno.args[0] ?? 3);
  console.log(
    `DreamDistribution step, paper defaults (K=32 M=4 S=4 batch 4), ORT CPU ` +
      `(${navigator.hardwareConcurrency} cores); load average ${Deno.loadavg().join(" ")}`,
  );
  console.log("model           arm      nodes   ms/step   steps/s   peak RSS MiB (MB)   speed-up");
  for (const name of Object.keys(MODELS) as ModelName[]) {
    const res: Record<Arm, Result[]> = { before: [], after: [] };
    for (let r = 0; r < rounds; r++) {
      for (const arm of ["before", "after"] as Arm[]) res[arm].push(await runWorker(name, arm));
    }
    const best = (arm: Arm) => ({
      ms: Math.min(...res[arm].map((r) => r.ms)),
      peak: Math.min(...res[arm].map((r) => r.peakMiB)),
      nodes: res[arm][0]!.nodes,
    });
    const b = best("before");
    for (const arm of ["before", "after"] as Arm[]) {
      const x = best(arm);
      console.log(
        `${name.padEnd(15)} ${arm.padEnd(6)} ${String(x.nodes).padStart(7)} ${
          x.ms.toFixed(1).padStart(9)
        } ${(1000 / x.ms).toFixed(2).padStart(9)} ${x.peak.toFixed(0).padStart(8)} (${
          (x.peak * 1.048576).toFixed(0)
        })${(b.ms / x.ms).toFixed(2).padStart(16)}x`,
      );
    }
  }
  console.log(`load average after: ${Deno.loadavg().join(" ")}`);
}
