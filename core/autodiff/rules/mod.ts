/**
 * The table of vector-Jacobian rules, one entry per ONNX operator.
 * @module
 */
import type { Vjp } from "../types.ts";
import * as ew from "./elementwise.ts";
import { LINALG_RULES } from "./linalg.ts";
import { REDUCE_RULES } from "./reduce.ts";
import { NORM_RULES } from "./norm.ts";
import { CONV_RULES } from "./conv.ts";
import { RESIZE_RULES } from "./resize.ts";
import { INDEXING_RULES } from "./indexing.ts";
import { SHAPE_RULES } from "./shape.ts";

/** Operator type → rule. An operator missing here is an error when met on the path. */
export const RULES: Readonly<Record<string, Vjp>> = {
  Add: ew.add,
  Sub: ew.sub,
  Mul: ew.mul,
  Div: ew.div,
  Neg: ew.neg,
  Pow: ew.pow,
  Sqrt: ew.sqrt,
  Reciprocal: ew.reciprocal,
  Exp: ew.exp,
  Log: ew.log,
  Erf: ew.erf,
  Tanh: ew.tanh,
  Sigmoid: ew.sigmoid,
  Sin: ew.sin,
  Cos: ew.cos,
  Abs: ew.abs,
  Relu: ew.relu,
  Identity: ew.identity,
  Sum: ew.sum,
  Cast: ew.cast,
  Where: ew.where,
  ...LINALG_RULES,
  ...REDUCE_RULES,
  ...NORM_RULES,
  ...CONV_RULES,
  ...RESIZE_RULES,
  ...INDEXING_RULES,
  ...SHAPE_RULES,
};
