import assert from "node:assert/strict";
import { differentiate } from "../../../../core/autodiff/driver.ts";
import { attr } from "../../../../core/onnx/builder.ts";
import { buildCheckModel, checkGradient, type CheckSpec, Rng } from "../../../helpers/gradcheck.ts";

/** Float64 central differences: anything above 1e-6 is a wrong rule, not rounding. */
async function fd(spec: CheckSpec): Promise<void> {
  const { errors, worst } = await checkGradient(spec);
  assert.ok(worst <= 1e-6, `${spec.op}: relative errors ${JSON.stringify(errors)}`);
}

const matmul = (a: number[], b: number[]): CheckSpec => ({
  op: "MatMul",
  inputs: [{ name: "a", shape: a, wrt: true }, { name: "b", shape: b, wrt: true }],
});

Deno.test("MatMul vjp matches finite differences (vector · vector)", () => fd(matmul([3], [3])));
Deno.test("MatMul vjp matches finite differences (vector · matrix)", () => fd(matmul([3], [3, 4])));
Deno.test("MatMul vjp matches finite differences (matrix · vector)", () => fd(matmul([2, 3], [3])));
Deno.test("MatMul vjp matches finite differences (batch broadcast [2,1,3,4]·[5,4,2])", () =>
  fd(matmul([2, 1, 3, 4], [5, 4, 2])));
Deno.test("MatMul vjp matches finite differences (batched · 2-D weight: dB by one Gemm)", () =>
  fd(matmul([2, 3, 4, 5], [5, 2])));
Deno.test("MatMul vjp matches finite differences (vector · batched matrices)", () =>
  fd(matmul([3], [2, 3, 4])));
Deno.test("MatMul vjp matches finite differences (batched matrices · vector)", () =>
  fd(matmul([2, 1, 5, 3], [3])));

const gemm = (
  a: number[],
  b: number[],
  c: number[] | undefined,
  o: { transA?: number; transB?: number; alpha?: number; beta?: number },
): CheckSpec => ({
  op: "Gemm",
  inputs: [
    { name: "a", shape: a, wrt: true },
    { name: "b", shape: b, wrt: true },
    c ? { name: "c", shape: c, wrt: true } : { name: "c", shape: [], omitted: true },
  ],
  attrs: [
    attr.int("transA", o.transA ?? 0),
    attr.int("transB", o.transB ?? 0),
    attr.float("alpha", o.alpha ?? 1),
    attr.float("beta", o.beta ?? 1),
  ],
});

Deno.test("Gemm vjp matches finite differences (plain, C [4])", () =>
  fd(gemm([3, 5], [5, 4], [4], {})));
Deno.test("Gemm vjp matches finite differences (transA, alpha, beta, C [1,4])", () =>
  fd(gemm([5, 3], [5, 4], [1, 4], { transA: 1, alpha: 0.7, beta: -1.3 })));
Deno.test("Gemm vjp matches finite differences (transB, C [3,4])", () =>
  fd(gemm([3, 5], [4, 5], [3, 4], { transB: 1, beta: 2 })));
Deno.test("Gemm vjp matches finite differences (transA and transB, alpha, C [3,1])", () =>
  fd(gemm([5, 3], [4, 5], [3, 1], { transA: 1, transB: 1, alpha: 1.5, beta: 0.5 })));
Deno.test("Gemm vjp matches finite differences (no C)", () =>
  fd(gemm([2, 3], [3, 4], undefined, { transB: 0, alpha: 2 })));

const einsum = (equation: string, ...shapes: number[][]): CheckSpec => ({
  op: "Einsum",
  inputs: shapes.map((shape, i) => ({ name: `x${i}`, shape, wrt: true })),
  attrs: [attr.string("equation", equation)],
});

Deno.test("Einsum vjp matches finite differences (bij,bjk->bik)", () =>
  fd(einsum("bij,bjk->bik", [2, 3, 4], [2, 4, 5])));
Deno.test("Einsum vjp matches finite differences (ij->ji)", () => fd(einsum("ij->ji", [3, 4])));
Deno.test("Einsum vjp matches finite differences (bhqd,bhkd->bhqk)", () =>
  fd(einsum("bhqd,bhkd->bhqk", [2, 2, 3, 4], [2, 2, 5, 4])));
Deno.test("Einsum vjp matches finite differences (i,j->ij)", () => fd(einsum("i,j->ij", [3], [4])));
Deno.test("Einsum vjp matches finite differences (ij,j->i)", () =>
  fd(einsum("ij,j->i", [3, 4], [4])));
Deno.test("Einsum vjp matches finite differences (implicit ij,jk)", () =>
  fd(einsum("ij,jk", [3, 4], [4, 2])));
Deno.test("Einsum vjp matches finite differences (label summed inside one operand)", () =>
  fd(einsum("ij,k->ik", [3, 4], [5])));
Deno.test("Einsum vjp matches finite differences (full contraction i,i->)", () =>
  fd(einsum("i,i->", [5], [5])));
Deno.test("Einsum vjp matches finite differences (three operands)", () =>
  fd(einsum("ij,jk,kl->il", [2, 3], [3, 4], [4, 2])));

Deno.test("Einsum vjp rejects repeated labels with a clear error", async () => {
  await assert.rejects(() => checkGradient(einsum("ii->i", [3, 3])), /repeated labels/);
});

Deno.test("linalg vjps emit only standard ai.onnx operators", () => {
  const specs = [
    matmul([3], [2, 3, 4]),
    gemm([5, 3], [4, 5], [3, 4], { transA: 1, transB: 1, alpha: 2 }),
    einsum("ij,k->ik", [3, 4], [5]),
  ];
  for (const spec of specs) {
    const { model, shapes } = buildCheckModel(spec, new Rng(1));
    const wrt = spec.inputs.filter((i) => i.wrt).map((i) => i.name);
    const { model: out } = differentiate(model, { loss: "loss", wrt, shapes });
    assert.deepEqual(out.opsetImports, [{ domain: "", version: 17 }]);
    for (const node of out.graph.nodes) {
      assert.equal(node.domain, "", `${node.opType} is in domain '${node.domain}'`);
      assert.ok(STANDARD.has(node.opType), `${node.opType} is not an expected ai.onnx operator`);
    }
  }
});

/** ai.onnx operators the linalg rules (and the check harness around them) may emit. */
const STANDARD = new Set([
  "MatMul",
  "Gemm",
  "Einsum",
  "Transpose",
  "Unsqueeze",
  "Squeeze",
  "Reshape",
  "Expand",
  "ReduceSum",
  "Mul",
  "Sum",
  "Identity",
]);
