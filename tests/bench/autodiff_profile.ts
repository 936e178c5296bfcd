/**
 * Where the time of a gradient graph goes: ONNX Runtime's profiler over a few runs of the
 * sd-tiny-torch UNet loss graph (forward, input gradients or all weight gradients), node
 * kernel times summed by operator type. A diagnostic, not part of `deno task bench`:
 *
 *   deno run -A tests/bench/autodiff_profile.ts grad-inputs [runs] [top]
 *
 * PROFILE_SPLIT=1 sums products (Conv, MatMul, Gemm) apart from the other kernels. PROFILE_BY_RULE=1 also ranks operator@rule (the forward operator a backward node
 * differentiates); PROFILE_NODES=N lists the N slowest nodes with their shapes.
 */
import { differentiate } from "../../core/autodiff/driver.ts";
import { unetLossModel } from "../helpers/unet_loss.ts";
import { loadModel } from "../../core/onnx/model.ts";
import { type HostTensor, Session } from "../../core/onnx/runtime.ts";
import { DType, type Model } from "../../core/onnx/types.ts";

const UNET = new URL("../fixtures/sd-tiny-torch/unet/model.onnx", import.meta.url).pathname;
const B = 2;
type Mode = "forward" | "grad-inputs" | "grad-weights";

/** The bench's graph for a mode. */
export async function benchModel(mode: Mode): Promise<Model> {
  const unet = await loadModel(UNET);
  const model = unetLossModel(unet, {
    sample: [B, 4, 16, 16],
    timestep: [B],
    context: [B, 16, 32],
  });
  if (mode === "forward") return model;
  const wrt = mode === "grad-inputs"
    ? ["sample", "encoder_hidden_states"]
    : model.graph.initializers.filter((t) =>
      t.name.startsWith("unet/") && t.dtype === DType.FLOAT &&
      t.dims.length > 0 && t.dims.reduce((a, b) => a * b, 1) > 1
    ).map((t) => t.name);
  return differentiate(model, { loss: "loss", wrt }).model;
}

/** The bench's deterministic feeds. */
export function benchFeeds(): Record<string, HostTensor> {
  const rand = (n: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  return {
    sample: { dtype: "float32", dims: [B, 4, 16, 16], data: rand(B * 1024) },
    timestep: { dtype: "float32", dims: [B], data: Float32Array.from([10, 500]) },
    encoder_hidden_states: { dtype: "float32", dims: [B, 16, 32], data: rand(B * 512) },
    target: { dtype: "float32", dims: [B, 4, 16, 16], data: rand(B * 1024).reverse() },
  };
}

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: unknown; output_type_shape?: unknown };
}

/** Sums a profile's node kernel times (µs) by operator type. */
export function byOperator(events: ProfileEvent[]): Map<string, { us: number; count: number }> {
  const out = new Map<string, { us: number; count: number }>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    const r = out.get(op) ?? { us: 0, count: 0 };
    r.us += e.dur;
    r.count++;
    out.set(op, r);
  }
  return out;
}

/** Prints the `top` operator types of the profile in `dir` (then removes it). */
export function printProfile(dir: string, runs: number, top: number): void {
  const file = [...Deno.readDirSync(dir)].find((f) => f.name.endsWith(".json"))!;
  const events = JSON.parse(Deno.readTextFileSync(`${dir}/${file.name}`)) as ProfileEvent[];
  Deno.removeSync(dir, { recursive: true });
  const ops = [...byOperator(events)].sort((a, b) => b[1].us - a[1].us);
  const total = ops.reduce((a, [, r]) => a + r.us, 0);
  if (Deno.env.get("PROFILE_BY_RULE")) {
    const rules = new Map<string, { us: number; count: number }>();
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
      const at = e.name.replace(/_kernel_time$/, "").split("@")[1] ?? "forward";
      const key = `${e.args?.op_name ?? "?"}@${at}`;
      const r = rules.get(key) ?? { us: 0, count: 0 };
      r.us += e.dur;
      r.count++;
      rules.set(key, r);
    }
    for (const [k, r] of [...rules].sort((a, b) => b[1].us - a[1].us).slice(0, top)) {
      console.log(
        `${k.padEnd(40)} ${(r.us / runs / 1000).toFixed(3).padStart(8)} ms ${
          (100 * r.us / total).toFixed(1).padStart(5)
        }% ${String(r.count / runs).padStart(5)}`,
      );
    }
  }
  const nodes = Number(Deno.env.get("PROFILE_NODES") ?? 0);
  if (nodes > 0) {
    // The slowest single nodes (time per run), with their input and output shapes.
    const per = new Map<string, { us: number; op: string; shapes: string }>();
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
      const r = per.get(e.name) ??
        {
          us: 0,
          op: e.args?.op_name ?? "?",
          shapes: `${JSON.stringify(e.args?.input_type_shape)} -> ${
            JSON.stringify(e.args?.output_type_shape)
          }`,
        };
      r.us += e.dur;
      per.set(e.name, r);
    }
    for (const [k, r] of [...per].sort((a, b) => b[1].us - a[1].us).slice(0, nodes)) {
      console.log(
        `${(r.us / runs / 1000).toFixed(3).padStart(8)} ms ${r.op} ${k.slice(0, 70)} ${
          r.shapes.slice(0, 160)
        }`,
      );
    }
  }
  if (Deno.env.get("PROFILE_SPLIT")) {
    // Products (Conv, MatMul, Gemm: work whose size the forward's shapes fix, dX the same
    // as the forward's) against everything else (elementwise, reductions, layout). By
    // operator, not by rule: ONNX Runtime renames the nodes it fuses or converts to NCHWc.
    const products = ops.filter(([op]) => /^(Conv|ConvTranspose|MatMul|FusedMatMul|Gemm)$/.test(op))
      .reduce((a, [, r]) => a + r.us, 0);
    console.log(
      `products ${(products / runs / 1000).toFixed(2)} ms, other ${
        ((total - products) / runs / 1000).toFixed(2)
      } ms`,
    );
  }
  console.log(`kernel time per run ${(total / runs / 1000).toFixed(2)} ms`);
  for (const [op, r] of ops.slice(0, top)) {
    console.log(
      `${op.padEnd(24)} ${(r.us / runs / 1000).toFixed(3).padStart(8)} ms ${
        (100 * r.us / total).toFixed(1).padStart(5)
      }%  ${String(r.count / runs).padStart(5)} nodes/run`,
    );
  }
}

if (import.meta.main) {
  // `all`: forward, grad-inputs and grad-weights, a session each, runs taking turns.
  const modes = (Deno.args[0] === "all"
    ? ["forward", "grad-inputs", "grad-weights"]
    : [Deno.args[0] ?? "grad-inputs"]) as Mode[];
  const runs = Number(Deno.args[1] ?? 20), top = Number(Deno.args[2] ?? 25);
  const threads = Number(Deno.env.get("PROFILE_THREADS") ?? 0);
  const arms = [];
  for (const mode of modes) {
    const model = await benchModel(mode);
    const dir = await Deno.makeTempDir();
    const s = await Session.create(model, {
      profilePrefix: `${dir}/profile`,
      intraOpThreads: threads,
    });
    arms.push({ mode, model, dir, s });
  }
  const x = benchFeeds();
  for (let i = 0; i < runs; i++) {
    for (const a of arms) {
      await a.s.run(x);
    }
  }
  for (const a of arms) {
    a.s.endProfiling();
    await a.s.release();
    console.log(`${a.mode}: ${a.model.graph.nodes.length} nodes`);
    printProfile(a.dir, runs, top);
  }
}
