/**
 * The project's seeded random numbers: reproducible streams for initial latents, scheduler
 * noise, reparameterisation noise and data augmentation.
 *
 * - Generator: xoshiro128** (Blackman & Vigna 2018), 128-bit state, 32-bit integer arithmetic
 *   only (Math.imul), so the integer stream is the same on every machine and engine.
 * - Uniforms: 53 random bits per double in [0, 1) (two 32-bit outputs, 27 + 26 bits).
 * - Normals: Box–Muller. Each pair of uniforms (u1, u2) gives r·cos θ and r·sin θ with
 *   r = sqrt(-2 ln(1 - u1)), θ = 2π u2; the sine value is cached and returned by the next
 *   `normal()` call. Math.log/cos/sin are software implementations inside V8, so Deno gives the
 *   same values on every OS and CPU; another JavaScript engine may differ in the last bit.
 * - Streams: a stream is named by a 128-bit key. `new Rng(seed)` hashes the seed to a key;
 *   `fork(label)` hashes (key, label) to a child key. A fork depends only on the parent's key and
 *   the label, never on how many values the parent has drawn, so `rng.fork("latents").fork(i)`
 *   names image i's stream whatever else was drawn, in whatever order.
 *
 * The key hash is murmur3's fmix32 chained per 32-bit lane; it is a mixing function, not a
 * cryptographic one: do not use these numbers for secrets.
 * @module
 */

/** murmur3's 32-bit finaliser: a bijection with full avalanche. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const LANE_SALTS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344]; // digits of pi

/** Four independent 32-bit hashes of a word sequence (its length included). */
function hash128(words: readonly number[]): Uint32Array {
  const out = new Uint32Array(4);
  for (let lane = 0; lane < 4; lane++) {
    const salt = LANE_SALTS[lane]!;
    let h = mix32(salt);
    for (const w of words) h = mix32(((h ^ w) + salt) >>> 0);
    out[lane] = mix32((h ^ words.length) >>> 0);
  }
  return out;
}

/** An integer as words: sign, low 32 bits, high 21 bits. */
function integerWords(what: string, x: number): number[] {
  if (!Number.isSafeInteger(x)) throw new Error(`Rng: ${what} must be a safe integer, got ${x}`);
  const a = Math.abs(x);
  return [x < 0 ? 1 : 0, a >>> 0, Math.floor(a / 0x1_0000_0000)];
}

const KEY_SEED = 0x5eed, KEY_NUMBER = 0x1ab1, KEY_STRING = 0x57a1, KEY_STATE = 0xc0de;

/**
 * A reproducible random stream.
 *
 * @example
 * ```ts
 * import { Rng } from "./random.ts";
 * const rng = new Rng(1234);
 * const latents = rng.fork("latents").fork(0).normals(4 * 16 * 16); // image 0's initial noise
 * const u = rng.uniform(); // in [0, 1)
 * console.assert(latents.length === 1024 && u >= 0 && u < 1);
 * ```
 */
export class Rng {
  /** The 128-bit name of this stream (its draws do not change it). */
  readonly #key: Uint32Array;
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spare: number | null = null;

  /**
   * @param seed Any safe integer (negative allowed); equal seeds give equal streams.
   * @throws {Error} If the seed is not a safe integer.
   */
  constructor(seed: number) {
    this.#key = hash128([KEY_SEED, ...integerWords("seed", seed)]);
    const s = hash128([KEY_STATE, ...this.#key]);
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1; // xoshiro's one forbidden state
    [this.#s0, this.#s1, this.#s2, this.#s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
  }

  /** A stream with a given key (used by `fork`). */
  static #fromKey(key: Uint32Array): Rng {
    const rng = new Rng(0);
    rng.#key.set(key);
    const s = hash128([KEY_STATE, ...key]);
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
    [rng.#s0, rng.#s1, rng.#s2, rng.#s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
    return rng;
  }

  /** The next 32-bit output of xoshiro128**, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A standard normal value (Box–Muller; every second call returns the cached partner). */
  normal(): number {
    if (this.#spare !== null) {
      const z = this.#spare;
      this.#spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.#spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** `n` standard normal values as float32 (the same values `normal()` would give, rounded). */
  normals(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Rng: n must be an integer >= 0, got ${n}`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /**
   * An independent child stream named by `label` (a safe integer or a string; 3 and "3" differ).
   * It depends on this stream's key and the label only, not on draws made so far.
   *
   * @example
   * ```ts
   * import { Rng } from "./random.ts";
   * const run = new Rng(7);
   * const a = run.fork("step").fork(3).normal();
   * run.uniform(); // drawing from the parent does not move its forks
   * console.assert(run.fork("step").fork(3).normal() === a);
   * ```
   */
  fork(label: string | number): Rng {
    const words = typeof label === "number"
      ? [KEY_NUMBER, ...integerWords("fork label", label)]
      : [KEY_STRING, ...utf8Words(label)];
    return Rng.#fromKey(hash128([...this.#key, ...words]));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A string's UTF-8 bytes packed little-endian into 32-bit words, byte count first. */
function utf8Words(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  const words = [bytes.length];
  for (let i = 0; i < bytes.length; i += 4) {
    words.push(
      (bytes[i]! | (bytes[i + 1] ?? 0) << 8 | (bytes[i + 2] ?? 0) << 16 |
        (bytes[i + 3] ?? 0) << 24) >>> 0,
    );
  }
  return words;
}
