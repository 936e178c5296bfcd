// A/B: core/autodiff at commit A vs working tree, grad mode, interleaved timing.
import { differentiate } from "../../core/autodiff/driver.ts";
import { benchFeeds } from "./autodiff_profile.ts";
import { unetLossModel } from "../helpers/unet_loss.ts";
import { loadModel } from "../../core/onnx/model.ts";
import { Session } from "../../core/onnx/runtime.ts";
import { DType } from "../../core/onnx/types.ts";
const [commit, mode, runsS] = Deno.args;
const root = new URL("../../", import.meta.url).pathname;
const onnx = new URL("../../core/onnx/", import.meta.url).href;
const dir = await Deno.makeTempDir();
await Deno.mkdir(`${dir}/rules`);
const ls = new TextDecoder().decode(
  (await new Deno.Command("git", {
    args: ["ls-tree", "-r", "--name-only", commit!, "core/autodiff"],
    cwd: root,
    stdout: "piped",
  }).output()).stdout,
).trim().split("\n").filter((f) => f.endsWith(".ts"));
for (const f of ls) {
  const t = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["show", `${commit}:${f}`], cwd: root, stdout: "piped" })
      .output()).stdout,
  ).replaceAll(/"(\.\.\/)+onnx\//g, `"${onnx}`);
  await Deno.writeTextFile(`${dir}/${f.replace("core/autodiff/", "")}`, t);
}
const old = (await import(`file://${dir}/driver.ts`)).differentiate as typeof differentiate;
const unet = await loadModel(
  new URL("../fixtures/sd-tiny-torch/unet/model.onnx", import.meta.url).pathname,
);
const model = unetLossModel(unet, { sample: [2, 4, 16, 16], timestep: [2], context: [2, 16, 32] });
const wrt = mode === "grad-inputs"
  ? ["sample", "encoder_hidden_states"]
  : model.graph.initializers.filter((t) =>
    t.name.startsWith("unet/") && t.dtype === DType.FLOAT && t.dims.length > 0 &&
    t.dims.reduce((a, b) => a * b, 1) > 1
  ).map((t) => t.name);
const ms = [
  model,
  old(model, { loss: "loss", wrt }).model,
  differentiate(model, { loss: "loss", wrt }).model,
];
const ss = [];
for (const m of ms) ss.push(await Session.create(m, {}));
const x = benchFeeds();
const t: number[][] = [[], [], []];
for (let r = -3; r < Number(runsS ?? 30); r++) {
  for (const [i, s] of ss.entries()) {
    const t0 = performance.now();
    await s.run(x);
    if (r >= 0) t[i]!.push(performance.now() - t0);
  }
}
const med = (a: number[]) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const [f, a, b] = t.map(med);
console.log(
  `load ${Deno.loadavg()[0]!.toFixed(2)} fwd ${f!.toFixed(2)} A(${commit}) ${a!.toFixed(2)} (${
    (a! / f!).toFixed(2)
  }x, ${ms[1]!.graph.nodes.length} nodes) B(tree) ${b!.toFixed(2)} (${(b! / f!).toFixed(2)}x, ${
    ms[2]!.graph.nodes.length
  } nodes)`,
);
