/**
 * One DreamDistribution training step at the paper's defaults (K=32, M=4, S=4, batch 4):
 * ONNX Runtime's forward + backward + AdamW, on the embedded model (dd-world-tiny) and on
 * the tiny SD2 fixture. "before" is the train-step graph emitted as before issue 16
 * (core/autodiff at the baseline commit, see _baseline_autodiff.ts), "after" is
 * what `trainDistribution` runs today (`buildTrainGraph`, default session options).
 *
 * Time: one process per model holds a session per arm and runs them in turn, step by step
 * (one warm-up step each, then `rounds` steps, median), so that a load that comes and goes
 * on a shared machine falls on every arm alike. Peak RSS: each arm in its own process
 * (VmHWM of the whole process, graph build and two steps included).
 *
 *   deno run -A tests/bench/train_step_bench.ts [rounds]
 */
import { baselineDifferentiate } from "./_baseline_autodiff.ts";
import { differentiate as currentDifferentiate } from "../../core/autodiff/driver.ts";
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
import { shareTiledRows } from "../../core/onnx/share_tiled.ts";
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
/**
 * before: the baseline graph and session options (memory pattern on); graph-only: today's
 * autodiff without row sharing (core/onnx/share_tiled.ts), old session options;
 * rows-unshared: the same with today's session options (issue 16's second round); after:
 * what trainDistribution runs now; after-1t / before-1t: one intra-op thread (an option
 * callers pass, not the default); forward / forward-1t: the objective alone, no gradient (rows shared as in
 * after); after-par: one thread per node, two nodes at once (parallel execution mode);
 * after-nospin: idle intra-op threads do not spin.
 */
type Arm =
  | "before"
  | "graph-only"
  | "rows-unshared"
  | "after"
  | "after-1t"
  | "before-1t"
  | "after-par"
  | "after-nospin"
  | "forward"
  | "forward-1t";
const ARMS: Arm[] = ["before", "graph-only", "after", "after-1t"];
const SESSION: Record<Arm, SessionOptions> = {
  before: { memoryPattern: true },
  "graph-only": { memoryPattern: true },
  "rows-unshared": {},
  after: {},
  "after-1t": { intraOpThreads: 1 },
  "before-1t": { memoryPattern: true, intraOpThreads: 1 },
  "after-par": { intraOpThreads: 1, interOpThreads: 2 },
  "after-nospin": { spinning: false },
  forward: {},
  "forward-1t": { intraOpThreads: 1 },
};

/** The forward arms: the objective alone (loss only, no gradient): what a step cannot beat. */
const isForward = (arm: Arm) => arm === "forward" || arm === "forward-1t";

/** buildTrainGraph's forward half (paper options): outputs loss, diffusion (and ortho). */
function objectiveModel(graphs: SdGraphs, spec: TrainGraphSpec): { model: Model; extra: string[] } {
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
    lowRank: false,
    sampleSoftmin: 0,
    ...(graphs.unet.baseDir ? { baseDir: graphs.unet.baseDir } : {}),
  });
  g.name(o.loss, "loss");
  g.name(o.diffusion, "diffusion");
  const extra = ["diffusion"];
  if (o.ortho) extra.push(g.name(o.ortho, "ortho"));
  return { model: finish(["loss", ...extra]), extra };
}

/** An arm's graph: the objective, differentiated as the arm says (or not: forward arms). */
async function armGraph(graphs: SdGraphs, spec: TrainGraphSpec, arm: Arm): Promise<Model> {
  if (arm.startsWith("after")) return buildTrainGraph(graphs, spec);
  const { model, extra } = objectiveModel(graphs, spec);
  if (isForward(arm)) return shareTiledRows(model);
  const differentiate = arm === "before" || arm === "before-1t"
    ? await baselineDifferentiate()
    : currentDifferentiate;
  return differentiate(model, { loss: "loss", wrt: [TRAIN_INPUTS.ctx], extraOutputs: extra })
    .model;
}

function rssMiB(field: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A model's train-step graph for an arm, and a function making the feeds of step s. */
async function setup(name: ModelName, arm: Arm) {
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
    lowRank: false,
    sampleSoftmin: 0,
    lambda: o.lambda,
    sigma: o.sigma,
    ortho: o.ortho,
    minSnr: false,
  };
  const model = await armGraph(graphs, spec, arm);
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
  return { model, feeds, ctx, o };
}

