/**
 * bench:reputation: robustness and speed of the reputation engine.
 *
 * Robustness: a seeded market simulation. Providers have a hidden true quality; probes (the operator's
 * pre-trusted agents) measure every provider with noise and cannot be told apart from ordinary buyers;
 * honest buyers route each job by score (90%: uniformly among the top routing band = top 10% of listed
 * providers by score; 10% exploration: the best of 3 random providers) and rate what they got. Each
 * scenario runs twice with the same seed: once routing by our score, once by the plan's naive formula
 * (500 + points for self-reported numbers + success-rate, dispute-rate, volume and repeat-customer bonuses).
 *
 * Speed: full recompute (global trust + every agent's score) for 100,000 agents and 1,000,000 evidence
 * edges, the replay of a 1,000,000-item evidence log, and one incremental update.
 *
 * Usage: npm run bench:reputation [-- --quick] [-- --no-write]
 */
import { performance } from 'node:perf_hooks';
import { ReputationEngine } from '../src/modules/reputation/engine.js';
import { AITBC, DAY_MS, type Evidence } from '../src/modules/reputation/evidence.types.js';
import { buildLocalTrust, eigenTrust } from '../src/modules/reputation/eigentrust.js';
import { percentile, runStamp, writeSection } from './lib/report.js';
import { mulberry32 } from '../src/platform/rng.js';

const QUICK = process.argv.includes('--quick');
const WRITE = !process.argv.includes('--no-write');
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const want = (name: string): boolean => ONLY === undefined || name.includes(ONLY);
const H = 3_600_000;
const PROBES = ['probe-0', 'probe-1'];
/** Days the honest market runs before attackers join; job shares are counted from then on. */
const WARMUP = 7;

const rng = mulberry32;

// ------------------------------------------------------------------------------------------ scorers

interface Scorer {
  apply(ev: Evidence): void;
  score(id: string, now: number): number;
  /** an agent announces its own metrics at registration (only the naive formula believes them) */
  selfReport(id: string, ms: number, accuracy: number, availability: number): void;
}

class OurScorer implements Scorer {
  readonly engine: ReputationEngine;
  /** `probes: false`: a fresh install with no probe agents (the seed is the buyers' funded value alone) */
  constructor(probes = true) {
    this.engine = new ReputationEngine({ preTrusted: probes ? PROBES : [] });
  }
  apply(ev: Evidence): void { this.engine.apply(ev); }
  score(id: string, now: number): number { return this.engine.scoreOf(id, now); }
  selfReport(): void {}
}

/**
 * The plan's sketch, taken literally: everyone starts at 500; performance from self-reported numbers
 * (response < 50 ms +10, accuracy > 95% +15, availability > 99% +20), reliability from self-reported
 * attestations (uptime +10, maintenance +5, security +10, backup +5), transaction history from the trade
 * log (success rate > 98% +25, dispute rate < 2% +15, volume bonus up to +25, repeat-customer bonus up
 * to +25). No trust weighting, no decay, no check of who reports what.
 */
class NaiveScorer implements Scorer {
  private readonly a = new Map<string, { self: number; trades: number; ok: number; disputes: number; lost: number; buyers: Map<string, number>; repeat: number }>();
  private get(id: string) {
    let x = this.a.get(id);
    if (!x) this.a.set(id, (x = { self: 0, trades: 0, ok: 0, disputes: 0, lost: 0, buyers: new Map(), repeat: 0 }));
    return x;
  }
  selfReport(id: string, ms: number, accuracy: number, availability: number): void {
    this.get(id).self = (ms < 50 ? 10 : 0) + (accuracy > 0.95 ? 15 : 0) + (availability > 0.99 ? 20 : 0) + (availability > 0.99 ? 30 : 15);
  }
  apply(ev: Evidence): void {
    if (ev.type === 'trade') {
      const x = this.get(ev.sellerId);
      x.trades++;
      if (ev.success) x.ok++;
      const n = (x.buyers.get(ev.buyerId) ?? 0) + 1;
      x.buyers.set(ev.buyerId, n);
      if (n === 2) x.repeat++;
    } else if (ev.type === 'dispute') {
      const x = this.get(ev.agentId);
      x.disputes++;
      if (ev.outcome === 'lost') x.lost++;
    }
  }
  score(id: string): number {
    const x = this.a.get(id);
    if (!x) return 500;
    let s = 500 + x.self;
    if (x.trades > 0 && x.ok / x.trades > 0.98) s += 25;
    if (x.trades > 0 && x.lost / x.trades < 0.02) s += 15;
    s += Math.min(25, x.trades / 10) + Math.min(25, x.repeat);
    return Math.max(0, Math.min(1000, s));
  }
}

// ---------------------------------------------------------------------------------------- the market

type Kind = 'honest' | 'malicious' | 'camouflage' | 'collective' | 'ring' | 'milker' | 'boosted' | 'inflator' | 'selective';

interface Provider {
  id: string;
  kind: Kind;
  q: number; // hidden quality: success probability and accuracy level
  listed: boolean;
  /** day the provider enters the market (attackers join an established market) */
  joins: number;
  alias: number; // whitewash generation
}

