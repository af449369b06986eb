import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hhi, median, quantile, ranks, spearman } from './stats.js';
import { attackChecks, computeMetrics, successMetrics, type SimAgentRecord, type SimTradeRecord } from './metrics.js';
import { renderHtml } from './report-html.js';

describe('stats', () => {
  it('quantiles by nearest rank, medians, tie-averaged ranks', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('Spearman is 1 for any monotone relation, -1 reversed, in [-1, 1] always', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: -1e5, max: 1e5 }), { minLength: 3, maxLength: 50 }), (xs) => {
      expect(spearman(xs, xs.map((x) => x ** 3 + 7))).toBeCloseTo(1, 9);
      expect(spearman(xs, xs.map((x) => -x))).toBeCloseTo(-1, 9);
    }));
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer(), fc.integer()), { minLength: 3, maxLength: 40 }), (pairs) => {
      const r = spearman(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
      if (!Number.isNaN(r)) expect(Math.abs(r)).toBeLessThanOrEqual(1 + 1e-12);
    }));
  });

  it('HHI is 10,000 for a monopoly and 10,000/n for n equal sellers', () => {
    expect(hhi([42])).toBe(10000);
    expect(hhi([1, 1, 1, 1])).toBeCloseTo(2500, 9);
    expect(hhi([])).toBe(0);
  });
});

