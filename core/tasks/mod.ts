/**
 * The task kernel, for entry points outside core/tasks (deploy/'s tasks): one way to define a
 * task's usage, options and run, with `--help`, one-line errors and exit codes.
 * @module
 */
export {
  defineTask,
  type FullTaskIo,
  num,
  type OptionTable,
  runMain,
  str,
  type TaskIo,
  type TaskMain,
  UsageError,
} from "./_cli.ts";