interface Scenario {
  name: string;
  honest: number;
  malicious?: number;
  kind?: Kind;
  ring?: number; // Sybil ring size
  whitewash?: boolean;
  milkers?: number;
  badmouth?: boolean;
  /** sellers (bad to honest buyers) each with one colluding buyer that buys from it 20 times a day, 5 stars */
  colluders?: number;
  /** mediocre sellers that claim ideal latency and accuracy on every delivery (buyers report what they got) */
  inflators?: number;
  /** false: no probe agents at all (a fresh install); trust is seeded by the buyers' funded value */
  probes?: boolean;
  /**
   * sellers (quality 0.25-0.45 for ordinary buyers) that want to serve challenge jobs well (quality 0.97).
   * A challenge is indistinguishable from an ordinary job, so they can at best guess by base rates: each
   * job is served well with the probability that it is a challenge (the challenges it can expect, two a
   * day from the platform's published rate, over the jobs it has received). `oracle`: the comparison in
   * which the seller could tell every challenge (a leaky challenge).
   */
  selective?: { count: number; oracle: boolean };
  days: number;
}

interface RunResult {
  jobs: number;
  badJobs: number; // jobs routed to non-honest providers
  /** jobs (after the warm-up) a selective seller served badly (with its ordinary-buyer quality) */
  badlyServed: number;
  scores: Map<string, number>;
  providers: Provider[];
  whitewash: { before: number; after: number }[];
  defectionsToDrop: number[]; // milking: defections until out of the top band (Infinity = never)
  evidence: Evidence[];
  badmouthed: Set<string>;
  badmouthRaters: Set<string>;
  /** lowest score in the top routing band at the end */
  bandFloor: number;
}

