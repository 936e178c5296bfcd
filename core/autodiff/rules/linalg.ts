/**
 * Linear-algebra operators: MatMul, Gemm and Einsum. Each gradient is another product of the
 * same kind; broadcast batch dimensions are summed by the driver's un-broadcast.
 * @module
 */
import type { Builder } from "../../onnx/mod.ts";
import type { Vjp } from "../types.ts";
import { AutodiffError } from "../autodiff_error.ts";

/** Swaps the last two axes. */
function swapLast(g: Builder, x: string): string {
  const r = g.shape(x).length;
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
  return g.transpose(x, perm);
}

/** Transposes by `perm`, emitting nothing for the identity. */
function permute(g: Builder, x: string, perm: number[]): string {
  return perm.every((p, i) => p === i) ? x : g.transpose(x, perm);
}

/** MatMul's output shape with 1-D operands promoted to matrices ([k]·B: [..., 1, m]). */
function promotedOut(out: number[], aVec: boolean, bVec: boolean): number[] {
  const s = [...out];
  if (aVec) s.splice(s.length - (bVec ? 0 : 1), 0, 1);
  if (bVec) s.push(1);
  return s;
}

// numpy matmul: a 1-D left operand is a row [1, k], a 1-D right one a column [k, 1]; the
// promoted axis is squeezed back out of its gradient, batch axes the driver sums.
export const matmul: Vjp = (g, n, dy) => {
  const [aVec, bVec] = [n.inShape(0).length === 1, n.inShape(1).length === 1];
  const dy2 = g.reshape(dy, promotedOut(n.outShape(0), aVec, bVec));
  const r = g.shape(dy2).length;
  const a = () => (aVec ? g.unsqueeze(n.in(0), [0]) : n.in(0));
  const b = () => (bVec ? g.unsqueeze(n.in(1), [1]) : n.in(1));
  const drop = (x: string, vec: boolean, axis: number) => (vec ? g.squeeze(x, [axis]) : x);
  const [as, bs] = [n.inShape(0), n.inShape(1)];
  // A batched input times a 2-D weight: dB = A^T dY with the batch axes folded into the
  // rows, one Gemm, instead of a batched product summed over the batch afterwards.
  const foldRows = !aVec && bs.length === 2 && as.length > 2;
  const rows = as.slice(0, -1).reduce((p, q) => p * q, 1);
  return [
    () => drop(g.matmul(dy2, swapLast(g, b())), aVec, r - 2),
    () =>
      foldRows
        ? g.gemm(g.reshape(n.in(0), [rows, as.at(-1)!]), g.reshape(dy, [rows, bs[1]!]), undefined, {
          transA: true,
        })
        : drop(g.matmul(swapLast(g, a()), dy2), bVec, r - 1),
  ];
};

// Y = alpha op(A) op(B) + beta C. With op(A) = A: dA = alpha dY op(B)^T; with op(A) = A^T:
// dA = alpha op(B) dY^T (and the mirror for B). C's broadcast is undone by the driver.
export const gemm: Vjp = (g, n, dy) => {
  const [tA, tB] = [n.attrInt("transA", 0) === 1, n.attrInt("transB", 0) === 1];
  const [alpha, beta] = [n.attrFloat("alpha", 1), n.attrFloat("beta", 1)];
  const mm = (a: string, b: string, transA: boolean, transB: boolean) =>
    g.gemm(a, b, undefined, { transA, transB, alpha });
  const [a, b] = [n.in(0), n.in(1)];
  return [
    () => (tA ? mm(b, dy, tB, true) : mm(dy, b, false, !tB)),
    () => (tB ? mm(dy, a, true, tA) : mm(a, dy, !tA, false)),
    n.in(2) ? () => (beta === 1 ? dy : g.mul(dy, beta)) : null,
  ];
};

/**
 * Splits an Einsum equation into operand and output labels; an implicit output is the
 * labels that occur once, sorted.
 * @throws Error for ellipses, repeated labels within a term, or a wrong operand count.
 * @example
 * ```ts
 * import { parseEinsum } from "./linalg.ts";
 * parseEinsum("ij,jk", 2); // { ins: [["i", "j"], ["j", "k"]], out: ["i", "k"] }
 * ```
 */
export function parseEinsum(equation: string, nInputs: number): { ins: string[][]; out: string[] } {
  const [lhs = "", rhs] = equation.replace(/\s/g, "").split("->");
  const ins = lhs.split(",").map((t) => [...t]);
  const all = ins.flat();
  const out = rhs !== undefined
    ? [...rhs]
    : [...new Set(all)].filter((l) => all.indexOf(l) === all.lastIndexOf(l)).sort();
  for (const term of [...ins, out]) {
    if (term.some((l) => !/[A-Za-z]/.test(l)) || new Set(term).size !== term.length) {
      throw new AutodiffError(
        "unsupported",
        `autodiff: Einsum '${equation}': ellipses and repeated labels (traces, ` +
          `diagonals) have no gradient rule`,
      );
    }
  }
  if (ins.length !== nInputs) {
    throw new AutodiffError(
      "unsupported",
      `autodiff: Einsum '${equation}' names ${ins.length} operands, has ${nInputs}`,
    );
  }
  return { ins, out };
}

// dX_i = einsum(dY, X_j (j != i)) onto X_i's labels; labels summed away inside X_i alone
// (in neither the output nor another operand) come back by Expand.
export const einsum: Vjp = (g, n, dy) => {
  const { ins, out } = parseEinsum(n.attrString("equation", ""), n.node.inputs.length);
  return ins.map((labels, i) => () => {
    const others = ins.filter((_, j) => j !== i);
    const kept = labels.filter((l) => out.includes(l) || others.some((o) => o.includes(l)));
    const eq = [out, ...others].map((t) => t.join("")).join(",") + "->" + kept.join("");
    const x = others.length > 0
      ? g.einsum(eq, dy, ...n.node.inputs.filter((_, j) => j !== i))
      : permute(g, dy, kept.map((l) => out.indexOf(l)));
    const lost = labels.flatMap((l, axis) => (kept.includes(l) ? [] : [axis]));
    return lost.length === 0 ? x : g.expand(g.unsqueeze(x, lost), n.inShape(i));
  });
};

/** Operator type → rule, for this family. */
export const LINALG_RULES: Record<string, Vjp> = {
  MatMul: matmul,
  Gemm: gemm,
  Einsum: einsum,
};
