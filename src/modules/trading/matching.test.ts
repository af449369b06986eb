import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONSTRAINTS, DEFAULT_NEWCOMER, FACTORS, ListingIndex, explainListing, matchListings } from './matching.js';
import type { MatchOptions, MatchResult } from './matching.js';
import { mulberry32 } from './rng.js';
import { NOW, listingArb, listingsArb, requestArb } from './test-fixtures.js';
import type { Listing, TradeRequest } from './trading.types.js';

const DAY = 24 * 3600 * 1000;
const opts: MatchOptions = { now: NOW };

/** Independent oracle of the hard constraints (deliberately not sharing code with the engine). */
function violations(req: TradeRequest, l: Listing, now: number): string[] {
  const v: string[] = [];
  if (l.category !== req.category) v.push('category');
  if (l.status !== 'active') v.push('status');
  if (now < l.validFrom || now >= l.validUntil) v.push('validity');
  if (l.sellerId === req.buyerId) v.push('own');
  const s = req.spec;
  if (s.modelName !== undefined && s.modelName !== l.spec.modelName) v.push('model');
  if (s.acceptedGpuModels && !s.acceptedGpuModels.some((m) => m === l.spec.gpuModel)) v.push('gpu');
  if (s.minVramGb !== undefined && (l.spec.vramGb === undefined || l.spec.vramGb < s.minVramGb)) v.push('vram');
  if (s.minGpuCount !== undefined && (l.spec.gpuCount === undefined || l.spec.gpuCount < s.minGpuCount)) v.push('n');
  if (s.minContextSize !== undefined && (l.spec.contextSize === undefined || l.spec.contextSize < s.minContextSize)) {
    v.push('ctx');
  }
  if (l.capacityTotal - l.capacityReserved < req.quantity) v.push('capacity');
  if (l.pricePerUnit > req.budgetMax) v.push('budget');
  if (req.excludedRegions?.includes(l.region)) v.push('excluded');
  if (req.allowedRegions && !req.allowedRegions.includes(l.region)) v.push('allowed');
  if (req.maxLatencyMs !== undefined && l.sla.maxLatencyMs > req.maxLatencyMs) v.push('latency');
  if (req.minTrustScore !== undefined && l.sellerTrust < req.minTrustScore) v.push('trust');
  return v;
}

function summary(r: MatchResult) {
  return {
    ids: r.candidates.map((c) => c.listingId),
    scores: r.candidates.map((c) => c.score),
    explored: r.candidates.map((c) => c.viaExploration),
    exploration: r.exploration,
    diagnostics: r.diagnostics,
  };
}

/** The index may prune (qualified is then a lower bound, at least `limit`); otherwise counts are equal. */
function expectQualified(array: MatchResult, index: MatchResult, limit = 5) {
  expect(array.qualifiedExact).toBe(true);
  if (index.qualifiedExact) {
    expect(index.qualified).toBe(array.qualified);
  } else {
    expect(index.qualified).toBeLessThanOrEqual(array.qualified);
    expect(index.qualified).toBeGreaterThanOrEqual(limit);
  }
}

function base(over: Partial<Listing> = {}): Listing {
  return {
    id: 'L1',
    sellerId: 's1',
    category: 'gpu_compute',
    spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 },
    unit: 'gpu_hour',
    pricePerUnit: 200_000_000n,
    capacityTotal: 100,
    capacityReserved: 0,
    region: 'eu-west',
    sla: { availability: 0.99, maxLatencyMs: 50 },
    validFrom: NOW - DAY,
    validUntil: NOW + DAY,
    status: 'active',
    sellerTrust: 500,
    sellerCreatedAt: NOW - 365 * DAY,
    sellerCompletedTrades: 100,
    ...over,
  };
}

const request: TradeRequest = {
  id: 'R1',
  buyerId: 'b1',
  category: 'gpu_compute',
  spec: { minVramGb: 40 },
  quantity: 10,
  budgetMax: 300_000_000n,
  deadline: NOW + DAY,
  urgency: 'normal',
};

