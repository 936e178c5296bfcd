/**
 * Subprocess of the PNG-bomb test (and the README figure): decodes a crafted PNG declaring
 * SIDE x SIDE RGB whose IDAT inflates to MIB MiB, and prints one JSON line with the error and
 * the process's peak RSS (VmHWM) before and after, in MiB.
 *
 *     deno run -A tests/helpers/png_bomb_peak.ts 4096 1024
 */
import { decodeImage } from "../../core/images/decode.ts";
import { pngBomb } from "./png_craft.ts";

const hwm = () =>
  Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? NaN) / 1024;

const bomb = pngBomb(Number(Deno.args[0] ?? 4096), Number(Deno.args[1] ?? 1024));
const before = hwm();
const t0 = performance.now();
let error = "";
try {
  await decodeImage(bomb);
} catch (e) {
  error = `${(e as { code?: string }).code}: ${(e as Error).message}`;
}
console.log(JSON.stringify({
  fileKiB: Math.round(bomb.length / 1024),
  error,
  peakBeforeMiB: Math.round(before),
  peakAfterMiB: Math.round(hwm()),
  ms: Math.round(performance.now() - t0),
}));