/** One step: ORT forward + backward, then AdamW on ctx. */
async function step(
  s: Session,
  opt: AdamW,
  ctx: Float32Array,
  x: Record<string, HostTensor>,
): Promise<number> {
  const t = performance.now();
  if (!s.outputNames.includes("grad_ctx")) {
    await s.run(x, ["loss"]);
    return performance.now() - t;
  }
  const out = await s.run(x, ["loss", "grad_ctx"]);
  opt.step(ctx, out.grad_ctx!.data as Float32Array);
  return performance.now() - t;
}

/** Peak RSS of building one arm's graph and running two steps (own process). */
async function memoryWorker(name: ModelName, arm: Arm): Promise<void> {
  const { model, feeds, ctx, o } = await setup(name, arm);
  const s = await Session.create(model, SESSION[arm]);
  const opt = new AdamW(ctx.length, { lr: o.lr, weightDecay: o.weightDecay });
  for (let i = 0; i < 2; i++) await step(s, opt, ctx, feeds(i));
  console.log(JSON.stringify({ peakMiB: rssMiB("VmHWM"), nodes: model.graph.nodes.length }));
}

/** Median step time of every arm, the arms taking turns (own process). */
async function timeWorker(
  name: ModelName,
  rounds: number,
  only: Arm[],
  profile: boolean,
): Promise<void> {
  const arms = [];
  for (const arm of only) {
    const { model, feeds, ctx, o } = await setup(name, arm);
    const opts: SessionOptions = { ...SESSION[arm] };
    const dir = profile ? await Deno.makeTempDir() : "";
    if (profile) opts.profilePrefix = `${dir}/profile`;
    const s = await Session.create(model, opts);
    const opt = new AdamW(ctx.length, { lr: o.lr, weightDecay: o.weightDecay });
    arms.push({ arm, s, opt, ctx, feeds, dir, times: [] as number[] });
  }
  for (let r = -1; r < rounds; r++) {
    for (const a of arms) {
      const ms = await step(a.s, a.opt, a.ctx, a.feeds(r + 1));
      if (r >= 0) a.times.push(ms);
    }
  }
  const out: Record<string, number> = {};
  for (const a of arms) {
    a.times.sort((x, y) => x - y);
    out[a.arm] = a.times[Math.floor(a.times.length / 2)]!;
    if (profile) {
      a.s.endProfiling();
      console.log(`profile of ${a.arm}:`);
      printProfile(a.dir, rounds + 1, 25);
    }
    await a.s.release();
  }
  console.log(JSON.stringify(out));
}

async function runWorker(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`bench worker ${args.join(" ")} failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

if (Deno.args[0] === "--memory") {
  await memoryWorker(Deno.args[1] as ModelName, Deno.args[2] as Arm);
} else if (Deno.args[0] === "--time") {
  // --time MODEL ROUNDS [ARM,ARM...] [--profile]
  const only = Deno.args[3] && !Deno.args[3].startsWith("--")
    ? Deno.args[3].split(",") as Arm[]
    : ARMS;
  await timeWorker(
    Deno.args[1] as ModelName,
    Number(Deno.args[2]),
    only,
    Deno.args.includes("--profile"),
  );
} else {
  const rounds = Number(Deno.args[0] ?? 10);
  const models = (Deno.args[1]?.split(",") ?? Object.keys(MODELS)) as ModelName[];
  console.log(
    `DreamDistribution step, paper defaults (K=32 M=4 S=4 batch 4), ORT CPU ` +
      `(${navigator.hardwareConcurrency} cores); ${rounds} steps per arm; load average ${load()}`,
  );
  console.log(
    "model           arm          nodes   ms/step   steps/s   peak RSS MiB (MB)   speed-up",
  );
  for (const name of models) {
    const t = await runWorker(["--time", name, String(rounds)]);
    const mem: Record<string, Record<string, number>> = {};
    for (const arm of ARMS) mem[arm] = await runWorker(["--memory", name, arm]);
    for (const arm of ARMS) {
      const ms = t[arm]!, peak = mem[arm]!.peakMiB!;
      console.log(
        `${name.padEnd(15)} ${arm.padEnd(10)} ${String(mem[arm]!.nodes).padStart(7)} ${
          ms.toFixed(1).padStart(9)
        } ${(1000 / ms).toFixed(2).padStart(9)} ${peak.toFixed(0).padStart(8)} (${
          (peak * 1.048576).toFixed(0)
        })${(t.before! / ms).toFixed(2).padStart(16)}x`,
      );
    }
    console.log(`  load average now: ${load()}`);
  }
}
