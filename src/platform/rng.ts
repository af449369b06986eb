/**
 * Small seedable PRNGs. Matching, the simulator, seeded clocks and the benchmarks never call
 * Math.random: callers pass an `Rng`.
 */

/** A source of uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: 32-bit state, fast, good enough for simulation and exploration draws (not crypto). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [0, n) from an Rng. */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Picks one element uniformly; throws on an empty array. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from empty array');
  return items[randomInt(rng, items.length)] as T;
}
