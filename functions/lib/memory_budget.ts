/**
 * The memory budget at the edge: a train or sample request whose estimated peak memory
 * (core/engine/budget.ts, from the options and the model's configs) is over the configured
 * ceiling (`DD_MEMORY_BUDGET_MB`) is refused with 422 `over_budget` before any image is
 * fetched or decoded and before any model work.
 *
 * @module
 */
import type { SampleRequest, TrainOptions } from "../../core/engine/mod.ts";
import type { AppDeps } from "../env.ts";
import { ApiError } from "../errors.ts";

const MiB = 2 ** 20;

function refuse(what: string, bytes: number, ceilingMb: number, fix: string): never {
  throw new ApiError(
    422,
    "over_budget",
    `this ${what} needs about ${Math.ceil(bytes / MiB)} MiB of memory, over this server's ` +
      `ceiling of ${ceilingMb} MiB (DD_MEMORY_BUDGET_MB); ${fix}`,
  );
}

/**
 * Refuses a training whose estimate is over the ceiling.
 *
 * @throws {ApiError} 422 `over_budget`, naming the estimate and the ceiling.
 */
export async function checkTrainBudget(
  deps: AppDeps,
  model: string | undefined,
  options: Partial<TrainOptions>,
): Promise<void> {
  const bytes = await deps.engine.trainBudgetBytes(model, options);
  const ceiling = deps.config.limits.memoryBudgetMb;
  if (bytes > ceiling * MiB) refuse("training", bytes, ceiling, "lower S, batchSize or K");
}

/**
 * Refuses a sampling request whose estimate is over the ceiling; the model is the first
 * distribution's (the default model when its manifest cannot be read: the request then fails
 * on its own).
 *
 * @throws {ApiError} 422 `over_budget`, naming the estimate and the ceiling.
 */
export async function checkSampleBudget(deps: AppDeps, req: SampleRequest): Promise<void> {
  let model: string | undefined;
  const first = req.distributions[0]?.id;
  if (first !== undefined) {
    const manifest = await deps.engine.manifest(first).catch(() => null);
    if (typeof manifest === "object" && manifest !== null) model = manifest.model.name;
  }
  const bytes = await deps.engine.sampleBudgetBytes(model, req);
  const ceiling = deps.config.limits.memoryBudgetMb;
  if (bytes > ceiling * MiB) refuse("request", bytes, ceiling, "lower n or batch_size");
}
