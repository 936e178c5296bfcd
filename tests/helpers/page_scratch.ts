/**
 * Scratch folders for a browser test of the playground: `n` reference PNGs to upload (from
 * `discImages`) and a screenshot folder, kept when `DD_PLAYGROUND_SHOTS` names one.
 * @module
 */
import { join } from "node:path";
import { encodePng } from "../../core/images/encode.ts";
import { discImages } from "./tiny_model.ts";

/** The folders, the reference files and a clean-up that keeps kept screenshots. */
export interface PageScratch {
  shots: string;
  files: string;
  refs: string[];
  /** Writes one screenshot as `<name>.png` into `shots`. */
  save(name: string, png: Uint8Array): Promise<void>;
  cleanup(): Promise<void>;
}

export async function pageScratch(n: number): Promise<PageScratch> {
  const keep = Deno.env.get("DD_PLAYGROUND_SHOTS");
  const shots = keep ?? await Deno.makeTempDir({ prefix: "dd-playground-shots-" });
  await Deno.mkdir(shots, { recursive: true });
  const files = await Deno.makeTempDir({ prefix: "dd-playground-files-" });
  const refs: string[] = [];
  for (const [i, img] of discImages(n).entries()) {
    refs.push(join(files, `ref${i}.png`));
    await Deno.writeFile(refs[i]!, encodePng(img));
  }
  return {
    shots,
    files,
    refs,
    save: (name, png) => Deno.writeFile(join(shots, `${name}.png`), png),
    cleanup: async () => {
      await Deno.remove(files, { recursive: true });
      if (!keep) await Deno.remove(shots, { recursive: true });
    },
  };
}
