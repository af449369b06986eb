import { describe, expect, it } from 'vitest';
import { challengeWeight, selectTargets, type Candidate } from './selection.js';
import { mulberry32 } from '../../platform/rng.js';

const DAY = 86_400_000;
const now = 100 * DAY;
const c = (id: string, o: Partial<Candidate> = {}): Candidate => ({
  sellerId: id, listingId: `l-${id}`, category: 'gpu_compute', pricePerUnit: 50_000_000n, listedAt: now - DAY, observations: 50, score: 500,
  last: { at: now - 2 * DAY, score: 500 }, inFlight: false, ...o,
});
const opts = { count: 3, now, maxPrice: 100_000_000n, cooldownMs: DAY, thinObservations: 10 };

describe('challenge selection', () => {
  it('newcomers first (fewest observations, newest listing), then a sample of the rest', () => {
    const out = selectTargets([c('a'), c('n1', { last: null, observations: 3 }), c('n2', { last: null, observations: 0 }), c('b')], opts, mulberry32(1));
    expect(out.map((x) => x.sellerId).slice(0, 2)).toEqual(['n2', 'n1']);
    expect(out.map((x) => x.reason)).toEqual(['newcomer', 'newcomer', 'sample']);
  });

  it('leaves out what it cannot afford, what is in flight and what was challenged within the cooldown; one listing per seller', () => {
    const out = selectTargets([
      c('dear', { pricePerUnit: 200_000_000n }), c('busy', { inFlight: true }), c('recent', { last: { at: now - 3600_000, score: 500 } }),
      c('two', { listingId: 'x2', pricePerUnit: 80_000_000n }), c('two', { listingId: 'x1', pricePerUnit: 60_000_000n }),
    ], { ...opts, count: 10 }, mulberry32(1));
    expect(out.map((x) => [x.sellerId, x.listingId])).toEqual([['two', 'x1']]);
  });

  it('samples thin and recently changed records more often', () => {
    const w = (o: Partial<Candidate>) => challengeWeight(c('x', o), opts);
    expect(w({ observations: 0 })).toBeGreaterThan(w({ observations: 50 }));
    expect(w({ score: 700 })).toBeGreaterThan(w({ score: 505 }));
    const counts: Record<string, number> = { thin: 0, steady: 0, moved: 0 };
    const rng = mulberry32(3);
    for (let i = 0; i < 3000; i++) {
      const [x] = selectTargets([c('thin', { observations: 1 }), c('steady'), c('moved', { score: 650 })], { ...opts, count: 1 }, rng);
      counts[x!.sellerId]!++;
    }
    expect(counts.thin!).toBeGreaterThan(counts.steady! * 1.5);
    expect(counts.moved!).toBeGreaterThan(counts.steady! * 1.5);
  });

  it('tops up thin records: a thin record is eligible after the thin cooldown and comes before the sample, most uncertain first', () => {
    const o = { ...opts, count: 3, cooldownMs: 2 * DAY, thinCooldownMs: DAY / 2 };
    const cands = [
      c('thick', { observations: 50, last: { at: now - 3 * DAY, score: 500 } }),
      c('thin7', { observations: 7, last: { at: now - DAY, score: 500 } }),
      c('thin3', { observations: 3, last: { at: now - DAY, score: 500 } }),
      c('thinRecent', { observations: 2, last: { at: now - 3600_000, score: 500 } }),
      c('thickRecent', { observations: 50, last: { at: now - DAY, score: 500 } }),
    ];
    const out = selectTargets(cands, o, mulberry32(1));
    expect(out.map((x) => [x.sellerId, x.reason])).toEqual([['thin3', 'thin'], ['thin7', 'thin'], ['thick', 'sample']]);
    // without a thin cooldown the thin records wait the ordinary cooldown
    expect(selectTargets(cands, { ...o, thinCooldownMs: undefined }, mulberry32(1)).map((x) => x.sellerId)).toEqual(['thick']);
  });
});
