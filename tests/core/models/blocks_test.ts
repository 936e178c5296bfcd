import assert from "node:assert/strict";
import { ACTIVATIONS } from "../../../core/models/blocks/activation.ts";
import { multiHeadAttention } from "../../../core/models/blocks/attention.ts";
import { startModelGraph, type WeightSource } from "../../../core/models/blocks/context.ts";
import { groupNorm } from "../../../core/models/blocks/group_norm.ts";
import {
  timestepFrequencies,
  timestepSinusoid,
} from "../../../core/models/blocks/timestep_embedding.ts";
import { makeTensor } from "../../../core/onnx/tensor_data.ts";
import { DType, type Tensor } from "../../../core/onnx/types.ts";
import { maxAbsErr, runOnce } from "./_sd_fixture.ts";

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.fround(s / 1073741824 - 1);
  });
}

/** An in-memory weight source of inline float32 tensors. */
function inline(tensors: Record<string, [number[], number[]]>): WeightSource {
  return {
    label: "inline",
    tensor: (name: string): Tensor | undefined => {
      const t = tensors[name];
      return t && makeTensor(name, DType.FLOAT, t[0], t[1]);
    },
  };
}

Deno.test("timestepSinusoid() matches diffusers' get_timestep_embedding at batch 2 and 1", async () => {
  const half = 8;
  const freqs = timestepFrequencies(half, 1);
  // exponent = -ln(10000) * i / (half - shift), in float32.
  freqs.forEach((f, i) =>
    assert.ok(Math.abs(f - Math.exp((-Math.log(10000) * i) / (half - 1))) < 1e-6)
  );
  for (const [flip, dim] of [[true, 16], [false, 16], [true, 17]] as const) {
    const { ctx, finish } = startModelGraph(
      [{ name: "t", dtype: DType.FLOAT, shape: [] }],
      inline({}),
      "/",
    );
    const model = finish({
      emb: timestepSinusoid(ctx.g, "t", { dim, flipSinToCos: flip, freqShift: 1 }),
    });
    for (const ts of [[10, 981], [500]]) {
      const out = await runOnce(model, {
        t: { dtype: "float32", dims: [ts.length], data: Float32Array.from(ts) },
      }, "emb");
      const want = ts.flatMap((t) => {
        const arg = freqs.map((f) => Math.fround(t * f));
        const [a, b] = [arg.map(Math.sin), arg.map(Math.cos)];
        return [...(flip ? [...b, ...a] : [...a, ...b]), ...(dim % 2 ? [0] : [])];
      });
      assert.deepEqual(out.dims, [ts.length, dim]);
      assert.ok(maxAbsErr(out.data, want) < 1e-5, `flip ${flip} dim ${dim}`);
    }
  }
});

Deno.test("groupNorm() matches torch.nn.GroupNorm at batch 2 and 1", async () => {
  const [c, hw, groups, eps] = [6, 5, 3, 1e-5];
  const gamma = values(c, 1), beta = values(c, 2);
  const { ctx, finish } = startModelGraph(
    [{ name: "x", dtype: DType.FLOAT, shape: [c, 1, hw] }],
    inline({ "n.weight": [[c], gamma], "n.bias": [[c], beta] }),
    "/",
  );
  const model = finish({ y: groupNorm(ctx.at("n"), "x", { groups, eps }) });
  assert.deepEqual(model.graph.inputs[0]!.shape, ["batch", c, 1, hw]);
  for (const b of [2, 1]) {
    const x = values(b * c * hw, 3 + b);
    const want: number[] = [];
    const per = (c / groups) * hw;
    for (let n = 0; n < b * groups; n++) {
      const seg = x.slice(n * per, (n + 1) * per);
      const mean = seg.reduce((s, v) => s + v, 0) / per;
      const variance = seg.reduce((s, v) => s + (v - mean) ** 2, 0) / per;
      seg.forEach((v, i) => {
        const ch = Math.floor(((n % groups) * per + i) / hw);
        want.push(((v - mean) / Math.sqrt(variance + eps)) * gamma[ch]! + beta[ch]!);
      });
    }
    const out = await runOnce(model, {
      x: { dtype: "float32", dims: [b, c, 1, hw], data: Float32Array.from(x) },
    }, "y");
    assert.ok(maxAbsErr(out.data, want) < 1e-5, `batch ${b}`);
  }
  assert.throws(() => {
    const d = startModelGraph([{ name: "x", dtype: DType.FLOAT, shape: [c, 4] }], inline({}), "/");
    groupNorm(d.ctx.at("n"), "x", { groups: 4, eps });
  }, /n\.: 4 groups do not divide 6 channels/);
});

