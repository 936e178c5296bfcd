/**
 * Noise schedules and samplers: the shared scheduler config, DDPM training helpers (noising,
 * targets, Min-SNR weights), and the inference schedulers DDIM, Euler ancestral and
 * DPM-Solver++(2M) behind one pure interface (`setTimesteps` returns a plan; `step(plan, state,
 * ...)` returns a new state).
 *
 * @example
 * ```ts
 * import { createScheduler, parseSchedulerConfig, SchedulerKind } from "./mod.ts";
 * import { Rng } from "../random.ts";
 * const config = parseSchedulerConfig({ beta_schedule: "scaled_linear", steps_offset: 1 });
 * const scheduler = createScheduler(SchedulerKind.EulerAncestral, config);
 * const plan = scheduler.setTimesteps(10), rng = new Rng(42);
 * let x = rng.normals(16).map((v) => v * plan.initNoiseSigma);
 * let state = scheduler.initialState(plan);
 * for (let i = 0; i < plan.timesteps.length; i++) {
 *   const input = scheduler.scaleModelInput(plan, x, i);
 *   const modelOutput = new Float32Array(input.length); // unet(input, plan.timesteps[i], ...)
 *   const noise = scheduler.stochastic ? rng.fork(i).normals(x.length) : undefined;
 *   ({ prevSample: x, state } = scheduler.step(plan, state, i, modelOutput, x, noise));
 * }
 * ```
 * @module
 */
export * from "./config.ts";
export * from "./ddpm.ts";
export * from "./scheduler.ts";
export * from "./ddim.ts";
export * from "./euler_ancestral.ts";
export * from "./dpm_solver_pp.ts";
export * from "./create_scheduler.ts";
export * from "./scheduler_error.ts";