describe('matchListings: hard constraints and ranking (property)', () => {
  it('never returns a listing that violates a hard constraint, and returns exactly the top qualified', () => {
    fc.assert(
      fc.property(requestArb, listingsArb(), (req, listings) => {
        const r = matchListings(req, listings, opts);
        for (const c of r.candidates) expect(violations(req, c.listing, NOW)).toEqual([]);
        const qualified = listings.filter((l) => violations(req, l, NOW).length === 0);
        expect(r.qualified).toBe(qualified.length);
        expect(r.candidates.length).toBe(Math.min(5, qualified.length));
        // no qualified listing left out scores strictly higher than the last returned one
        const last = r.candidates.at(-1);
        if (last) {
          const chosen = new Set(r.candidates.map((c) => c.listingId));
          for (const l of qualified) {
            if (!chosen.has(l.id)) expect(explainListing(req, l, opts).score!).toBeLessThanOrEqual(last.score);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('scores are in [0,1], equal their breakdown sums, and ranking follows them', () => {
    fc.assert(
      fc.property(requestArb, listingsArb(), (req, listings) => {
        const r = matchListings(req, listings, opts);
        r.candidates.forEach((c, i) => {
          expect(c.rank).toBe(i + 1);
          expect(c.score).toBeGreaterThanOrEqual(0);
          expect(c.score).toBeLessThanOrEqual(1 + 1e-12);
          const sum = FACTORS.reduce((s, f) => s + c.breakdown[f].contribution, 0);
          expect(Math.abs(sum - c.score)).toBeLessThan(1e-12);
          for (const f of FACTORS) {
            const b = c.breakdown[f];
            expect(b.raw).toBeGreaterThanOrEqual(0);
            expect(b.raw).toBeLessThanOrEqual(1);
            expect(b.contribution).toBeCloseTo(b.raw * b.weight, 12);
          }
          const prev = r.candidates[i - 1];
          if (prev) expect(prev.score).toBeGreaterThanOrEqual(c.score);
        });
        const wsum = FACTORS.reduce((s, f) => s + r.weights[f], 0);
        expect(wsum).toBeCloseTo(1, 12);
      }),
      { numRuns: 200 },
    );
  });

  it('diagnostics counts add up to the eliminated listings and attribute the first failing constraint', () => {
    fc.assert(
      fc.property(requestArb, listingsArb(), (req, listings) => {
        const r = matchListings(req, listings, { now: NOW, diagnostics: 'always' });
        const d = r.diagnostics!;
        const sum = CONSTRAINTS.reduce((s, c) => s + d.byConstraint[c], 0);
        expect(d.total).toBe(listings.length);
        expect(d.eliminated).toBe(listings.length - r.qualified);
        expect(sum).toBe(d.eliminated);
        // category count is exact; and first-failing attribution matches explainListing
        expect(d.byConstraint.category).toBe(listings.filter((l) => l.category !== req.category).length);
        for (const c of CONSTRAINTS) {
          expect(d.byConstraint[c]).toBe(listings.filter((l) => explainListing(req, l, opts).failed === c).length);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('ListingIndex', () => {
  it('gives the same results as matchListings on the same listings (property)', () => {
    fc.assert(
      fc.property(requestArb, listingsArb(80), fc.integer(), fc.constantFrom(0, 0.5, 1), (req, listings, seed, share) => {
        const idx = ListingIndex.from(listings);
        const o: MatchOptions = { now: NOW, explorationShare: share, diagnostics: 'auto' };
        const a = matchListings(req, listings, { ...o, rng: mulberry32(seed) });
        const b = idx.match(req, { ...o, rng: mulberry32(seed) });
        expect(summary(b)).toEqual(summary(a));
        expect(b.candidates.map((c) => c.breakdown)).toEqual(a.candidates.map((c) => c.breakdown));
        expectQualified(a, b);
        const exact = idx.match(req, { ...o, exactCount: true, rng: mulberry32(seed) });
        expect(exact.qualifiedExact).toBe(true);
        expect(exact.qualified).toBe(a.qualified);
        expect(summary(exact)).toEqual(summary(a));
      }),
      { numRuns: 300 },
    );
  });

  it('stays equal to the array after random updates and removals (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('upsert' as const), i: fc.nat(40), l: listingArb('tmp') }),
      fc.record({ kind: fc.constant('remove' as const), i: fc.nat(40) }),
    );
    fc.assert(
      fc.property(requestArb, listingsArb(40), fc.array(op, { maxLength: 40 }), (req, listings, ops) => {
        const idx = ListingIndex.from(listings);
        const byId = new Map(listings.map((l) => [l.id, l]));
        for (const o of ops) {
          const id = `L${String(o.i).padStart(3, '0')}`;
          if (o.kind === 'remove') {
            expect(idx.remove(id)).toBe(byId.delete(id));
          } else {
            const l = { ...o.l, id };
            idx.upsert(l);
            byId.set(id, l);
          }
        }
        expect(idx.size).toBe(byId.size);
        const a = matchListings(req, [...byId.values()], { now: NOW, diagnostics: 'always' });
        const b = idx.match(req, { now: NOW, diagnostics: 'always' });
        expect(summary(b)).toEqual(summary(a));
        expect(b.qualified).toBe(a.qualified);
        const pruned = idx.match(req, { now: NOW });
        expect(summary(pruned).ids).toEqual(summary(a).ids);
        expectQualified(a, pruned);
      }),
      { numRuns: 200 },
    );
  });

  it('supports get/has/add/update/remove', () => {
    const idx = new ListingIndex();
    idx.add(base());
    expect(() => idx.add(base())).toThrow();
    expect(() => idx.update(base({ id: 'nope' }))).toThrow();
    idx.update(base({ region: 'us-east', pricePerUnit: 1n }));
    expect(idx.get('L1')?.region).toBe('us-east');
    expect(idx.match(request, opts).candidates[0]?.pricePerUnit).toBe(1n);
    expect(idx.remove('L1')).toBe(true);
    expect(idx.remove('L1')).toBe(false);
    expect(idx.has('L1')).toBe(false);
    expect(idx.match(request, opts).candidates).toEqual([]);
  });

  it('compares prices above 2^53 exactly at the budget boundary', () => {
    const budget = 2n ** 60n + 1n;
    const listings = [base({ id: 'a', pricePerUnit: budget }), base({ id: 'b', pricePerUnit: budget + 1n })];
    const req = { ...request, budgetMax: budget };
    expect(Number(budget)).toBe(Number(budget + 1n)); // same float: the index must fall back to bigint
    expect(ListingIndex.from(listings).match(req, opts).candidates.map((c) => c.listingId)).toEqual(['a']);
    expect(matchListings(req, listings, opts).candidates.map((c) => c.listingId)).toEqual(['a']);
  });
});

describe('diagnostics sentence', () => {
  it('explains why nothing matched, largest cause first', () => {
    const listings: Listing[] = [];
    for (let i = 0; i < 312; i++) listings.push(base({ id: `v${i}`, spec: { gpuModel: 'T4', vramGb: 16 } }));
    for (let i = 0; i < 41; i++) listings.push(base({ id: `p${i}`, pricePerUnit: 400_000_000n }));
    for (let i = 0; i < 7; i++) listings.push(base({ id: `c${i}`, category: 'inference' }));
    listings.push(base({ id: 'own', sellerId: 'b1' }));
    const r = matchListings(request, listings, opts);
    expect(r.candidates).toEqual([]);
    expect(r.diagnostics?.byConstraint).toMatchObject({ min_vram: 312, budget: 41, category: 7, own_listing: 1 });
    expect(r.diagnostics?.message).toBe(
      'no match: 312 listings below min VRAM, 41 over budget, 1 are your own (of 354 gpu_compute listings; 7 in other categories)',
    );
    expect(ListingIndex.from(listings).match(request, opts).diagnostics).toEqual(r.diagnostics);
  });

  it('reports "only N matches" when fewer than the limit qualify, and no diagnostics when enough do', () => {
    const few = [base({ id: 'a' }), base({ id: 'b', status: 'paused' })];
    expect(matchListings(request, few, opts).diagnostics?.message).toMatch(/^only 1 match: 1 listing not active/);
    const many = Array.from({ length: 6 }, (_, i) => base({ id: `m${i}` }));
    expect(matchListings(request, many, opts).diagnostics).toBeNull();
  });
});

describe('ranking weights', () => {
  const cheapLowTrust = base({ id: 'cheap', pricePerUnit: 50_000_000n, sellerTrust: 100 });
  const dearHighTrust = base({ id: 'dear', pricePerUnit: 250_000_000n, sellerTrust: 990 });
  it('price-only weights pick the cheapest; reputation-only weights pick the most trusted', () => {
    const w0 = { price: 0, spec: 0, reputation: 0, regionLatency: 0, capacity: 0, sla: 0 };
    const byPrice = matchListings(request, [dearHighTrust, cheapLowTrust], { now: NOW, weights: { ...w0, price: 1 } });
    expect(byPrice.candidates.map((c) => c.listingId)).toEqual(['cheap', 'dear']);
    const byRep = matchListings(request, [cheapLowTrust, dearHighTrust], { now: NOW, weights: { ...w0, reputation: 1 } });
    expect(byRep.candidates.map((c) => c.listingId)).toEqual(['dear', 'cheap']);
    expect(byRep.candidates[0]?.breakdown.reputation).toEqual({ raw: 0.99, weight: 1, contribution: 0.99 });
  });
  it('rejects invalid weights and options', () => {
    expect(() => matchListings(request, [], { now: NOW, weights: { price: -1 } })).toThrow(RangeError);
    expect(() => matchListings(request, [], { now: NOW, explorationShare: 0.1 })).toThrow(/rng/);
    expect(() => matchListings({ ...request, quantity: 0 }, [], opts)).toThrow(RangeError);
  });
  it('prefers earlier accepted GPU models and allowed regions', () => {
    const req: TradeRequest = { ...request, spec: { acceptedGpuModels: ['H100', 'A100'] }, allowedRegions: ['us-east', 'eu-west'] };
    const r = matchListings(req, [base({ id: 'a100' }), base({ id: 'h100', spec: { gpuModel: 'H100' }, region: 'us-east' })], opts);
    expect(r.candidates.map((c) => c.listingId)).toEqual(['h100', 'a100']);
    expect(r.candidates[0]?.breakdown.spec.raw).toBe(1);
    expect(r.candidates[1]?.breakdown.spec.raw).toBe(0.5);
  });
});

describe('exploration', () => {
  // 10 established sellers with high trust, 3 newcomers with low trust
  const market = [
    ...Array.from({ length: 10 }, (_, i) => base({ id: `old${i}`, sellerId: `o${i}`, sellerTrust: 900 + i })),
    ...Array.from({ length: 3 }, (_, i) =>
      base({ id: `new${i}`, sellerId: `n${i}`, sellerTrust: 300 + i, sellerCreatedAt: NOW - DAY, sellerCompletedTrades: 0 }),
    ),
  ];

  it('is deterministic for a seed', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = matchListings(request, market, { now: NOW, explorationShare: 0.3, rng: mulberry32(seed) });
      const b = ListingIndex.from(market).match(request, { now: NOW, explorationShare: 0.3, rng: mulberry32(seed) });
      expect(summary(b)).toEqual(summary(a));
      expect(a.exploration.roll).toBe(mulberry32(seed)());
    }
  });

  it('gives the last slot to the best newcomer when triggered, and says so', () => {
    const r = matchListings(request, market, { now: NOW, explorationShare: 1, rng: mulberry32(1) });
    expect(r.exploration.triggered).toBe(true);
    expect(r.exploration.listingId).toBe('new2');
    expect(r.candidates.map((c) => c.listingId)).toEqual(['old9', 'old8', 'old7', 'old6', 'new2']);
    expect(r.candidates.map((c) => c.viaExploration)).toEqual([false, false, false, false, true]);
    expect(r.candidates[4]?.newcomer).toBe(true);
  });

  it('triggers in roughly `share` of queries and never without a draw below share', () => {
    const rng = mulberry32(42);
    let hits = 0;
    for (let i = 0; i < 1000; i++) {
      const r = matchListings(request, market, { now: NOW, explorationShare: 0.1, rng });
      expect(r.exploration.triggered).toBe(r.exploration.roll! < 0.1);
      if (r.exploration.listingId) hits++;
    }
    expect(hits).toBeGreaterThan(60);
    expect(hits).toBeLessThan(140);
  });

  it('explores only good newcomers: young, without a record, and with at least the newcomer trust floor', () => {
    const olds = market.slice(0, 10);
    const young = { sellerCreatedAt: NOW - DAY };
    // cheaper than everyone, so each would win the slot if it were eligible
    const busy = base({ id: 'busy', sellerId: 'b0', sellerTrust: 400, sellerCompletedTrades: 50, pricePerUnit: 100_000_000n, ...young });
    const unproven = base({ id: 'unproven', sellerId: 'u0', sellerTrust: DEFAULT_NEWCOMER.minTrust - 1, sellerCompletedTrades: 0, pricePerUnit: 100_000_000n, ...young });
    const good = base({ id: 'good', sellerId: 'g0', sellerTrust: DEFAULT_NEWCOMER.minTrust, sellerCompletedTrades: 1, ...young });
    const unknownCount: Listing = { ...base({ id: 'unknown', sellerId: 'k0', sellerTrust: 60, ...young }), sellerCompletedTrades: undefined };
    const runBoth = (ls: Listing[]) => {
      const o = { now: NOW, explorationShare: 1 } as const;
      const a = matchListings(request, ls, { ...o, rng: mulberry32(5) });
      const b = ListingIndex.from(ls).match(request, { ...o, rng: mulberry32(5) });
      expect(summary(b)).toEqual(summary(a));
      return a;
    };
    expect(runBoth([...olds, busy, unproven]).exploration.listingId).toBeNull();
    const r = runBoth([...olds, busy, unproven, good]);
    expect(r.exploration.listingId).toBe('good');
    expect(r.candidates.find((c) => c.listingId === 'busy')?.newcomer ?? false).toBe(false);
    // a young seller whose trade count is unknown counts as having none
    expect(runBoth([...olds, unknownCount]).exploration.listingId).toBe('unknown');
  });

  it('does nothing when there is no newcomer, and makes no draw when share is 0', () => {
    const olds = market.slice(0, 10);
    const r = matchListings(request, olds, { now: NOW, explorationShare: 1, rng: mulberry32(3) });
    expect(r.exploration).toMatchObject({ triggered: true, listingId: null });
    expect(r.candidates.every((c) => !c.viaExploration)).toBe(true);
    expect(matchListings(request, market, opts).exploration.roll).toBeNull();
  });
});
