/**
 * Fault classes 2 and 10 for PNG: a decompression bomb is refused with bounded memory, and
 * interlaced palette images below 8 bits (which fast-png 8.0.0 fails on with `Unsupported
 * filter`) decode pixel-exact.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../../core/images/decode.ts";
import { ImageError } from "../../../core/images/image_error.ts";
import { interlacedPalettePng, pngBomb } from "../../helpers/png_craft.ts";

Deno.test("decodeImage() refuses a PNG bomb after inflating at most about its declared size", async () => {
  const script = new URL("../../helpers/png_bomb_peak.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname, "4096", "512"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.match(r.error, /^invalid_image: png: image data inflates past/);
  // 512 MiB of zeros in one IDAT: the old decoder inflated the whole chunk (~+1.6 GiB peak);
  // bounded pieces stop after the declared 48 MiB plus one 4 KiB step's output
  assert.ok(r.peakAfterMiB - r.peakBeforeMiB < 300, JSON.stringify(r));
});

Deno.test("decodeImage() refuses a small bomb in-process with invalid_image", async () => {
  await assert.rejects(decodeImage(pngBomb(64, 8)), (e) => {
    assert.ok(e instanceof ImageError);
    assert.equal(e.code, "invalid_image");
    return true;
  });
});

Deno.test("decodeImage() decodes interlaced 1-, 2- and 4-bit palette PNGs exactly", async () => {
  const palette: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]];
  for (const depth of [1, 2, 4] as const) {
    for (const [w, h] of [[13, 11], [8, 8], [1, 1], [33, 7], [2, 9]] as const) {
      const pick = (x: number, y: number) => (x * 3 + y) % (depth === 1 ? 2 : 4);
      const img = await decodeImage(interlacedPalettePng(w, h, depth, palette, pick));
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * 3;
          assert.deepEqual(
            [...img.data.subarray(o, o + 3)],
            palette[pick(x, y)],
            `${depth} ${w}x${h} ${x},${y}`,
          );
        }
      }
    }
  }
});