Deno.test("multiHeadAttention() matches softmax(QKᵀ/√d)V per head at batch 2", async () => {
  const [n, m, heads, hd] = [3, 4, 2, 2];
  const d = heads * hd;
  const { ctx, finish } = startModelGraph(
    [
      { name: "q", dtype: DType.FLOAT, shape: [n, d] },
      { name: "kv", dtype: DType.FLOAT, shape: [m, d] },
    ],
    inline({}),
    "/",
  );
  const model = finish({ y: multiHeadAttention(ctx.g, "q", "kv", "kv", { numHeads: heads }) });
  const b = 2;
  const q = values(b * n * d, 7), kv = values(b * m * d, 8);
  const want: number[] = [];
  for (let bi = 0; bi < b; bi++) {
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < heads; h++) {
        const qi = (j: number) => q[(bi * n + i) * d + h * hd + j]!;
        const kj = (r: number, j: number) => kv[(bi * m + r) * d + h * hd + j]!;
        const s = Array.from(
          { length: m },
          (_, r) =>
            Array.from({ length: hd }, (_, j) => qi(j) * kj(r, j)).reduce((a, v) => a + v, 0) /
            Math.sqrt(hd),
        );
        const mx = Math.max(...s);
        const e = s.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, v) => a + v, 0);
        for (let j = 0; j < hd; j++) want.push(e.reduce((a, w, r) => a + (w / z) * kj(r, j), 0));
      }
    }
  }
  const out = await runOnce(model, {
    q: { dtype: "float32", dims: [b, n, d], data: Float32Array.from(q) },
    kv: { dtype: "float32", dims: [b, m, d], data: Float32Array.from(kv) },
  }, "y");
  assert.deepEqual(out.dims, [b, n, d]);
  assert.ok(maxAbsErr(out.data, want) < 1e-6);
});

Deno.test("BlockContext.param() casts half-precision tensors and refuses integer ones", () => {
  const src: WeightSource = {
    label: "mixed.safetensors",
    tensor: (name) =>
      name === "h"
        ? {
          name,
          dtype: DType.FLOAT16,
          dims: [2],
          external: { location: "w", offset: 0, length: 4 },
        }
        : name === "i"
        ? makeTensor(name, DType.INT64, [2], [1, 2])
        : undefined,
  };
  const { ctx } = startModelGraph([], src, "/");
  const h = ctx.param("h");
  assert.notEqual(h, "h");
  assert.equal(ctx.g.dtype(h), DType.FLOAT);
  assert.equal(ctx.param("h"), h, "bound once");
  assert.equal(ctx.g.initializers.filter((t) => t.name === "h").length, 1);
  assert.throws(
    () => ctx.param("i"),
    /mixed\.safetensors: tensor 'i' has dtype INT64, expected a float type/,
  );
  assert.throws(() => ctx.param("h", [3]), /tensor 'h' has shape \[2\], the config implies \[3\]/);
  assert.throws(() => ctx.at("a").param("zz"), /mixed\.safetensors: missing tensor 'a\.zz'/);
});

Deno.test("ACTIVATIONS: silu, erf gelu and quick_gelu match their formulas", async () => {
  const x = values(12, 9).map((v) => 4 * v);
  const erf = (z: number) => {
    // Abramowitz-Stegun 7.1.26 is too coarse; integrate the series instead.
    let sum = 0, term = z;
    for (let n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= (-z * z) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const want = {
    silu: (z: number) => z * sig(z),
    gelu: (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
    quick_gelu: (z: number) => z * sig(1.702 * z),
  };
  for (const [name, f] of Object.entries(ACTIVATIONS)) {
    const { ctx, finish } = startModelGraph(
      [{ name: "x", dtype: DType.FLOAT, shape: [6] }],
      inline({}),
      "/",
    );
    const model = finish({ y: f(ctx.g, "x") });
    const out = await runOnce(model, {
      x: { dtype: "float32", dims: [2, 6], data: Float32Array.from(x) },
    }, "y");
    assert.ok(maxAbsErr(out.data, x.map(want[name as keyof typeof want])) < 1e-5, name);
  }
});
