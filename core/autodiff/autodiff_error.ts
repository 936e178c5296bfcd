/**
 * The one error type of gradient building.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/**
 * Why no gradient graph could be built:
 * - `missing_rule`: an operator on the path from the targets to the loss has no rule (or its
 *   rule gives no gradient for an input that needs one); `op` and `node` name it;
 * - `unsupported`: a rule exists, but not for this node's attributes or shapes;
 * - `invalid_request`: the loss, the targets or the graph cannot be differentiated as asked.
 */
export type AutodiffErrorCode = "missing_rule" | "unsupported" | "invalid_request";

/**
 * Thrown by {@linkcode differentiate} and the rules; a node-specific one names the
 * operator and the node.
 *
 * @example
 * ```ts
 * import { AutodiffError } from "./autodiff_error.ts";
 * const e = new AutodiffError("missing_rule", "no rule for Foo", { op: "Foo", node: "n1" });
 * console.assert(e.code === "missing_rule" && e.op === "Foo" && e.node === "n1");
 * ```
 */
export class AutodiffError extends CodedError<AutodiffErrorCode> {
  /** The operator at fault, when one is. */
  readonly op?: string;
  /** The node at fault, when one is. */
  readonly node?: string;

  /**
   * @param code Why it failed.
   * @param message One line naming the operator and node, when one is at fault.
   * @param where The operator type and node name at fault.
   */
  constructor(
    code: AutodiffErrorCode,
    message: string,
    where: { op?: string; node?: string } = {},
  ) {
    super(code, message);
    if (where.op !== undefined) this.op = where.op;
    if (where.node !== undefined) this.node = where.node;
  }
}
