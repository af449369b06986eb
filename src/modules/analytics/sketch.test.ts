import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ALPHA, addToSketch, binOf, binValue, mergeSketches, sketchQuantile, type Sketch } from './sketch.js';

const exact = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)]!;

describe('log-bucket sketch', () => {
  it('estimates every quantile within ALPHA of the exact nearest-rank value', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 1e15 }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q) => {
      const s: Sketch = new Map();
      for (const x of xs) addToSketch(s, x);
      const e = exact(xs, q);
      expect(Math.abs(sketchQuantile(s, q)! - e) / e).toBeLessThanOrEqual(ALPHA + 1e-12);
    }));
  });

  it('merges by adding bins: the merge of two sketches is the sketch of both sets', () => {
    const a: Sketch = new Map(); const b: Sketch = new Map(); const both: Sketch = new Map();
    for (let i = 1; i <= 500; i++) { addToSketch(i % 2 ? a : b, i * 997); addToSketch(both, i * 997); }
    expect(mergeSketches(new Map(a), b)).toEqual(both);
  });

  it('puts each value in the bin whose range holds it, zero in bin -1, and says null when empty', () => {
    for (const v of [1, 2, 1.0202, 99, 100, 250_000_000, 1e18]) {
      const i = binOf(v);
      expect(Math.abs(binValue(i) - v) / v).toBeLessThanOrEqual(ALPHA);
    }
    expect(binOf(0)).toBe(-1);
    expect(binValue(-1)).toBe(0);
    expect(sketchQuantile(new Map(), 0.5)).toBeNull();
  });
});
