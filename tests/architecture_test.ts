/**
 * The layer rules of README "Layers", enforced: every relative import between folders of
 * core/, functions/ and deploy/ goes to a lower layer and through the target folder's mod.ts
 * (its public surface; a top-level file such as core/errors.ts is its own door), and files
 * named `_*.ts` are private to their folder. The table is read from the README, so the picture
 * and the rule stay one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Layer number of each folder (or top-level core file), from README's "Layers" table. */
function readLayers(): Map<string, number> {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.split(/^### Layers$/m)[1]?.split(/^##/m)[0];
  assert.ok(section, 'README.md has no "### Layers" section');
  const layers = new Map<string, number>();
  for (const m of section.matchAll(/^\| (\d+) +\| ([^|]+)\|/gm)) {
    for (const f of m[2]!.replace(/\(.*\)/, "").split(",")) {
      layers.set(f.trim().replace(/`/g, ""), Number(m[1]));
    }
  }
  assert.ok(layers.size > 10, "the Layers table lists the folders");
  return layers;
}

/** The folder an import resolves into: core/<name> (or core/<file>.ts), functions, deploy. */
function unit(path: string): string {
  const parts = path.split("/");
  return parts[0] === "core" ? `core/${parts[1]}` : parts[0]!;
}

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const p = join(dir, e.name);
    if (e.isDirectory && e.name !== "node_modules" && e.name !== "embedded") yield* sources(p);
    else if (e.isFile && p.endsWith(".ts")) yield p;
  }
}

interface Edge {
  from: string;
  to: string;
}

function imports(): Edge[] {
  const edges: Edge[] = [];
  for (const dir of ["core", "functions", "deploy"]) {
    for (const from of sources(dir)) {
      const text = Deno.readTextFileSync(join(ROOT, from));
      const statics = [
        ...text.matchAll(
          /(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g,
        ),
        ...text.matchAll(/(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']/g),
      ];
      for (const m of statics) edges.push({ from, to: normalize(join(dirname(from), m[1]!)) });
      // Dynamic imports and Worker URLs count too.
      for (const m of text.matchAll(/(?:import\(|new URL\()\s*["'](\.{1,2}\/[^"']+\.ts)["']/g)) {
        edges.push({ from, to: normalize(join(dirname(from), m[1]!)) });
      }
    }
  }
  return edges;
}

/** The one file through which other folders import a folder (or a top-level file itself). */
function door(unitName: string): string {
  return unitName.endsWith(".ts") ? unitName : `${unitName}/mod.ts`;
}

/**
 * A folder's second door, `browser.ts`: the part of it that runs in a browser (no Node APIs, no
 * onnxruntime-node), through which the in-browser sampler's modules import it.
 * tests/core/browser/bundle_test.ts proves the doors browser-safe by bundling core/browser.
 */
function browserDoor(unitName: string): string | undefined {
  return unitName.endsWith(".ts") ? undefined : `${unitName}/browser.ts`;
}

const isDoor = (to: string, unitName: string) =>
  to === door(unitName) || to === browserDoor(unitName);

/**
 * Files allowed to import past a folder's mod.ts, each with its reason (none today; the
 * mechanism stays for a move that takes more than one change).
 */
const DOOR_EXEMPT: readonly ((from: string) => boolean)[] = [];

/**
 * Every broken rule, in words: upward or sideways imports, imports past a folder's mod.ts,
 * and private files used outside.
 */
function violations(
  edges: Edge[],
  layers: Map<string, number>,
  exempt: readonly ((from: string) => boolean)[] = DOOR_EXEMPT,
): string[] {
  const bad: string[] = [];
  for (const { from, to } of edges) {
    if (to.split("/").at(-1)!.startsWith("_") && dirname(from) !== dirname(to)) {
      bad.push(`${from} imports private ${to}`);
    }
    const [a, b] = [unit(from), unit(to)];
    if (a === b && isDoor(to, b)) bad.push(`${from} imports its own folder's ${to} (a cycle)`);
    if (a === b) continue;
    if (!isDoor(to, b) && !exempt.some((e) => e(from))) {
      bad.push(`${from} imports ${to}, not ${door(b)}`);
    }
    const [la, lb] = [layers.get(a), layers.get(b)];
    if (la === undefined) bad.push(`${a} is not in the Layers table (${from})`);
    else if (lb === undefined) bad.push(`${b} is not in the Layers table (imported by ${from})`);
    else if (lb >= la) bad.push(`${from} (layer ${la}) imports ${to} (layer ${lb})`);
  }
  return bad;
}

Deno.test("layers: every import between folders goes down the README's Layers table", () => {
  const edges = imports();
  assert.ok(edges.length > 300, `only ${edges.length} imports found: the scan is broken`);
  assert.deepEqual(violations(edges, readLayers()), []);
});

Deno.test("layers: the checker names upward, sideways, unknown and private imports", () => {
  const layers = new Map([["core/onnx", 0], ["core/models", 1], ["core/world", 1]]);
  const found = violations(
    [
      { from: "core/models/a.ts", to: "core/onnx/mod.ts" }, // down: fine
      { from: "core/onnx/b.ts", to: "core/models/mod.ts" }, // up
      { from: "core/models/a.ts", to: "core/world/mod.ts" }, // sideways
      { from: "core/models/a.ts", to: "core/onnx/_private.ts" }, // private (and past the door)
      { from: "core/models/a.ts", to: "core/models/_own.ts" }, // private, own folder: fine
      { from: "core/new/x.ts", to: "core/onnx/mod.ts" }, // not in the table
    ],
    layers,
    [],
  );
  assert.deepEqual(found, [
    "core/onnx/b.ts (layer 0) imports core/models/mod.ts (layer 1)",
    "core/models/a.ts (layer 1) imports core/world/mod.ts (layer 1)",
    "core/models/a.ts imports private core/onnx/_private.ts",
    "core/models/a.ts imports core/onnx/_private.ts, not core/onnx/mod.ts",
    "core/new is not in the Layers table (core/new/x.ts)",
  ]);
});

Deno.test("layers: the checker sends imports between folders through mod.ts (or browser.ts)", () => {
  const layers = new Map([["core/errors.ts", 0], ["core/onnx", 0], ["core/models", 1]]);
  const edges = [
    { from: "core/models/a.ts", to: "core/onnx/mod.ts" }, // the door: fine
    { from: "core/models/a.ts", to: "core/onnx/browser.ts" }, // the browser door: fine
    { from: "core/models/a.ts", to: "core/models/browser.ts" }, // own browser door: a cycle
    { from: "core/models/a.ts", to: "core/errors.ts" }, // a top-level file is its own door
    { from: "core/models/a.ts", to: "core/models/b.ts" }, // own folder: fine
    { from: "core/models/a.ts", to: "core/models/mod.ts" }, // own door: a cycle
    { from: "core/models/blocks/c.ts", to: "core/models/d.ts" }, // own folder, nested: fine
    { from: "core/models/a.ts", to: "core/onnx/builder.ts" }, // past the door
    { from: "core/models/blocks/c.ts", to: "core/onnx/infer/nn_ops.ts" }, // past the door
  ];
  assert.deepEqual(violations(edges, layers, []), [
    "core/models/a.ts imports its own folder's core/models/browser.ts (a cycle)",
    "core/models/a.ts imports its own folder's core/models/mod.ts (a cycle)",
    "core/models/a.ts imports core/onnx/builder.ts, not core/onnx/mod.ts",
    "core/models/blocks/c.ts imports core/onnx/infer/nn_ops.ts, not core/onnx/mod.ts",
  ]);
  // An exemption names the importing files it lets through, and no others.
  const exempt = [(from: string) => from.startsWith("core/models/blocks/")];
  assert.deepEqual(violations(edges, layers, exempt), [
    "core/models/a.ts imports its own folder's core/models/browser.ts (a cycle)",
    "core/models/a.ts imports its own folder's core/models/mod.ts (a cycle)",
    "core/models/a.ts imports core/onnx/builder.ts, not core/onnx/mod.ts",
  ]);
});

Deno.test("layers: functions/ reaches core only through core/engine/mod.ts", () => {
  const stray = imports()
    .filter(({ from, to }) => from.startsWith("functions/") && to.startsWith("core/"))
    .filter(({ to }) => to !== "core/engine/mod.ts")
    .map(({ from, to }) => `${from} imports ${to}`);
  assert.deepEqual(stray, []);
});

Deno.test("layers: every folder of core/, and functions/, has a mod.ts (its door)", () => {
  const folders = [...Deno.readDirSync(join(ROOT, "core"))]
    .filter((e) => e.isDirectory).map((e) => `core/${e.name}`);
  const missing = [...folders, "functions"]
    .filter((f) => !existsSync(join(ROOT, f, "mod.ts")));
  assert.deepEqual(missing, []);
});
