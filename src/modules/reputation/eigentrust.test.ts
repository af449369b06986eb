import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildLocalTrust, eigenTrust, localTrustOf, producerWeight, referenceTrust, teleportVector } from './eigentrust.js';

function graph(n: number, edges: [number, number, number][]) {
  const from = Int32Array.from(edges.map((e) => e[0]));
  const to = Int32Array.from(edges.map((e) => e[1]));
  const value = Float64Array.from(edges.map((e) => e[2]));
  return buildLocalTrust(n, edges.length, from, to, value);
}
const opts = (pre: number[]) => ({ preTrusted: pre, alpha: 0.15, tolerance: 1e-12, maxIterations: 1000 });

const edgeArb = (n: number) => fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.double({ min: -1, max: 1, noNaN: true })), { maxLength: 60 });

describe('buildLocalTrust', () => {
  it('rows are normalised, non-negative, drop self-edges and non-positive pairs', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), edgeArb(n))), ([n, edges]) => {
      const lt = graph(n, edges);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let k = lt.rowStart[i]!; k < lt.rowStart[i + 1]!; k++) {
          expect(lt.weight[k]).toBeGreaterThan(0);
          expect(lt.col[k]).not.toBe(i);
          sum += lt.weight[k]!;
        }
        if (lt.dangling[i] === 1) expect(sum).toBe(0);
        else expect(sum).toBeCloseTo(1, 9);
      }
    }));
  });

  it('repeated dealings with one counterparty count less and less (square root)', () => {
    // 0 trades once with 1 and 9 times with 2: c_01 : c_02 = 1 : 3
    const edges: [number, number, number][] = [[0, 1, 1]];
    for (let k = 0; k < 9; k++) edges.push([0, 2, 1]);
    const lt = graph(3, edges);
    expect(localTrustOf(lt, 0, 2) / localTrustOf(lt, 0, 1)).toBeCloseTo(3, 9);
  });

  it('a pair whose experiences sum to <= 0 gives no trust', () => {
    const lt = graph(3, [[0, 1, 1], [0, 1, -1], [0, 2, 0.5]]);
    expect(localTrustOf(lt, 0, 1)).toBe(0);
    expect(localTrustOf(lt, 0, 2)).toBe(1);
  });
});

describe('eigenTrust', () => {
  it('is a probability vector and agents unreachable from the pre-trusted get exactly 0', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 12 }).chain((n) => fc.tuple(fc.constant(n), edgeArb(n))), ([n, edges]) => {
      const lt = graph(n, edges);
      const { trust } = eigenTrust(lt, opts([0]));
      let sum = 0;
      for (const t of trust) {
        expect(t).toBeGreaterThanOrEqual(0);
        sum += t;
      }
      expect(sum).toBeCloseTo(1, 9);
      // reachability from 0 over positive local trust
      const seen = new Set([0]);
      const stack = [0];
      while (stack.length > 0) {
        const i = stack.pop()!;
        for (let k = lt.rowStart[i]!; k < lt.rowStart[i + 1]!; k++) {
          const j = lt.col[k]!;
          if (!seen.has(j)) { seen.add(j); stack.push(j); }
        }
      }
      for (let i = 0; i < n; i++) if (!seen.has(i)) expect(trust[i]).toBe(0);
    }));
  });

  it('solves t = (1 - a) C^T t + a p', () => {
    const lt = graph(4, [[0, 1, 1], [1, 2, 1], [2, 1, 1], [1, 3, 0.5], [3, 0, 1]]);
    const { trust, residual } = eigenTrust(lt, opts([0]));
    expect(residual).toBeLessThan(1e-12);
    const p = teleportVector(4, [0]);
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let i = 0; i < 4; i++) s += trust[i]! * localTrustOf(lt, i, j);
      expect(trust[j]).toBeCloseTo(0.85 * s + 0.15 * p[j]!, 10);
    }
  });

  it('a Sybil ring attached only to itself gets nothing, however large', () => {
    // honest 0 (probe) -> 1 -> 2 -> 1; ring 3..102 trusts each other
    const edges: [number, number, number][] = [[0, 1, 1], [0, 2, 1], [1, 2, 1], [2, 1, 1]];
    for (let i = 3; i < 103; i++) for (let j = 3; j < 103; j++) if (i !== j) edges.push([i, j, 1]);
    const { trust } = eigenTrust(graph(103, edges), opts([0]));
    for (let i = 3; i < 103; i++) expect(trust[i]).toBe(0);
  });

  it('warm start converges to the same vector', () => {
    const lt = graph(5, [[0, 1, 1], [1, 2, 1], [2, 3, 1], [3, 1, 1], [4, 0, 1], [0, 4, 0.2]]);
    const a = eigenTrust(lt, opts([0])).trust;
    const b = eigenTrust(lt, { ...opts([0]), initial: Float64Array.from([0.2, 0.2, 0.2, 0.2, 0.2]) }).trust;
    for (let i = 0; i < 5; i++) expect(b[i]).toBeCloseTo(a[i]!, 9);
  });
});

describe('producerWeight', () => {
  it('is 1 for the pre-trusted, 0 without trust, in [0, 1] otherwise', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 10 }).chain((n) => fc.tuple(fc.constant(n), edgeArb(n))), ([n, edges]) => {
      const lt = graph(n, edges);
      const { trust } = eigenTrust(lt, opts([0]));
      const mask = new Uint8Array(n);
      mask[0] = 1;
      const tau = referenceTrust(trust, mask, 0.5);
      for (let p = 0; p < n; p++) {
        for (let s = 0; s < n; s++) {
          const w = producerWeight(lt, trust, tau, 0.15, mask, p, s);
          if (p === 0) expect(w).toBe(1);
          else if (trust[p] === 0) expect(w).toBe(0);
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThanOrEqual(1);
        }
      }
    }));
  });

  it('splitting one identity into k Sybils never adds total weight (linear below the reference)', () => {
    const trust = Float64Array.from([0.5, 0.01, 0.49]);
    const mask = Uint8Array.from([1, 0, 0]);
    const tau = 0.1;
    const one = producerWeight(undefined, trust, tau, 0.15, mask, 1, 2);
    expect(one).toBe(0); // no local-trust matrix: nothing is known, nothing counts
    const lt = graph(3, [[0, 1, 1], [0, 2, 1]]);
    const w1 = producerWeight(lt, trust, tau, 0.15, mask, 1, 2);
    expect(w1).toBeCloseTo(0.1, 12);
    // the same trust split over 10 identities: 10 * (0.001 / 0.1) = the same 0.1
    expect(10 * (0.001 / tau)).toBeCloseTo(w1, 12);
  });

  it('an agent cannot vouch for itself through the identities it trusts', () => {
    // 0 probe trusts 1; 1 trusts only 2 (its own Sybil): 2's trust comes from 1, so 2's weight about 1 is ~0
    const lt = graph(4, [[0, 1, 1], [0, 3, 1], [1, 2, 1], [3, 0, 1]]);
    const { trust } = eigenTrust(lt, opts([0]));
    const mask = Uint8Array.from([1, 0, 0, 0]);
    const tau = referenceTrust(trust, mask, 0.5);
    expect(trust[2]).toBeGreaterThan(0);
    expect(producerWeight(lt, trust, tau, 0.15, mask, 2, 1)).toBeLessThan(1e-9);
    expect(producerWeight(lt, trust, tau, 0.15, mask, 2, 3)).toBeGreaterThan(0);
  });
});
