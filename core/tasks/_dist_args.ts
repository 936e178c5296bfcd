/**
 * Choosing distributions on the command line (sample, export-embeddings): an id in
 * `--store`, or a PATH to a distribution folder (manifest.json + prompts.safetensors), alone
 * (`--dist`) or as a weighted mix (`--mix a:0.3,b:0.7`). Folders are served to the Engine
 * through a read-only overlay of the store, so they are verified (sha256) like stored ones.
 * Also the sampling options the two tasks share (n, gamma, prompt template, seed).
 *
 * @module
 */
import { join } from "node:path";
import {
  DEFAULT_SAMPLER,
  type MixMode,
  SAMPLER_KINDS,
  splitTemplate,
} from "../distribution/mod.ts";
import { EngineError, mixWeights, type SampleRequest } from "../engine/mod.ts";
import { type ListOptions, openStore, type PutOptions, type Store } from "../store/mod.ts";
import {
  choice,
  isDirectory,
  num,
  type OptionTable,
  parseNumber,
  str,
  UsageError,
  type Values,
} from "./_cli.ts";

/** The options of a distribution selection, for option tables. */
export const SELECTION_OPTIONS: OptionTable = {
  dist: { type: "string", arg: "ID|PATH", help: "a distribution id in --store, or its folder" },
  mix: {
    type: "string",
    arg: "ID:W,ID:W",
    help: "a weighted mix instead of --dist (ids or folders; weights sum to 1)",
  },
  "mix-mode": {
    type: "string",
    arg: "paper|rms",
    default: "paper",
    help: "sigma of a mix: paper eq. 7 or rms",
  },
  store: { type: "string", arg: "STORE_URL", default: "./.data", help: "store of the ids" },
};

/** A parsed selection: references (ids or folder paths) with weights. */
export interface Selection {
  entries: { ref: string; weight: number }[];
  mixMode: MixMode;
  storeUrl: string;
}

/**
 * Reads --dist / --mix / --mix-mode / --store.
 * @throws UsageError for none or both of --dist and --mix, a bad weight, or weights whose
 * sum is not 1.
 */
export function parseSelection(values: Values): Selection {
  const dist = str(values, "dist"), mix = str(values, "mix");
  if (dist !== undefined && mix !== undefined) {
    throw new UsageError("give --dist or --mix, not both");
  }
  if (dist === undefined && mix === undefined) {
    throw new UsageError("--dist or --mix is required (see --help)");
  }
  const mode = str(values, "mix-mode") ?? "paper";
  if (mode !== "paper" && mode !== "rms") {
    throw new UsageError(`--mix-mode must be paper or rms, got ${JSON.stringify(mode)}`);
  }
  const entries = dist !== undefined ? [{ ref: dist, weight: 1 }] : mix!.split(",").map((part) => {
    const at = part.lastIndexOf(":");
    if (at <= 0) throw new UsageError(`--mix entry ${JSON.stringify(part)}: expected ID:WEIGHT`);
    const w = parseNumber(`--mix weight of ${part.slice(0, at)}`, part.slice(at + 1), { min: 0 });
    return { ref: part.slice(0, at).trim(), weight: w };
  });
  if (entries.some((e) => e.ref === "")) throw new UsageError("--dist: empty distribution id");
  try {
    mixWeights(entries.map((e) => ({ id: e.ref, weight: e.weight })), { exact: true });
  } catch (e) {
    if (e instanceof EngineError) throw new UsageError(`--${e.message}`);
    throw e;
  }
  return { entries, mixMode: mode, storeUrl: str(values, "store") ?? "./.data" };
}