function simulate(sc: Scenario, scorer: Scorer, seed: number): RunResult {
  const r = rng(seed);
  const providers: Provider[] = [];
  for (let i = 0; i < sc.honest; i++) providers.push({ id: `h${i}`, kind: 'honest', q: 0.55 + 0.45 * r(), listed: true, alias: 0, joins: 0 });
  const kind = sc.kind ?? 'malicious';
  for (let i = 0; i < (sc.malicious ?? 0); i++) {
    const q = kind === 'camouflage' ? 0.97 : 0.15 + 0.2 * r();
    providers.push({ id: `m${i}`, kind, q, listed: true, alias: 0, joins: WARMUP });
  }
  for (let i = 0; i < (sc.ring ?? 0); i++) providers.push({ id: `s${i}`, kind: 'ring', q: 0.2, listed: true, alias: 0, joins: WARMUP });
  for (let i = 0; i < (sc.milkers ?? 0); i++) providers.push({ id: `k${i}`, kind: 'milker', q: 0.99, listed: true, alias: 0, joins: 0 });
  for (let i = 0; i < (sc.colluders ?? 0); i++) providers.push({ id: `x${i}`, kind: 'boosted', q: 0.25 + 0.2 * r(), listed: true, alias: 0, joins: WARMUP });
  for (let i = 0; i < (sc.inflators ?? 0); i++) providers.push({ id: `f${i}`, kind: 'inflator', q: 0.55 + 0.2 * r(), listed: true, alias: 0, joins: WARMUP });
  for (let i = 0; i < (sc.selective?.count ?? 0); i++) providers.push({ id: `c${i}`, kind: 'selective', q: 0.25 + 0.2 * r(), listed: true, alias: 0, joins: WARMUP });
  // selective sellers: jobs received (probes included: it cannot tell them apart) and the challenges it expects
  const received = new Map<string, number>();
  const servesWell = (p: Provider, d: number, isProbe: boolean): boolean => {
    if (p.kind !== 'selective') return false;
    const n = (received.get(p.id) ?? 0) + 1;
    received.set(p.id, n);
    if (sc.selective!.oracle) return isProbe;
    const expected = PROBES.length * (d - p.joins + 1);
    return r() < Math.min(1, expected / n);
  };
  const buyers = Array.from({ length: 300 }, (_, i) => `b${i}`);
  // collective: each member controls 3 buyer identities that buy from members and rate 5 stars
  const colBuyers = kind === 'collective' ? Array.from({ length: 3 * (sc.malicious ?? 0) }, (_, i) => `cb${i}`) : [];
  const badmouthRaters = new Set(sc.badmouth ? buyers.filter((_, i) => i % 5 === 0) : []); // 20% of raters
  const badmouthed = new Set(sc.badmouth ? providers.filter((p) => p.kind === 'honest' && p.q > 0.9).slice(0, 5).map((p) => p.id) : []);
  const probes = sc.probes === false ? [] : PROBES;
  for (const p of providers) {
    const honestReport = p.kind === 'honest' || p.kind === 'milker';
    scorer.selfReport(p.id, honestReport ? 20 + (1 - p.q) * 300 : 20, honestReport ? p.q : 1, honestReport ? 0.9 + 0.1 * p.q : 1);
  }
  const evidence: Evidence[] = [];
  let at = 0;
  let tradeNo = 0;
  const emit = (ev: Evidence): void => {
    evidence.push(ev);
    scorer.apply(ev);
  };
  const idOf = (p: Provider): string => (p.alias === 0 ? p.id : `${p.id}~${p.alias}`);
  const res: RunResult = { jobs: 0, badJobs: 0, badlyServed: 0, scores: new Map(), providers, whitewash: [], defectionsToDrop: [], evidence, badmouthed, badmouthRaters, bandFloor: 0 };
  const milking = new Map<string, { defections: number; done: boolean }>();
  let listed: Provider[] = [];
  let bandSize = 1;
  let band: Provider[] = [];
  let bandFloor = 0;
  const scoreOf = (p: Provider): number => scorer.score(idOf(p), at);
  const rebuildBand = (): void => {
    const s = listed.map((p) => ({ p, s: scoreOf(p), tie: r() }));
    s.sort((x, y) => y.s - x.s || x.tie - y.tie);
    band = s.slice(0, bandSize).map((x) => x.p);
    bandFloor = s[bandSize - 1]!.s;
  };
  /**
   * One trade: the buyer reports the latency and accuracy it experienced (buyerLatencyMs, buyerAccuracy);
   * the seller's delivery report (latencyMs, accuracy) is its claim: the truth, except for inflators, who
   * claim 20 ms and 100%, and for colluders' staged trades, where both sides report ideal values.
   */
  const trade = (buyer: string, p: Provider, amount: bigint, success: boolean, stars: number | null, staged = false, q = p.q): void => {
    at += 1;
    const id = `t${tradeNo++}`;
    const acc = staged ? 1 : success ? Math.min(1, Math.max(0, q + (r() - 0.5) * 0.04)) : 0;
    const lat = staged ? 20 : 20 + (1 - q) * 300 * r();
    const claim = p.kind === 'inflator' ? { latencyMs: 20, accuracy: success ? 1 : 0 } : { latencyMs: lat, accuracy: acc };
    emit({ type: 'trade', id, at, buyerId: buyer, sellerId: idOf(p), success, ...claim, buyerLatencyMs: lat, buyerAccuracy: acc, slaMet: success, amount });
    if (stars !== null) emit({ type: 'rating', at, raterId: buyer, rateeId: idOf(p), tradeId: id, stars });
  };
  const starsFor = (success: boolean, q: number): number => (success ? (q > 0.9 ? 5 : 4) : 1);
  const days = QUICK ? Math.min(sc.days, 20) : sc.days;
  for (let d = 0; d < days; d++) {
    at = Math.max(at, d * DAY_MS);
    listed = providers.filter((p) => p.listed && p.joins <= d);
    bandSize = Math.max(1, Math.ceil(0.1 * listed.length));
    // value from outside: every buyer deposits what it will spend (the trust seed); attackers pay for their identities too
    if (d === 0) {
      for (const b of buyers) emit({ type: 'funding', at: ++at, agentId: b, amount: 2000n * AITBC });
      for (const b of colBuyers) emit({ type: 'funding', at: ++at, agentId: b, amount: 600n * AITBC });
    }
    if (d === WARMUP) {
      for (const p of providers) if (p.kind === 'ring') emit({ type: 'funding', at: ++at, agentId: p.id, amount: 100n * AITBC });
      for (const p of providers) if (p.kind === 'boosted') emit({ type: 'funding', at: ++at, agentId: `${p.id}-buyer`, amount: 2000n * AITBC });
    }
    // probes: every provider twice a day (measured like any job: probes cannot be told apart)
    for (const probe of probes) {
      for (const p of listed) {
        at += 1;
        const camo = p.kind === 'camouflage' && r() < 0.35; // camouflage: bad 35% of the time, probes included
        const q = camo ? 0.1 : servesWell(p, d, true) ? 0.97 : p.q;
        emit({ type: 'probe', at, agentId: idOf(p), probeId: probe, responseMs: 20 + (1 - q) * 300 * r(), available: r() < 0.9 + 0.1 * q, accuracy: Math.max(0, Math.min(1, q + (r() - 0.5) * 0.04)) });
      }
    }
    // adversaries' own activity
    if (kind === 'collective' && d >= WARMUP) {
      const members = providers.filter((p) => p.kind === 'collective');
      for (const b of colBuyers) {
        const p = members[Math.floor(r() * members.length)]!;
        trade(b, p, BigInt(1 + Math.floor(r() * 50)) * AITBC, true, 5);
      }
    }
    if (sc.colluders && d >= WARMUP) {
      // one colluding buyer per boosted seller (distinct owner, no shared signals): 20 staged trades a day, 5 stars
      for (const p of providers) {
        if (p.kind !== 'boosted') continue;
        for (let k = 0; k < 20; k++) trade(`${p.id}-buyer`, p, BigInt(5 + Math.floor(r() * 20)) * AITBC, true, 5, true);
      }
    }
    if (sc.ring && d >= WARMUP) {
      const ring = providers.filter((p) => p.kind === 'ring');
      for (let i = 0; i < ring.length; i++) {
        // wash trades around the ring with varied amounts and 5 stars; each member buys from 2 others
        for (const step of [1, 1 + (d % Math.max(1, ring.length - 1))]) {
          const j = (i + step) % ring.length;
          if (j !== i) trade(idOf(ring[i]!), ring[j]!, BigInt(1 + Math.floor(r() * 90)) * AITBC, true, 5);
        }
      }
    }
    // honest buyers: 2 jobs a day each, routed by score; the band is refreshed every 3 hours
    for (let slot = 0; slot < 8; slot++) {
      at = Math.max(at, d * DAY_MS + slot * 3 * H);
      rebuildBand();
      for (let bi = slot; bi < buyers.length * 2; bi += 8) {
        const buyer = buyers[bi % buyers.length]!;
        let p: Provider;
        if (r() < 0.9) p = band[Math.floor(r() * band.length)]!;
        else {
          let best: Provider | undefined;
          let bs = -1;
          for (let k = 0; k < 3; k++) {
            const c = listed[Math.floor(r() * listed.length)]!;
            const s = scoreOf(c) + r() * 1e-6;
            if (s > bs) { bs = s; best = c; }
          }
          p = best!;
        }
        if (d >= WARMUP) res.jobs++;
        if (d >= WARMUP && p.kind !== 'honest' && !(p.kind === 'milker' && !milking.has(p.id))) res.badJobs++;
        // milkers turn after day 25 and cheat on big jobs; we count defections until they leave the band
        const big = r() < 0.3;
        const amount = BigInt(big ? 100 + Math.floor(r() * 100) : 1 + Math.floor(r() * 30)) * AITBC;
        let success: boolean;
        let defected = false;
        let served = p.q; // the quality this job was served with
        if (p.kind === 'milker' && d >= 25 && big) {
          success = false;
          defected = true;
          const m = milking.get(p.id) ?? { defections: 0, done: false };
          milking.set(p.id, m);
        } else if (p.kind === 'camouflage') {
          success = r() < (r() < 0.35 ? 0.1 : p.q);
        } else if (p.kind === 'selective') {
          served = servesWell(p, d, false) ? 0.97 : p.q;
          success = r() < served;
          if (served < 0.97 && d >= WARMUP) res.badlyServed++;
        } else {
          success = r() < p.q;
        }
        const stars = badmouthRaters.has(buyer) && badmouthed.has(p.id) ? 1 : starsFor(success, served);
        trade(buyer, p, amount, success, stars, false, served);
        if (!success && amount >= 100n * AITBC) {
          at += 1;
          emit({ type: 'dispute', at, agentId: idOf(p), outcome: 'lost', filedBy: buyer });
        }
        if (defected) {
          const m = milking.get(p.id)!;
          if (!m.done) {
            m.defections++;
            // refresh the band right after the defection: is the milker still in the top band?
            rebuildBand();
            if (!band.includes(p)) {
              m.done = true;
              res.defectionsToDrop.push(m.defections);
            }
          }
        }
      }
    }
    // whitewashing: a malicious provider below the median re-registers under a fresh identity
    if (sc.whitewash && d % 3 === 2) {
      const s = listed.map(scoreOf).sort((x, y) => x - y);
      const median = s[Math.floor(s.length / 2)]!;
      for (const p of listed) {
        if (p.kind !== 'malicious') continue;
        const before = scoreOf(p);
        if (before < median) {
          p.alias++;
          const after = scoreOf(p);
          scorer.selfReport(idOf(p), 20, 1, 1);
          res.whitewash.push({ before, after: scorer.score(idOf(p), at) ?? after });
        }
      }
    }
  }
  for (const [, m] of milking) if (!m.done) res.defectionsToDrop.push(Number.POSITIVE_INFINITY);
  for (const p of providers) res.scores.set(p.id, scoreOf(p));
  rebuildBand();
  res.bandFloor = bandFloor;
  return res;
}

