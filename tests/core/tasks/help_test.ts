/**
 * Every task of deno.json answers `--help` with its usage on stdout and exit code 0, through
 * `main(args, io)` in-process; `deno task` itself is run once, from another directory, to
 * check that relative paths resolve against the caller's directory (INIT_CWD).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TaskMain } from "../../../core/tasks/_cli.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(join(ROOT, "deno.json")),
).tasks;

/**
 * Tasks that are not scripts of ours: deno's own subcommands (test, check, bench answer
 * --help as deno does).
 */
const NOT_SCRIPTS = new Set(["test", "check", "bench"]);

Deno.test("every task in deno.json answers --help with its usage and exit code 0", async (t) => {
  const scripts = Object.entries(TASKS).filter(([name]) => !NOT_SCRIPTS.has(name));
  assert.ok(scripts.length >= 17, `${scripts.length} scripts`);
  for (const [name, command] of scripts) {
    await t.step(name, async () => {
      const file = /^deno run (?:-\S+ )*(\S+\.ts)$/.exec(command)?.[1];
      assert.ok(file, `${name}: ${command}`);
      const { main } = await import(join(ROOT, file)) as { main?: TaskMain };
      assert.equal(typeof main, "function", `${file} exports main`);
      let out = "", err = "";
      const log = console.log;
      console.log = (...a: unknown[]) => (out += `${a.join(" ")}\n`); // deploy:gpu-smoke
      try {
        const code = await main!(["--help"], {
          out: (l) => (out += `${l}\n`),
          err: (l) => (err += `${l}\n`),
        });
        assert.equal(code, 0, `${name}: ${err}`);
      } finally {
        console.log = log;
      }
      assert.match(out, new RegExp(`^usage: deno task ${name}\\b`), out);
      assert.equal(err, "");
    });
  }
});

function withoutInitCwd(env: Record<string, string>): Record<string, string> {
  const { INIT_CWD: _, ...rest } = env;
  return rest;
}

Deno.test("serve refuses arguments other than --help, with exit code 1", async () => {
  const { main } = await import(join(ROOT, "functions/server.ts")) as { main: TaskMain };
  let err = "";
  const code = await main(["--port", "9"], { out: () => {}, err: (l) => (err += l) });
  assert.equal(code, 1);
  assert.match(err, /^error: serve takes no arguments/);
});

Deno.test("deno task resolves relative paths against the caller's directory", async () => {
  const cwd = join(ROOT, "tests/fixtures");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "--config",
      join(ROOT, "deno.json"),
      "tokenize",
      "--dir",
      "clip-tokenizer",
      "a photo",
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
    // Without an inherited INIT_CWD (npx sets one): deno task sets it to `cwd`.
    clearEnv: true,
    env: { ...withoutInitCwd(Deno.env.toObject()), NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  assert.equal(dec.decode(out.stdout), "[320,1125]\n");
});
