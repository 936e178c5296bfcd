import assert from "node:assert/strict";
import { startGraph } from "../../../core/onnx/compose.ts";
import { type HostTensor, Session } from "../../../core/onnx/runtime.ts";
import { shareTiledRows } from "../../../core/onnx/share_tiled.ts";
import { DType, type Model } from "../../../core/onnx/types.ts";

const S = 3, B = 2;
const f = (name: string, shape: number[]) => ({ name, dtype: DType.FLOAT, shape });
const data = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed) * 0.7);

/**
 * x [B,2,4,4] tiled S times (as the train step tiles its images), through a per-row prefix
 * (Conv, group-norm-like Reshape/Reduce, Sigmoid, Transpose, MatMul by a weight), then
 * meeting c [S*B,16,4], which differs between copies; `best` concatenates one more copy.
 */
function model(best: boolean): Model {
  const { g, finish } = startGraph([f("x", [B, 2, 4, 4]), f("c", [S * B, 16, 4])]);
  const rows = (best ? S + 1 : S) * B;
  let t = g.reshape(g.expand(g.reshape("x", [1, B, 2, 4, 4]), [S, B, 2, 4, 4]), [S * B, 2, 4, 4]);
  if (best) t = g.concat([t, "x"], 0);
  const w = g.constant(DType.FLOAT, [3, 2, 3, 3], [...data(54, 1)]);
  let h = g.conv(t, w, undefined, { pads: [1, 1, 1, 1] }); // [rows,3,4,4]
  const grouped = g.reshape(h, [rows, 3, 16]);
  h = g.sub(grouped, g.reduceMean(grouped, [2], true));
  h = g.mul(h, g.sigmoid(h));
  h = g.transpose(h, [0, 2, 1]); // [rows,16,3]
  h = g.matmul(h, g.constant(DType.FLOAT, [3, 4], [...data(12, 2)])); // [rows,16,4]
  const c = best ? g.concat(["c", g.slice("c", [0], [B], [0])], 0) : "c";
  const y = g.reduceSum(g.mul(g.add(h, c), h), [0, 1, 2], false);
  g.name(y, "y");
  return finish(["y"]);
}

async function run(m: Model): Promise<number> {
  const feeds: Record<string, HostTensor> = {
    x: { dtype: "float32", dims: [B, 2, 4, 4], data: data(B * 32, 3) },
    c: { dtype: "float32", dims: [S * B, 16, 4], data: data(S * B * 64, 4) },
  };
  const s = await Session.create(m);
  const out = await s.run(feeds);
  await s.release();
  return (out.y!.data as Float32Array)[0]!;
}

Deno.test("shareTiledRows() computes the tiled prefix on the untiled batch, same values", async () => {
  for (const best of [false, true]) {
    const m = model(best), lean = shareTiledRows(m);
    const rows = lean.graph.nodes.filter((n) => n.name.endsWith("/rows"));
    assert.deepEqual(
      rows.map((n) => n.opType),
      ["Conv", "Reshape", "ReduceMean", "Sub", "Sigmoid", "Mul", "Transpose", "MatMul"],
    );
    const want = await run(m), got = await run(lean);
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `${got} vs ${want}`);
  }
});

Deno.test("shareTiledRows() returns a graph without tilings unchanged", () => {
  const { g, finish } = startGraph([f("x", [6, 4])]);
  g.name(g.reduceSum(g.sigmoid("x"), [0, 1], false), "y");
  const m = finish(["y"]);
  assert.equal(shareTiledRows(m), m);
});

Deno.test("shareTiledRows() tiles a shared value that is a graph output", async () => {
  const { g, finish } = startGraph([f("x", [B, 2, 4, 4])]);
  const t = g.reshape(g.expand(g.reshape("x", [1, B, 2, 4, 4]), [S, B, 2, 4, 4]), [S * B, 2, 4, 4]);
  g.name(g.sigmoid(t), "y");
  const m = finish(["y"]), lean = shareTiledRows(m);
  assert.ok(lean.graph.nodes.some((n) => n.name.endsWith("/rows")));
  const x: HostTensor = { dtype: "float32", dims: [B, 2, 4, 4], data: data(B * 32, 5) };
  const [a, b] = [await Session.create(m), await Session.create(lean)];
  assert.deepEqual((await b.run({ x })).y!.data, (await a.run({ x })).y!.data);
  await a.release();
  await b.release();
});