function spearman(x: number[], y: number[]): number {
  const rank = (v: number[]): number[] => {
    const idx = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
    const out = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
      for (let k = i; k <= j; k++) out[idx[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return out;
  };
  const rx = rank(x);
  const ry = rank(y);
  const n = x.length;
  const mx = rx.reduce((a, b) => a + b, 0) / n;
  const my = ry.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    num += (rx[i]! - mx) * (ry[i]! - my);
    dx += (rx[i]! - mx) ** 2;
    dy += (ry[i]! - my) ** 2;
  }
  return num / Math.sqrt(dx * dy);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'never');

interface Row { scenario: string; metric: string; ours: string; naive: string; target: string; ok: boolean; seedsMet?: string }

function robustness(SEED: number): Row[] {
  const rows: Row[] = [];
  const both = (sc: Scenario) => ({ ours: simulate(sc, new OurScorer(), SEED), naive: simulate(sc, new NaiveScorer(), SEED) });
  const share = (x: RunResult): number => x.badJobs / x.jobs;
  const t0 = performance.now();

  // no attackers: score vs hidden quality
  if (want('none')) {
    const { ours, naive } = both({ name: 'none', honest: 200, days: 30 });
    const q = ours.providers.map((p) => p.q);
    const so = spearman(ours.providers.map((p) => ours.scores.get(p.id)!), q);
    const sn = spearman(naive.providers.map((p) => naive.scores.get(p.id)!), q);
    rows.push({ scenario: 'no attackers (200 honest providers)', metric: 'Spearman(score, true quality)', ours: so.toFixed(3), naive: sn.toFixed(3), target: '>= 0.8', ok: so >= 0.8 });
  }
  // 30% malicious, three behaviours
  for (const [label, kind] of [['lone malicious', 'malicious'], ['collective self-rating (3 buyer identities each)', 'collective'], ['camouflage (good 65% of the time)', 'camouflage']] as const) {
    if (!want(kind)) continue;
    const { ours, naive } = both({ name: label, honest: 140, malicious: 60, kind, days: 30 });
    const o = share(ours);
    const n = share(naive);
    rows.push({ scenario: `${label}, 30% of providers`, metric: 'jobs to malicious providers', ours: pct(o), naive: pct(n), target: '<= 10% and >= 3x fewer than naive', ok: o <= 0.1 && o * 3 <= n });
  }
  // Sybil wash rings
  for (const size of [10, 100, 1000]) {
    if (!want(`ring${size}`)) continue;
    const { ours, naive } = both({ name: `ring ${size}`, honest: 140, ring: size, days: QUICK ? 15 : 20 });
    const median = (v: number[]): number => v.sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
    const scoresOf = (x: RunResult, kind: Kind): number[] => x.providers.filter((p) => p.kind === kind).map((p) => x.scores.get(p.id)!);
    const desc = (x: RunResult): string =>
      `${pct(share(x))}; best ${Math.max(...scoresOf(x, 'ring')).toFixed(0)} / band floor ${x.bandFloor.toFixed(0)}; median ${median(scoresOf(x, 'ring')).toFixed(0)} / honest ${median(scoresOf(x, 'honest')).toFixed(0)}`;
    rows.push({
      scenario: `Sybil wash ring of ${size}`, metric: 'jobs to ring members; best ring score / top-band floor; ring median / honest median',
      ours: desc(ours), naive: desc(naive),
      target: 'ring median below the honest median; >= 3x fewer jobs to the ring than naive',
      ok: median(scoresOf(ours, 'ring')) < median(scoresOf(ours, 'honest')) && 3 * share(ours) <= share(naive),
    });
  }
  // whitewashing
  if (want('whitewash')) {
    const { ours, naive } = both({ name: 'whitewash', honest: 140, malicious: 60, whitewash: true, days: 30 });
    const gain = (x: RunResult): { mean: number; max: number } => {
      const d = x.whitewash.map((w) => w.after - w.before);
      return { mean: d.length ? d.reduce((a, b) => a + b, 0) / d.length : 0, max: d.length ? Math.max(...d) : 0 };
    };
    const go = gain(ours);
    const gn = gain(naive);
    rows.push({
      scenario: 'whitewashing (malicious below the median re-register every 3 days)', metric: 'score change on re-registering: mean / max; jobs to malicious',
      ours: `${go.mean.toFixed(1)} / ${go.max.toFixed(1)}; ${pct(share(ours))}`, naive: `${gn.mean.toFixed(1)} / ${gn.max.toFixed(1)}; ${pct(share(naive))}`,
      target: 'never raises the score (max <= 0)', ok: go.max <= 0 && ours.whitewash.length > 0,
    });
  }
  // on-off milking
  if (want('milking')) {
    const { ours, naive } = both({ name: 'milking', honest: 140, milkers: 10, days: QUICK ? 20 : 32 });
    const summary = (x: RunResult): string => {
      const v = x.defectionsToDrop;
      const worst = Math.max(...v);
      return `${v.length} milkers; worst ${f1(worst)}, mean ${f1(v.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, v.filter(Number.isFinite).length))}; never dropped ${v.filter((y) => !Number.isFinite(y)).length}`;
    };
    rows.push({
      scenario: 'on-off milking (perfect for 25 days, then fail every big job)', metric: 'defections until out of the top routing band',
      ours: summary(ours), naive: summary(naive), target: '<= 3 for every milker', ok: ours.defectionsToDrop.length > 0 && Math.max(...ours.defectionsToDrop) <= 3,
    });
  }
  // bad-mouthing: 20% of raters give 1 star to 5 honest top providers; loss vs the same log with honest ratings
  if (want('badmouth')) {
    const sc: Scenario = { name: 'badmouth', honest: 140, badmouth: true, days: 30 };
    const loss = (mk: () => Scorer): { mean: number; max: number } => {
      const run = simulate(sc, mk(), SEED);
      const end = run.evidence[run.evidence.length - 1]!.at;
      const honestStars = new Map<string, number>();
      for (const ev of run.evidence) if (ev.type === 'trade') honestStars.set(ev.id, ev.success ? 5 : 1);
      const smeared = mk();
      const clean = mk();
      for (const ev of run.evidence) {
        smeared.apply(ev);
        if (ev.type === 'rating' && run.badmouthRaters.has(ev.raterId) && run.badmouthed.has(ev.rateeId)) {
          const q = run.providers.find((p) => p.id === ev.rateeId)!.q;
          clean.apply({ ...ev, stars: honestStars.get(ev.tradeId) === 5 ? (q > 0.9 ? 5 : 4) : 1 });
        } else clean.apply(ev);
      }
      const d = [...run.badmouthed].map((id) => clean.score(id, end) - smeared.score(id, end));
      return { mean: d.reduce((a, b) => a + b, 0) / d.length, max: Math.max(...d) };
    };
    const o = loss(() => new OurScorer());
    const n = loss(() => new NaiveScorer());
    rows.push({
      scenario: 'bad-mouthing (20% of raters give 1 star to 5 honest providers)', metric: 'points lost by a target: mean / max',
      ours: `${o.mean.toFixed(1)} / ${o.max.toFixed(1)}`, naive: `${n.mean.toFixed(1)} / ${n.max.toFixed(1)}`, target: '<= 25', ok: o.max <= 25,
    });
  }
  const median = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  const scoresOf = (x: RunResult, kind: Kind): number[] => x.providers.filter((p) => p.kind === kind).map((p) => x.scores.get(p.id)!);
  // a single colluding buyer per seller, trading with it 20 times a day (issue 13)
  if (want('colluder')) {
    const { ours, naive } = both({ name: 'colluder', honest: 140, colluders: 10, days: 30 });
    const desc = (x: RunResult): string => `${pct(share(x))}; median ${median(scoresOf(x, 'boosted')).toFixed(0)} / honest ${median(scoresOf(x, 'honest')).toFixed(0)}`;
    const o = share(ours);
    rows.push({
      scenario: 'single colluding buyer (10 bad sellers, each with one buyer of its own buying 20 jobs a day, 5 stars; distinct owners, no shared signals)',
      metric: 'jobs to the boosted sellers; their median score / honest median', ours: desc(ours), naive: desc(naive),
      target: '<= 10% and >= 3x fewer than naive; boosted median below the honest median',
      ok: o <= 0.1 && 3 * o <= share(naive) && median(scoresOf(ours, 'boosted')) < median(scoresOf(ours, 'honest')),
    });
  }
  // sellers that claim ideal metrics while buyers experience mediocre ones (issue 13)
  if (want('inflate')) {
    const { ours, naive } = both({ name: 'inflate', honest: 140, inflators: 60, days: 30 });
    const desc = (x: RunResult): string => `${pct(share(x))}; median ${median(scoresOf(x, 'inflator')).toFixed(0)} / honest ${median(scoresOf(x, 'honest')).toFixed(0)}`;
    const o = share(ours);
    rows.push({
      scenario: 'self-reported metric inflation (30% of providers, quality 0.55-0.75, claim 20 ms and 100% accuracy on every delivery)',
      metric: 'jobs to inflators; their median score / honest median', ours: desc(ours), naive: desc(naive),
      target: '<= 10% and >= 3x fewer than naive', ok: o <= 0.1 && 3 * o <= share(naive),
    });
  }
  // sellers that would serve challenge jobs well and ordinary buyers badly (issue 13)
  if (want('selective')) {
    const sc: Scenario = { name: 'selective', honest: 140, selective: { count: 60, oracle: false }, days: 30 };
    const ours = simulate(sc, new OurScorer(), SEED);
    const naive = simulate(sc, new NaiveScorer(), SEED);
    // the comparison: a leaky challenge the seller can tell apart (what indistinguishability is worth)
    const leaky = simulate({ ...sc, selective: { count: 60, oracle: true } }, new OurScorer(), SEED);
    const bad = (x: RunResult): number => x.badlyServed / x.jobs;
    const desc = (x: RunResult): string => `${pct(bad(x))} served badly (${pct(share(x))} to them); median ${median(scoresOf(x, 'selective')).toFixed(0)} / honest ${median(scoresOf(x, 'honest')).toFixed(0)}`;
    const o = bad(ours);
    rows.push({
      scenario: 'challenge-aware seller (30% of providers, quality 0.25-0.45 for buyers, 0.97 on the jobs it guesses are challenges: it cannot tell, so it guesses by the base rate)',
      metric: 'jobs it served badly (jobs to them); their median score / honest median; in brackets: if it could tell every challenge',
      ours: `${desc(ours)} (could tell: ${desc(leaky)})`, naive: desc(naive),
      target: 'badly served jobs <= 3% and >= 3x fewer than naive; if it could tell: <= 3%',
      ok: o <= 0.03 && 3 * o <= bad(naive) && bad(leaky) <= 0.03,
    });
  }
  // a fresh install: no probe agents at all, a funded Sybil ring of 100 (issue 13)
  if (want('coldstart')) {
    const sc: Scenario = { name: 'coldstart', honest: 200, ring: 100, probes: false, days: 30 };
    const ours = simulate(sc, new OurScorer(false), SEED);
    const naive = simulate(sc, new NaiveScorer(), SEED);
    // with no probes, nothing is known of a provider nobody bought from: rank those the market tried (>= 5 jobs)
    const honestSpearman = (x: RunResult): number => {
      const jobs = new Map<string, number>();
      for (const ev of x.evidence) if (ev.type === 'trade') jobs.set(ev.sellerId, (jobs.get(ev.sellerId) ?? 0) + 1);
      const h = x.providers.filter((p) => p.kind === 'honest' && (jobs.get(p.id) ?? 0) >= 5);
      return spearman(h.map((p) => x.scores.get(p.id)!), h.map((p) => p.q));
    };
    const desc = (x: RunResult): string =>
      `Spearman (tried) ${honestSpearman(x).toFixed(3)}; honest median ${median(scoresOf(x, 'honest')).toFixed(0)}, ring median ${median(scoresOf(x, 'ring')).toFixed(0)}; ${pct(share(x))} to the ring`;
    const so = honestSpearman(ours);
    rows.push({
      scenario: 'cold start: no probe agents (200 honest providers, buyers fund their wallets; a Sybil ring of 100 with 100 AITBC each)',
      metric: 'Spearman(score, true quality) of honest providers with >= 5 jobs; honest / ring median; jobs to the ring', ours: desc(ours), naive: desc(naive),
      target: 'Spearman >= 0.8; honest median > 0 and above the ring median; >= 3x fewer jobs to the ring than naive',
      ok: so >= 0.8 && median(scoresOf(ours, 'honest')) > 0 && median(scoresOf(ours, 'ring')) < median(scoresOf(ours, 'honest')) && 3 * share(ours) <= share(naive),
    });
  }
  console.log(`robustness: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return rows;
}

// --------------------------------------------------------------------------------------------- speed

interface Speed { label: string; value: string; target: string; ok: boolean | null }

function speed(): Speed[] {
  const out: Speed[] = [];
  const N = 100_000;
  const M = 1_000_000;
  const r = rng(7);
  // a market graph: 1% probes/pre-trusted, power-law-ish popularity of sellers
  const from = new Int32Array(M);
  const to = new Int32Array(M);
  const val = new Float64Array(M);
  for (let e = 0; e < M; e++) {
    from[e] = Math.floor(r() * N);
    to[e] = Math.floor(N * r() ** 2);
    val[e] = r() < 0.9 ? 1 : -1;
  }
  const pre = Array.from({ length: 100 }, (_, i) => i * 997);
  const times: number[] = [];
  let iters = 0;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const lt = buildLocalTrust(N, M, from, to, val);
    const res = eigenTrust(lt, { preTrusted: pre, alpha: 0.15, tolerance: 1e-7, maxIterations: 60 });
    times.push(performance.now() - t0);
    iters = res.iterations;
  }
  const best = Math.min(...times);
  out.push({ label: `global trust (CSR build + EigenTrust, ${iters} iterations), 100,000 agents, 1,000,000 edges: best of 3`, value: `${best.toFixed(0)} ms`, target: '< 1 s', ok: best < 1000 });

  // the engine: a log of 1,000,000 evidence items over 100,000 agents (trades, ratings, probes) in 30 days
  const log: Evidence[] = [];
  const probes = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const span = 30 * DAY_MS;
  let tradeNo = 0;
  for (let i = 0; i < M; i++) {
    const at = Math.floor((i / M) * span);
    const u = r();
    if (u < 0.1) {
      log.push({ type: 'probe', at, agentId: `a${Math.floor(r() * N)}`, probeId: probes[Math.floor(r() * 20)]!, responseMs: 10 + 100 * r(), available: r() < 0.98, accuracy: 0.8 + 0.2 * r() });
    } else if (u < 0.7 || tradeNo === 0) {
      const b = Math.floor(r() * N);
      let s = Math.floor(N * r() ** 2);
      if (s === b) s = (s + 1) % N;
      const ok = r() < 0.95;
      log.push({ type: 'trade', id: `t${tradeNo++}`, at, buyerId: `a${b}`, sellerId: `a${s}`, success: ok, latencyMs: 10 + 100 * r(), accuracy: ok ? 0.9 + 0.1 * r() : 0, slaMet: ok, amount: BigInt(1 + Math.floor(r() * 100)) * AITBC });
    } else {
      const t = log[log.length - 1 - Math.floor(r() * Math.min(50, log.length))]!;
      if (t.type === 'trade') log.push({ type: 'rating', at, raterId: t.buyerId, rateeId: t.sellerId, tradeId: t.id, stars: 1 + Math.floor(r() * 5) });
      else log.push({ type: 'community', at, agentId: `a${Math.floor(r() * N)}`, kind: 'forum' });
    }
  }
  const t1 = performance.now();
  const engine = ReputationEngine.recompute(log, { preTrusted: probes });
  const replayMs = performance.now() - t1;
  out.push({ label: `replay of the whole evidence log (${(M / 1e6).toFixed(0)}M items, ${engine.agentCount.toLocaleString('en')} agents, ${engine.edgeCount.toLocaleString('en')} trust edges, ${engine.epochsComputed} daily trust epochs)`, value: `${(replayMs / 1000).toFixed(2)} s (${((replayMs * 1000) / M).toFixed(2)} µs per item)`, target: '(no target: startup / probe-set change only)', ok: null });

  // score every agent from the statistics
  const now = span + H;
  const t2 = performance.now();
  let sum = 0;
  for (const id of engine.agentIds()) sum += engine.scoreOf(id, now);
  const scoreAllMs = performance.now() - t2;
  out.push({ label: 'score every agent (100,000) from the maintained statistics', value: `${scoreAllMs.toFixed(0)} ms`, target: '', ok: null });
  out.push({ label: 'full recompute = global trust + scoring every agent', value: `${(best + scoreAllMs).toFixed(0)} ms`, target: '< 1 s', ok: best + scoreAllMs < 1000 });

  // incremental updates on the loaded engine, within one day (the daily epoch is a background job)
  engine.advanceTo(now);
  const lat: number[] = [];
  let at = now;
  for (let i = 0; i < 20_000; i++) {
    at += 1;
    const b = Math.floor(r() * N);
    let s = Math.floor(N * r() ** 2);
    if (s === b) s = (s + 1) % N;
    const ev: Evidence = i % 3 === 2
      ? { type: 'probe', at, agentId: `a${s}`, probeId: probes[i % 20]!, responseMs: 30, available: true, accuracy: 0.95 }
      : { type: 'trade', id: `x${i}`, at, buyerId: `a${b}`, sellerId: `a${s}`, success: true, latencyMs: 30, accuracy: 0.97, slaMet: true, amount: 10n * AITBC };
    const t = performance.now();
    engine.apply(ev);
    engine.scoreOf(ev.type === 'trade' ? ev.sellerId : ev.agentId, at);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  out.push({ label: 'one incremental update + re-score of the subject (20,000 updates on the loaded engine)', value: `mean ${(mean * 1000).toFixed(1)} µs, p50 ${(percentile(lat, 50) * 1000).toFixed(1)} µs, p99 ${(percentile(lat, 99) * 1000).toFixed(1)} µs, max ${percentile(lat, 100).toFixed(2)} ms`, target: '< 1 ms', ok: percentile(lat, 99) < 1 });
  const t3 = performance.now();
  engine.advanceTo(now + DAY_MS);
  out.push({ label: 'one daily trust epoch on the loaded engine (paid by the first evidence of each day)', value: `${(performance.now() - t3).toFixed(0)} ms`, target: '', ok: null });
  if (sum < 0) console.log(sum);
  return out;
}

// ---------------------------------------------------------------------------------------------- main

const tAll = performance.now();
/** The table shows the first seed; every scenario is re-run with further seeds to show the result is not one seed's luck. */
const SEEDS = QUICK ? [20261124] : [20261124, 1, 2, 3, 4];
const rows = robustness(SEEDS[0]!);
const met = rows.map((r) => (r.ok ? 1 : 0));
for (const seed of SEEDS.slice(1)) {
  robustness(seed).forEach((r, i) => {
    met[i]! += r.ok ? 1 : 0;
    if (!r.ok) console.log(`seed ${seed} missed: ${r.scenario} | ours ${r.ours} | naive ${r.naive}`);
  });
}
rows.forEach((r, i) => { r.seedsMet = `${met[i]}/${SEEDS.length}`; });
for (const r of rows) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.scenario} | ${r.metric} | ours ${r.ours} | naive ${r.naive} | target ${r.target} | seeds met ${r.seedsMet}`);
const sp = ONLY === undefined || want('speed') ? speed() : [];
for (const s of sp) console.log(`${s.ok === null ? '    ' : s.ok ? 'PASS' : 'FAIL'}  ${s.label}: ${s.value} ${s.target}`);
const totalS = (performance.now() - tAll) / 1000;
console.log(`total ${totalS.toFixed(0)} s`);

if (WRITE && !QUICK) {
  const body = [
    `${runStamp()} Total run ${totalS.toFixed(0)} s.`,
    '',
    '### Robustness (seeded simulation, the plan\'s naive formula in the same run)',
    '',
    'Providers have a hidden true quality (honest: 0.55-1.0 success probability and accuracy; malicious: 0.15-0.35). Two operator probes',
    'measure every provider twice a day like any job (probes cannot be singled out). 300 honest buyers post 2 jobs a day each and route',
    'by score: 90% uniformly among the top routing band (top 10% of listed providers), 10% exploration (best of 3 random providers).',
    `Attackers join an established market after a ${WARMUP}-day warm-up; job shares count from then on.`,
    'Every buyer funds its wallet from outside (2,000 AITBC, a `funding` report: the trust seed beside the probes; capped at 1,000 per',
    'agent); attackers pay for theirs (collective buyers 600, ring members 100, colluding buyers 2,000). Each trade carries the seller\'s',
    'claim (latency, accuracy) and what the buyer experienced (`buyerLatencyMs`, `buyerAccuracy`; the live integration will feed the',
    'buyer\'s confirmation report there); they differ only for inflators. The cold-start scenario has no probes at all.',
    'They rate 5/4 stars for a success, 1 for a failure, and win a dispute when a big job (>= 100 AITBC) fails. Every scenario runs twice with',
    'the same seed: routing by our score and by the plan\'s formula taken literally (500 + points for self-reported performance and',
    'reliability numbers + success rate > 98%, dispute rate < 2%, volume and repeat-customer bonuses; no trust weighting, no decay).',
    '',
    `| Scenario | Metric | Ours | Naive | Target | Seed ${SEEDS[0]} | Met over ${SEEDS.length} seeds |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.metric} | ${r.ours} | ${r.naive} | ${r.target} | ${r.ok ? 'met' : '**missed**'} | ${r.seedsMet} |`),
    '',
    'The machine is shared with other engineers\' work (2 cores): timings are indicative.',
    '',
    '### Speed',
    '',
    '| Measurement | Result | Target | |',
    '|---|---|---|---|',
    ...sp.map((s) => `| ${s.label} | ${s.value} | ${s.target} | ${s.ok === null ? '' : s.ok ? 'met' : '**missed**'} |`),
    '',
    'Notes. Job shares under attack are mostly exploration (10% of jobs go to the best of 3 random providers, so a crowd of 1,000',
    'Sybils is sampled often): no attacker reaches the top routing band except the milkers before they turn. The plan\'s formula',
    'has no ratings at all, so bad-mouthing cannot move it (0 points) but neither can buyers\' experience; whitewashing gains it',
    'nothing because its malicious providers never fall below the median (every identity starts at 500 plus self-reported',
    'points). "Full recompute" is the global-trust computation plus every agent\'s score from the maintained statistics; replaying',
    'the whole evidence log into a fresh engine (what the service does at startup or when the probe set changes) is the separate',
    'replay row, dominated by its 30 daily trust epochs.',
  ].join('\n');
  writeSection('Reputation', body);
  console.log('wrote the Reputation section of docs/benchmarks.md');
}
