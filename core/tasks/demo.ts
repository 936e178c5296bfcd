/**
 * `deno task demo`: placeholder until the embedded default model exists.
 * @module
 */
console.error(
  "The demo arrives with the embedded default model (a later issue); it does not exist yet.\n" +
    "What works today: `deno task grad` (ONNX autodiff), `deno task test`, `deno task bench`.",
);
Deno.exit(1);
