/**
 * A mergeable quantile sketch: a fixed logarithmic histogram (the bin layout of DDSketch). Bin i >= 0 holds
 * the values in (GAMMA^(i-1), GAMMA^i]; values <= 0 go to bin -1 (estimated as 0). Bins are global
 * constants, so two sketches merge by adding counts bin by bin: a bucket's sketch is stored as
 * (bin, count) rows and any range of buckets or cells is a SUM ... GROUP BY bin.
 *
 * Error bound: the estimate of a bin is 2*GAMMA^i/(GAMMA+1), within a relative error ALPHA of every
 * value in the bin; so the q-quantile returned is within ALPHA (1%) of the exact q-quantile of the
 * sketched values, taken by the nearest-rank method (the value at 1-based rank ceil(q * n) in sorted order, the first for q = 0).
 * Pure.
 */
export const ALPHA = 0.01;
export const GAMMA = (1 + ALPHA) / (1 - ALPHA);
const LOG_GAMMA = Math.log(GAMMA);

export function binOf(value: number): number {
  if (!(value > 0)) return -1;
  // ceil(log_gamma(v)), corrected for floating error at the bin edges
  let i = Math.ceil(Math.log(value) / LOG_GAMMA);
  if (GAMMA ** (i - 1) >= value) i--;
  else if (GAMMA ** i < value) i++;
  return i;
}

/** The estimate for every value of bin `i`. */
export function binValue(i: number): number {
  return i < 0 ? 0 : (2 * GAMMA ** i) / (GAMMA + 1);
}

export type Sketch = Map<number, number>;

export function addToSketch(s: Sketch, value: number, n = 1): void {
  const b = binOf(value);
  s.set(b, (s.get(b) ?? 0) + n);
}

export function mergeSketches(into: Sketch, from: Iterable<[number, number]>): Sketch {
  for (const [b, n] of from) into.set(b, (into.get(b) ?? 0) + n);
  return into;
}

export function sketchCount(s: Iterable<[number, number]>): number {
  let n = 0;
  for (const [, c] of s) n += c;
  return n;
}

/** The q-quantile (0..1) estimate, or null for an empty sketch. */
export function sketchQuantile(s: Iterable<[number, number]>, q: number): number | null {
  const bins = [...s].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((t, [, n]) => t + n, 0);
  if (total === 0) return null;
  const rank = Math.max(0, Math.ceil(q * total) - 1);
  let seen = 0;
  for (const [b, n] of bins) {
    seen += n;
    if (seen > rank) return binValue(b);
  }
  return binValue(bins[bins.length - 1]![0]);
}