describe('market metrics', () => {
  const trade = (i: number, o: Partial<SimTradeRecord>): SimTradeRecord => ({
    id: `t${i}`, day: i % 10, buyerId: `b${i % 3}`, sellerId: `s${i % 4}`, region: 'eu-west', category: 'inference', unitPrice: 1,
    amount: 10, outcome: 'released', settlementMs: 100 + i, sellerMalicious: false, ...o,
  });

  it('measures spread from regional medians, ignoring thin regions and failed trades', () => {
    const trades = [
      ...Array.from({ length: 30 }, (_, i) => trade(i, { region: 'eu-west', unitPrice: 1.0 })),
      ...Array.from({ length: 30 }, (_, i) => trade(100 + i, { region: 'us-east', unitPrice: 1.04 })),
      ...Array.from({ length: 5 }, (_, i) => trade(200 + i, { region: 'ap-south', unitPrice: 9 })),
      ...Array.from({ length: 40 }, (_, i) => trade(300 + i, { region: 'us-east', unitPrice: 50, outcome: 'failed' })),
    ];
    const m = computeMetrics({ requests: [], trades, agents: [], days: 10 });
    expect(m.priceSpread.byCategory.inference!.regions).toEqual({ 'eu-west': 1, 'us-east': 1.04 });
    expect(m.priceSpread.max).toBeCloseTo(0.04 / 1.02, 9);
  });

  it('counts matching, retention, concentration and malicious routing from the records', () => {
    const m = computeMetrics({
      requests: [
        { id: 'r1', day: 0, buyerId: 'b', region: 'eu-west', category: 'inference', candidates: 5, agreed: true },
        { id: 'r2', day: 0, buyerId: 'b', region: 'eu-west', category: 'inference', candidates: 2, agreed: false },
        { id: 'r3', day: 0, buyerId: 'b', region: 'eu-west', category: 'inference', candidates: 0, agreed: false },
        { id: 'r4', day: 0, buyerId: 'b', region: 'eu-west', category: 'inference', candidates: 1, agreed: true },
      ],
      trades: [trade(1, { sellerId: 'a', amount: 30 }), trade(2, { sellerId: 'b', amount: 10, sellerMalicious: true })],
      agents: [
        { id: 'x', role: 'provider', malicious: false, trueQuality: 0.9, trustScore: 800, activeDays: [0, 29] },
        { id: 'y', role: 'provider', malicious: false, trueQuality: 0.5, trustScore: 500, activeDays: [1] },
        { id: 'z', role: 'provider', malicious: true, trueQuality: 0.1, trustScore: 200, activeDays: [2, 25] },
      ],
      days: 30,
    });
    expect(m.matchRate).toBe(0.75);
    expect(m.fillRate).toBe(0.5);
    expect(m.retention).toBeCloseTo(2 / 3, 9);
    expect(m.hhi).toBeCloseTo(75 ** 2 + 25 ** 2, 6);
    expect(m.maliciousShare).toBe(0.5);
    // every trade is between two agents
    expect(m.agentToAgentShare).toBe(1);
    expect(m.trustQualitySpearman).toBeCloseTo(1, 9);
    const s = successMetrics(m, { apiP99Ms: 12 });
    expect(s.find((x) => x.name === 'Requests matched')).toMatchObject({ value: 75, met: false });
    expect(s.find((x) => x.name === 'API response p99')).toMatchObject({ met: true });
    // all trades in one region: the spread cannot be measured, and is not "0%, met"
    expect(s.find((x) => x.name === 'Price spread across regions')).toMatchObject({ value: null, met: null, reason: expect.stringMatching(/two regions/) });
  });

  it('judges routing on jobs the market routed, not on attackers trading among themselves', () => {
    const m = computeMetrics({
      requests: [],
      trades: [trade(1, {}), trade(2, { sellerMalicious: true, routed: false }), trade(3, { sellerMalicious: true, routed: false })],
      agents: [], days: 10,
    });
    expect(m.trades).toBe(3);
    expect(m.maliciousShare).toBe(0);
    expect(m.agentToAgentShare).toBe(1);
  });

  it('counts routing from the day attackers joined, and says per kind where the jobs went', () => {
    const m = computeMetrics({
      requests: [],
      trades: [
        trade(1, { day: 0, sellerKind: 'honest' }), trade(2, { day: 0, sellerKind: 'honest' }),
        trade(3, { day: 5, sellerKind: 'spoofer', sellerMalicious: true }), trade(4, { day: 6, sellerKind: 'honest' }),
        trade(5, { day: 6, sellerKind: 'honest' }), trade(6, { day: 7, sellerKind: 'honest' }),
        trade(7, { day: 7, sellerKind: 'wash', sellerMalicious: true, routed: false }),
      ],
      agents: [
        { id: 's0', role: 'provider', kind: 'honest', malicious: false, trueQuality: 0.9, trustScore: 600, activeDays: [0] },
        { id: 's1', role: 'provider', kind: 'honest', malicious: false, trueQuality: 0.8, trustScore: 400, activeDays: [0] },
        { id: 's2', role: 'provider', kind: 'spoofer', malicious: true, trueQuality: 0.05, trustScore: 0, activeDays: [5] },
      ],
      days: 10, attackFromDay: 5,
    });
    expect(m.maliciousShare).toBe(0.25);
    expect(m.byKind.honest).toEqual({ providers: 2, medianTrust: 500, maxTrust: 600, jobShare: 0.75 });
    expect(m.byKind.spoofer).toEqual({ providers: 1, medianTrust: 0, maxTrust: 0, jobShare: 0.25 });
    expect(computeMetrics({ requests: [], trades: [trade(1, { day: 0, sellerMalicious: true }), trade(2, { day: 9 })], agents: [], days: 10 }).maliciousShare).toBe(0.5);
  });

  it('checks the reputation benchmark\'s targets: malicious routing, rings below honest, the honest ranking against a control', () => {
    const agents = [
      { id: 's0', role: 'provider' as const, kind: 'honest', malicious: false, trueQuality: 0.95, trustScore: 500, activeDays: [0] },
      { id: 's1', role: 'provider' as const, kind: 'honest', malicious: false, trueQuality: 0.9, trustScore: 300, activeDays: [0] },
      { id: 's2', role: 'provider' as const, kind: 'unreliable', malicious: false, trueQuality: 0.6, trustScore: 100, activeDays: [0] },
      { id: 's3', role: 'provider' as const, kind: 'wash', malicious: true, trueQuality: 0.3, trustScore: 350, activeDays: [0] },
      { id: 's4', role: 'provider' as const, kind: 'sybil_rater', malicious: true, trueQuality: 0.3, trustScore: 450, activeDays: [0] },
    ];
    const m = computeMetrics({ requests: [], trades: [trade(1, { sellerKind: 'honest' }), trade(2, { sellerKind: 'wash', sellerMalicious: true })], agents, days: 10 });
    // rings (wash and Sybil together) median 400, honest median 400: not below
    expect(m.medianTrust).toEqual({ honest: 400, rings: 400 });
    expect(m.honestTrustQualitySpearman).toBe(1);
    const [routed, rings, ranking] = attackChecks(m, { honestTrustQualitySpearman: 1 });
    expect(routed).toMatchObject({ value: 50, met: false });
    expect(rings).toMatchObject({ value: 0, met: false });
    expect(ranking).toMatchObject({ value: 0, met: true });
    expect(attackChecks(m, { honestTrustQualitySpearman: 1.06 })[2]).toMatchObject({ met: false });
    // without a control run the ranking is not judged
    expect(attackChecks(m, null)).toHaveLength(2);
    const lower = computeMetrics({ requests: [], trades: [], agents: agents.map((a) => (a.kind === 'sybil_rater' ? { ...a, trustScore: 10 } : a)), days: 10 });
    expect(attackChecks(lower, null)[1]).toMatchObject({ value: 180 - 400, met: true });
  });

  it('renders a self-contained HTML page with no scripts and escaped text', () => {
    const m = computeMetrics({ requests: [], trades: [trade(1, {})], agents: [], days: 3 });
    const html = renderHtml({
      scenario: '<baseline>', seed: 1, agents: 10, days: 3, metrics: m, success: successMetrics(m, { apiP99Ms: null }),
      trustVsQuality: [[0.5, 500]], settlementHistogram: [{ leMs: 100, count: 0 }, { leMs: 1000, count: 1 }], ledger: { ok: true, violations: [] },
    });
    expect(html).toContain('&lt;baseline&gt;');
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html).toContain('<svg');
    // the rows the run could not measure say so, with the reason
    expect(html).toMatch(/not measured \(no category had 20\+ trades in each of two regions/);
    expect(html).toMatch(/Monthly agent retention.*\n.*not measured \(needs a run of at least 60 days/);
  });
});

describe('success metrics: what the run measured, judged against the plan', () => {
  const trade = (i: number, o: Partial<SimTradeRecord>): SimTradeRecord => ({
    id: `t${i}`, day: i % 2, buyerId: `b${i % 2}`, sellerId: `s${i % 2}`, region: 'eu-west', category: 'inference', unitPrice: 1,
    amount: 10, outcome: 'released', settlementMs: 100, sellerMalicious: false, buyerCountry: 'IE', sellerCountry: 'IE', ...o,
  });
  const agent = (id: string, days: number[], o: Partial<SimAgentRecord> = {}): SimAgentRecord =>
    ({ id, role: id.startsWith('s') ? 'provider' : 'buyer', malicious: false, activeDays: days, country: 'IE', ...o });

  it('the price spread is not measured, with the reason, when no category trades in two regions', () => {
    const trades = Array.from({ length: 50 }, (_, i) => trade(i, {}));
    const m = computeMetrics({ requests: [], trades, agents: [], days: 3 });
    expect(m.priceSpread.max).toBeNull();
    expect(m.priceSpread.reason).toMatch(/no category had 20\+ trades in each of two regions/);
    const row = successMetrics(m, { apiP99Ms: 5 }).find((x) => x.name === 'Price spread across regions')!;
    expect(row).toMatchObject({ value: null, met: null });
    expect(row.reason).toMatch(/two regions/);
    // with a second region it is measured (and can fail)
    const two = computeMetrics({ requests: [], trades: [...trades, ...Array.from({ length: 20 }, (_, i) => trade(100 + i, { region: 'us-east', unitPrice: 1.5 }))], agents: [], days: 3 });
    expect(successMetrics(two, { apiP99Ms: 5 }).find((x) => x.name === 'Price spread across regions')).toMatchObject({ met: false });
  });

  it('retention is not measured for a short run; weekly needs 14 days, monthly 60', () => {
    const agents = [agent('b0', [0, 1, 2]), agent('b1', [0])];
    const short = computeMetrics({ requests: [], trades: [], agents, days: 3 });
    expect(short.retention).toBeNull();
    expect(short.monthlyRetention).toBeNull();
    const row = successMetrics(short, { apiP99Ms: 5, days: 3 }).find((x) => x.name === 'Monthly agent retention')!;
    expect(row).toMatchObject({ value: null, met: null });
    expect(row.reason).toMatch(/at least 60 days.*this run had 3/);
    const twoWeeks = computeMetrics({ requests: [], trades: [], agents: [agent('b0', [0, 13]), agent('b1', [0])], days: 14 });
    expect(twoWeeks.retention).toBe(0.5);
    expect(twoWeeks.monthlyRetention).toBeNull();
    const long = computeMetrics({ requests: [], trades: [], agents: [agent('b0', [0, 45]), agent('b1', [5, 59]), agent('b2', [29]), agent('b3', [30])], days: 60 });
    // active in days 1-30: b0, b1, b2; again in days 31-60: b0, b1
    expect(long.monthlyRetention).toBeCloseTo(2 / 3, 9);
    expect(successMetrics(long, { apiP99Ms: 5, days: 60 }).find((x) => x.name === 'Monthly agent retention')).toMatchObject({ value: expect.closeTo(200 / 3, 9), met: false });
  });

  it('counts active agents (requested or traded) instead of echoing how many were registered', () => {
    const m = computeMetrics({
      requests: [{ id: 'r1', day: 0, buyerId: 'b2', region: 'eu-west', category: 'inference', candidates: 0, agreed: false }],
      trades: [trade(1, { buyerId: 'b0', sellerId: 's0' })],
      agents: [agent('b0', [0]), agent('s0', [0], { country: 'US' }), agent('b1', []), agent('b2', [], { country: 'JP' }), agent('s1', [])],
      days: 3,
    });
    expect(m.registeredAgents).toBe(5);
    expect(m.activeAgents).toBe(3);
    expect(m.countries).toBe(3);
    const row = successMetrics(m, { apiP99Ms: 5 }).find((x) => x.name === 'Active agents')!;
    expect(row).toMatchObject({ value: 3, target: '>= 5,000', met: false });
  });

  it('has a row for every measurable target of the plan, each met, missed or not measured with a reason', () => {
    const trades = [
      trade(1, { amount: 30, buyerCountry: 'IE', sellerCountry: 'US' }), trade(2, { amount: 10 }), trade(3, { amount: 60, outcome: 'split' }),
      trade(4, { amount: 100, outcome: 'refunded' }), trade(5, { amount: 100, routed: false, buyerCountry: 'JP' }),
    ];
    const m = computeMetrics({ requests: [], trades, agents: [agent('b0', [0])], days: 2 });
    const s = successMetrics(m, { apiP99Ms: 5, days: 2 });
    expect(s.map((x) => [x.name, x.target])).toEqual([
      ['Active agents', '>= 5,000'],
      ['New agent registrations', '>= 100 a week'],
      ['Monthly agent retention', '> 85%'],
      ['Countries with active agents', '>= 50'],
      ['Daily transactions (completed market trades, mean per day)', '>= 1,000'],
      ['Daily volume (completed market trades, mean per day)', '>= 10,000 AITBC'],
      ['Agent-to-agent share of volume', '>= 30%'],
      ['Cross-border share of volume', '>= 40%'],
      ['Price spread across regions', '< 5%'],
      ['Requests matched', '> 90%'],
      ['Settlement p99 (real time)', '< 30 s'],
      ['API response p99', '< 100 ms'],
    ]);
    for (const x of s) {
      expect([true, false, null]).toContain(x.met);
      if (x.met === null) expect(x.reason).toMatch(/\w{5}/);
      else expect(x.value).not.toBeNull();
    }
    const by = (n: string) => s.find((x) => x.name.startsWith(n))!;
    // completed market trades (released, split; not refunded, not attackers' own): 3 over 2 days, 100 AITBC
    expect(by('Daily transactions')).toMatchObject({ value: 1.5, unit: 'trades/day', met: false });
    expect(by('Daily volume')).toMatchObject({ value: 50, unit: 'AITBC/day', met: false });
    expect(by('Cross-border')).toMatchObject({ value: 30, met: false });
    expect(by('New agent')).toMatchObject({ met: null, reason: expect.stringMatching(/no arrivals/) });
    expect(by('Agent-to-agent')).toMatchObject({ value: 100, met: null, reason: expect.stringMatching(/by construction/) });
    expect(by('Requests matched')).toMatchObject({ met: null, reason: expect.stringMatching(/no trade requests/) });
  });
});

describe('population and scenarios', () => {
  it('is the same for the same seed, different for another, with the requested attacker share', async () => {
    const { generatePopulation } = await import('./population.js');
    const { scenario, populationParams } = await import('./scenarios.js');
    const p = populationParams(scenario('manipulation'), 1000, 7);
    const a = generatePopulation(p);
    expect(generatePopulation(p)).toEqual(a);
    expect(generatePopulation({ ...p, seed: 8 })).not.toEqual(a);
    expect(a.providers).toHaveLength(300);
    expect(a.buyers).toHaveLength(700);
    const malicious = a.providers.filter((x) => ['wash', 'sybil_rater', 'whitewasher', 'milker', 'spoofer'].includes(x.kind));
    expect(malicious).toHaveLength(90);
    expect(a.providers.every((x) => x.quality >= 0 && x.quality <= 1)).toBe(true);
  });

  it('demand peaks in local business hours and averages 1 over a day', async () => {
    const { demandAt } = await import('./population.js');
    const day = Array.from({ length: 24 }, (_, h) => demandAt('eu-west', h));
    expect(day.reduce((s, v) => s + v, 0) / 24).toBeCloseTo(1, 9);
    expect(demandAt('eu-west', 15)).toBeGreaterThan(demandAt('eu-west', 3));
    expect(demandAt('ap-northeast', 6)).toBeCloseTo(demandAt('eu-west', 15), 9);
  });

  it('applies scenario changes on their days', async () => {
    const { generatePopulation } = await import('./population.js');
    const { scenario, populationParams, initialDemand } = await import('./scenarios.js');
    const world = { ...generatePopulation(populationParams(scenario('baseline'), 300, 1)), demand: initialDemand() };
    scenario('demand-shock').onDay!(12, world);
    expect(world.demand['eu-west']).toBe(3);
    scenario('demand-shock').onDay!(20, world);
    expect(world.demand['eu-west']).toBe(1);
    scenario('supply-outage').onDay!(11, world);
    expect(world.providers.filter((p) => !p.online)).toHaveLength(Math.ceil(world.providers.length / 3));
    expect(() => scenario('nope')).toThrow(/known: baseline/);
  });
});

describe('memory growth', () => {
  it('compares the end of the run with the level after warm-up', async () => {
    const { memoryGrowth } = await import('./run.js');
    const flat = Array.from({ length: 30 }, (_, day) => ({ day, heapMB: day < 5 ? 50 + day * 10 : 100 }));
    expect(memoryGrowth(flat)).toBeCloseTo(0, 9);
    const leak = Array.from({ length: 30 }, (_, day) => ({ day, heapMB: 100 + day * 5 }));
    expect(memoryGrowth(leak)!).toBeGreaterThan(0.5);
    expect(memoryGrowth([{ day: 0, heapMB: 1 }])).toBeNull();
  });
});
