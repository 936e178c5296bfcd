/**
 * Private numeric helpers that reproduce, value for value, the NumPy and PyTorch (CPU, float32)
 * operations diffusers uses to build noise schedules. Emulating them is what makes our
 * alphas_cumprod, timesteps and sigmas equal to the reference bit for bit, not just close.
 * @module
 */

/** Rounds to float32, as torch and numpy float32 arithmetic does after each operation. */
export const f32 = Math.fround;

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU (torch 1.13, AVX2 build):
 * the step is (float(end) - float(start)) / (steps - 1) in double; the first half counts up from
 * start, the second half down from end; the vectorised loop fills blocks of 16 values as two
 * 8-lane `arange(base, step)` vectors whose bases are rounded to float32; the tail is scalar.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f32(start), e = f32(end);
  const step = (e - s) / (steps - 1);
  const half = Math.floor(steps / 2);
  const at = (i: number) => (i < half ? s + step * i : e - step * (steps - i - 1));
  const lanes = 8;
  const vecEnd = Math.floor(steps / (2 * lanes)) * 2 * lanes;
  for (let i = 0; i < steps; i++) {
    if (i < vecEnd) {
      const base = i - (i % lanes);
      out[i] = f32(at(base)) + (i - base) * step;
    } else {
      out[i] = at(i);
    }
  }
  return out;
}

/** `torch.cumprod` of a float32 tensor on CPU: accumulated in double, each output rounded. */
export function torchCumprodF32(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  let acc = 1;
  for (let i = 0; i < x.length; i++) {
    acc *= x[i]!;
    out[i] = acc;
  }
  return out;
}

/** `np.linspace(start, stop, num)` in float64: `i * step + start`, last value exactly `stop`. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** `np.round` for scalars: round half to even (Math.round rounds half up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `np.interp(x, arange(len(fp)), fp)`: linear interpolation on the integer grid, clamped at both
 * ends, exact at grid points.
 */
export function npInterpUnitGrid(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0]!;
  if (x >= n - 1) return fp[n - 1]!;
  const j = Math.floor(x);
  if (x === j) return fp[j]!;
  const slope = fp[j + 1]! - fp[j]!;
  return slope * (x - j) + fp[j]!;
}

/** `((1 - a) / a) ** 0.5` on a float32 tensor, each operation rounded to float32. */
export function sigmasFromAlphasCumprod(alphasCumprod: ArrayLike<number>): Float32Array {
  const out = new Float32Array(alphasCumprod.length);
  for (let i = 0; i < out.length; i++) {
    const a = alphasCumprod[i]!;
    out[i] = Math.sqrt(f32(f32(1 - a) / a));
  }
  return out;
}