/** A store whose `distributions/<id>/*` keys come from folders, the rest from `base`. */
class FolderOverlay implements Store {
  readonly url: string;
  constructor(private readonly base: Store, private readonly folders: Map<string, string>) {
    this.url = base.url;
  }
  #file(key: string): string | undefined {
    const m = /^distributions\/([^/]+)\/([^/]+)$/.exec(key);
    const dir = m ? this.folders.get(m[1]!) : undefined;
    return dir ? join(dir, m![2]!) : undefined;
  }
  async get(key: string): Promise<Uint8Array | null> {
    const file = this.#file(key);
    if (!file) return this.base.get(key);
    try {
      return await Deno.readFile(file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }
  async exists(key: string): Promise<boolean> {
    return (await this.get(key)) !== null;
  }
  put(key: string, bytes: Uint8Array, opts?: PutOptions): Promise<void> {
    return this.base.put(key, bytes, opts);
  }
  delete(key: string): Promise<void> {
    return this.base.delete(key);
  }
  list(prefix: string, opts?: ListOptions): Promise<string[]> {
    return this.base.list(prefix, opts);
  }
}

/** The id a distribution folder's manifest names. @throws UsageError when unreadable. */
async function folderId(dir: string): Promise<string> {
  const path = join(dir, "manifest.json");
  try {
    const id = (JSON.parse(await Deno.readTextFile(path)) as { id?: unknown }).id;
    if (typeof id !== "string") throw new Error("no id");
    return id;
  } catch (e) {
    throw new UsageError(`${path}: not a distribution manifest (${(e as Error).message})`);
  }
}

/**
 * Opens the store and maps the selection's folders into it.
 * @returns the store to give the Engine, and the ids with weights.
 */
export async function openSelection(
  sel: Selection,
): Promise<{ store: Store; distributions: { id: string; weight: number }[] }> {
  const base = await openStore(sel.storeUrl);
  const folders = new Map<string, string>();
  const distributions = [];
  for (const { ref, weight } of sel.entries) {
    if (await isDirectory(ref)) {
      const id = await folderId(ref);
      folders.set(id, ref);
      distributions.push({ id, weight });
    } else if (/[/\\]/.test(ref)) {
      throw new UsageError(`distribution folder not found: ${ref}`);
    } else distributions.push({ id: ref, weight });
  }
  return { store: folders.size ? new FolderOverlay(base, folders) : base, distributions };
}

/** Selection plus what to sample and how many (sample, export-embeddings). */
export const FEATURE_OPTIONS: OptionTable = {
  ...SELECTION_OPTIONS,
  n: { type: "string", arg: "N", default: "4", help: "number of images / samples" },
  gamma: {
    type: "string",
    arg: "X",
    default: "1",
    help: "diversity scale: sigma' = gamma * sigma",
  },
  prompt: {
    type: "string",
    arg: "TEXT",
    help: 'edit template with {} for the learned prompt, e.g. "{} on the beach" (default: none)',
  },
  negative: { type: "string", arg: "TEXT", default: '""', help: "negative prompt" },
  seed: { type: "string", arg: "N", default: "0", help: "random seed" },
  "shared-sample": { type: "boolean", help: "one c~ for all images (authors' code variant)" },
  sampler: {
    type: "string",
    arg: "NAME",
    help: `how c~ is drawn: ${SAMPLER_KINDS.join(", ")} (default ${DEFAULT_SAMPLER})`,
  },
};

/**
 * The sampling settings shared with export-embeddings, checked.
 * @throws UsageError for bad numbers or a template without exactly one {}.
 */
export function featureRequest(
  values: Values,
): Omit<SampleRequest, "distributions" | "steps" | "guidance"> {
  const prompt = str(values, "prompt");
  if (prompt !== undefined) {
    try {
      splitTemplate(prompt);
    } catch (e) {
      throw new UsageError(`--prompt: ${(e as Error).message}`);
    }
  }
  return {
    n: num(values, "n", 4, { integer: true, min: 1, max: 1024 }),
    gamma: num(values, "gamma", 1, { min: 0 }),
    seed: num(values, "seed", 0, { integer: true, min: 0 }),
    negativePrompt: str(values, "negative") ?? "",
    sharedSample: values["shared-sample"] === true,
    sampler: choice(values, "sampler", SAMPLER_KINDS, DEFAULT_SAMPLER),
    ...(prompt !== undefined ? { template: prompt } : {}),
  };
}
