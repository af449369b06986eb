/**
 * The reputation engine: a deterministic fold over the evidence log (no clock, no randomness,
 * no I/O). `apply` is the incremental update; `ReputationEngine.recompute(all evidence)` is the
 * full recompute, and it is literally the same fold, so both give bit-identical scores.
 *
 * Sufficient statistics (see docs in trust-score.ts):
 *  - per (subject, producer, kind) pair: decayed raw count n, decayed weighted count W and decayed
 *    weighted sums X0..X2, kept at the pair's own reference time (exact exponential decay, rate 2*mu);
 *  - per agent: the sum over its pairs of W/sqrt(n) and X/sqrt(n) (so k repeated dealings with one
 *    counterparty count sqrt(k), and a pair's contribution decays at rate mu exactly), plus dispute,
 *    community and reliability sums, all decayed at rate mu to the agent's reference time.
 *    An update subtracts the pair's old contribution and adds the new one: O(1).
 *  - per agent, a recent window of trade outcomes weighted by value at stake (faster decay, see
 *    params.recentHalfLifeMs) that catches on-off milking;
 *  - the evidence graph (typed-array edge list) from which global trust is recomputed once per day
 *    (epoch). Evidence is weighted by its producer's trust from the latest epoch at the time it is
 *    applied (weights are frozen into the statistics).
 *
 * Daily gain cap (path-dependent, defined exactly): let d be a day index floor(at / dayMs), R(t) the
 * raw score at time t and C(d) the capped score at the end of day d, with C = 0 (the newcomer score)
 * before an agent's first evidence. C(d) = min(R(end of d), C(d-1) + G); the published score at time
 * t in day d is min(R(t), C(d-1) + G). Drops apply at once, rises are at most G per day. Without new
 * evidence R only decays once the recent window's failures have faded, so a gap of empty days is
 * closed day by day while they still weigh and then in O(1): C(d+k) = min(R(end of d+k), C(d) + k*G).
 */
import { DAY_MS } from './evidence.types.js';
import type {
  AgentId,
  CommunityAction,
  DiscountReason,
  DisputeOutcome,
  Evidence,
  EvidenceType,
  ProbeMeasurement,
  Rating,
  ReliabilityAttestation,
  SameOwnerVerdict,
  TradeOutcome,
} from './evidence.types.js';
import { buildLocalTrust, eigenTrust, producerWeight, referenceTrust } from './eigentrust.js';
import type { LocalTrust } from './eigentrust.js';
import { F64Column, I32Column } from './growable.js';
import { accuracyCurve, amountWeight, clamp01, latencyCurve, makeParams } from './params.js';
import type { ReputationParams } from './params.js';
import { F, RECENT_FIELDS, STAT_FIELDS, componentDetail, componentsFromDetail, rawScoreFast } from './trust-score.js';
import type { ComponentDetail, ComponentValues } from './trust-score.js';
import { findPaymentLoop } from './wash.js';
import { CHECKPOINT_FORMAT, f64, i32, paramsKey, type EngineCheckpoint } from './checkpoint.js';
import type { PaymentLog } from './wash.js';

const KIND_TRADE = 0;
const KIND_PROBE = 1;
const KIND_RATING = 2;
const MAX_AGENTS = 2_097_152; // 2^21: pair keys stay exact integers below 2^53

export class OutOfOrderEvidenceError extends Error {
  readonly code = 'out_of_order';
  constructor(at: number, last: number) {
    super(`evidence at ${at} is older than the last applied evidence (${last}); apply in time order`);
  }
}

export interface RecentItem {
  readonly at: number;
  readonly type: EvidenceType;
  /** the other agent involved (buyer, probe, rater, filer), if any */
  readonly counterparty?: AgentId;
  /** weight the item received in the statistics (0 = ignored) */
  readonly weight: number;
  readonly discounts: readonly DiscountReason[];
}

export interface AgentCounts {
  tradesAsSeller: number;
  tradesAsBuyer: number;
  probes: number;
  ratingsReceived: number;
  ratingsGiven: number;
  community: number;
  reliability: number;
  disputes: number;
  disputesLost: number;
}

/** The latest same-owner verdict an agent is part of (for explain). */
export interface OwnerVerdictInfo {
  readonly id: string;
  readonly at: number;
  readonly members: readonly AgentId[];
  readonly signals: readonly string[];
  readonly internalShare: number;
  /** earlier trades between members whose credit (and ratings) the verdict withdrew */
  readonly tradesWithdrawn: number;
}

interface AgentInfo {
  counts: AgentCounts;
  discounts: Partial<Record<DiscountReason, number>>;
  recent: RecentItem[];
  owner?: OwnerVerdictInfo;
}

export interface ScoreView {
  readonly agentId: AgentId;
  /** published score (after the daily gain cap), 0..1000, unrounded */
  readonly score: number;
  /** raw score before the daily gain cap */
  readonly raw: number;
  readonly components: ComponentValues;
  readonly gainCapped: boolean;
  readonly observations: number;
}

export class ReputationEngine {
  readonly params: ReputationParams;
  private readonly mu: number; // decay rate of the visible statistics, per ms
  private readonly muRecent: number; // decay rate of the recent window
  private lastAt = -Infinity;

  // agents
  private readonly ids: AgentId[] = [];
  private readonly index = new Map<AgentId, number>();
  private readonly stats: number[] = [];
  private readonly ref: number[] = [];
  private readonly capDay: number[] = [];
  private readonly capBase: number[] = [];
  private readonly info: AgentInfo[] = [];
  private readonly payments: (PaymentLog | undefined)[] = [];

  // directed pairs (subject, producer, kind)
  private readonly pairIndex = new Map<number, number>();
  private readonly pRef: number[] = [];
  private readonly pN: number[] = [];
  private readonly pW: number[] = [];
  private readonly pX0: number[] = [];
  private readonly pX1: number[] = [];
  private readonly pX2: number[] = [];
  private readonly pSubject: number[] = [];
  // trade pairs: their share of the subject's recent window (decays at the recent rate), so that a
  // taint can withdraw it too
  private readonly pRecentMass: number[] = [];
  private readonly pRecentOk: number[] = [];
  private lastPair = -1;

  // unordered pairs {a, b}: taint flags (same owner / closed loop)
  private readonly upIndex = new Map<number, number>();
  private readonly upTaint: number[] = [];
  // same-owner clusters (verdicts): union-find over agents, -1 = in no cluster
  private readonly ownerParent: number[] = [];

  // trades (for rating checks)
  private readonly tradeIndex = new Map<string, number>();
  private readonly trBuyer: number[] = [];
  private readonly trSeller: number[] = [];
  private readonly trQuality: number[] = [];
  private readonly trRated: number[] = [];
  private readonly trSlot: number[] = [];

  // evidence graph
  private readonly eFrom = new I32Column(4096);
  private readonly eTo = new I32Column(4096);
  private readonly eVal = new F64Column(4096);
  private readonly eSlot = new I32Column(4096);
  private graphVersion = 0;

  // global trust epoch
  private epochDay = -Infinity;
  private epochVersion = -1;
  private trust: Float64Array = new Float64Array(0);
  private tau = Infinity;
  private lt: LocalTrust | undefined;
  private preMask: Uint8Array = new Uint8Array(0);
  private readonly preTrustedIdx: number[] = [];
  epochsComputed = 0;

  constructor(params: Partial<ReputationParams> = {}) {
    this.params = makeParams(params);
    this.mu = Math.LN2 / this.params.halfLifeMs;
    this.muRecent = Math.LN2 / this.params.recentHalfLifeMs;
    for (const id of this.params.preTrusted) this.preTrustedIdx.push(this.intern(id));
  }

  /** Full recompute: the same fold over the whole log, sorted by time (stable). */
  static recompute(evidence: readonly Evidence[], params: Partial<ReputationParams> = {}): ReputationEngine {
    const engine = new ReputationEngine(params);
    const order = evidence.map((_, i) => i);
    order.sort((a, b) => evidence[a]!.at - evidence[b]!.at || a - b);
    for (const i of order) engine.apply(evidence[i]!);
    return engine;
  }

  get agentCount(): number {
    return this.ids.length;
  }
  get edgeCount(): number {
    return this.eFrom.length;
  }
  agentIds(): readonly AgentId[] {
    return this.ids;
  }
  has(agentId: AgentId): boolean {
    return this.index.has(agentId);
  }

  // ---------------------------------------------------------------- apply (incremental update)

  apply(ev: Evidence): void {
    if (!Number.isFinite(ev.at)) throw new RangeError('evidence.at must be a finite number of ms');
    if (ev.at < this.lastAt) throw new OutOfOrderEvidenceError(ev.at, this.lastAt);
    this.lastAt = ev.at;
    const day = Math.floor(ev.at / this.params.dayMs);
    this.advanceEpoch(day);
    switch (ev.type) {
      case 'trade':
        return this.applyTrade(ev, day);
      case 'probe':
        return this.applyProbe(ev, day);
      case 'rating':
        return this.applyRating(ev, day);
      case 'community':
        return this.applyCommunity(ev, day);
      case 'reliability':
        return this.applyReliability(ev, day);
      case 'dispute':
        return this.applyDispute(ev, day);
      case 'same_owner':
        return this.applySameOwner(ev, day);
    }
  }

  /**
   * Optional daily job: compute the global-trust epoch for the day of `now` ahead of the first
   * evidence of that day. Results are identical whether or not it is called, provided no evidence
   * older than `now` is applied afterwards (the service therefore leaves epochs to `apply`).
   */
  advanceTo(now: number): void {
    if (now < this.lastAt) throw new OutOfOrderEvidenceError(now, this.lastAt);
    this.advanceEpoch(Math.floor(now / this.params.dayMs));
  }

  private advanceEpoch(day: number): void {
    if (day <= this.epochDay) return;
    this.epochDay = day;
    if (this.graphVersion === this.epochVersion) return;
    this.epochVersion = this.graphVersion;
    const n = this.ids.length;
    const slot = this.eSlot.data;
    const taint = this.upTaint;
    this.lt = buildLocalTrust(n, this.eFrom.length, this.eFrom.data, this.eTo.data, this.eVal.data, (e) => taint[slot[e]!] === 0);
    const res = eigenTrust(this.lt, {
      preTrusted: this.preTrustedIdx,
      alpha: this.params.alpha,
      tolerance: this.params.trustTolerance,
      maxIterations: this.params.trustMaxIterations,
      initial: this.trust,
    });
    this.trust = res.trust;
    this.preMask = new Uint8Array(n);
    for (const i of this.preTrustedIdx) this.preMask[i] = 1;
    this.tau = referenceTrust(this.trust, this.preMask, this.params.trustReferenceFraction);
    this.epochsComputed++;
  }

  private intern(id: AgentId): number {
    let i = this.index.get(id);
    if (i !== undefined) return i;
    i = this.ids.length;
    if (i >= MAX_AGENTS) throw new RangeError('too many agents for one engine');
    this.ids.push(id);
    this.index.set(id, i);
    for (let k = 0; k < STAT_FIELDS; k++) this.stats.push(0);
    this.ref.push(this.lastAt === -Infinity ? 0 : this.lastAt);
    this.capDay.push(-1);
    this.capBase.push(0);
    this.info.push({
      counts: {
        tradesAsSeller: 0,
        tradesAsBuyer: 0,
        probes: 0,
        ratingsReceived: 0,
        ratingsGiven: 0,
        community: 0,
        reliability: 0,
        disputes: 0,
        disputesLost: 0,
      },
      discounts: {},
      recent: [],
    });
    this.payments.push(undefined);
    this.ownerParent.push(-1);
    this.graphVersion++;
    return i;
  }

  private upairSlot(a: number, b: number): number {
    const key = a < b ? a * MAX_AGENTS + b : b * MAX_AGENTS + a;
    let s = this.upIndex.get(key);
    if (s === undefined) {
      s = this.upTaint.length;
      this.upTaint.push(0);
      this.upIndex.set(key, s);
    }
    return s;
  }

  private addEdge(from: number, to: number, value: number, slot: number): void {
    this.eFrom.push(from);
    this.eTo.push(to);
    this.eVal.push(value);
    this.eSlot.push(slot);
    this.graphVersion++;
  }

  /** Trust weight (0..1) of evidence by `producer` about `subject`, from the current epoch. */
  private weightOf(producer: number, subject: number): number {
    return producerWeight(this.lt, this.trust, this.tau, this.params.alpha, this.preMask, producer, subject);
  }

  /** Close the agent's finished days (gain cap) and decay its statistics to `at`. */
  private touch(a: number, at: number, day: number): void {
    this.closeDays(a, day);
    const dt = at - this.ref[a]!;
    if (dt > 0) {
      const f = Math.exp(-this.mu * dt);
      const o = a * STAT_FIELDS;
      for (let k = 0; k < STAT_FIELDS; k++) this.stats[o + k] = this.stats[o + k]! * f;
      const fr = Math.exp(-this.muRecent * dt) / f;
      for (const k of RECENT_FIELDS) this.stats[o + k] = this.stats[o + k]! * fr;
      this.ref[a] = at;
    }
  }

  private closeDays(a: number, day: number): void {
    const cd = this.capDay[a]!;
    if (cd === day) return;
    if (cd < 0) {
      this.capDay[a] = day;
      this.capBase[a] = 0;
      return;
    }
    this.capBase[a] = this.cappedBefore(a, day);
    this.capDay[a] = day;
  }

  /** C(day - 1) given the agent's state (capDay < day). Does not mutate. */
  private cappedBefore(a: number, day: number): number {
    const cd = this.capDay[a]!;
    const G = this.params.dailyGainCap;
    const dayMs = this.params.dayMs;
    let c = Math.min(this.rawAt(a, (cd + 1) * dayMs), this.capBase[a]! + G);
    // empty days: while recent failures still weigh, the raw score can recover as they fade, so
    // close those days one by one; after that it only decays and the rest closes in O(1)
    let next = cd + 1;
    while (next < day && this.recentPenaltyAt(a, next * dayMs)) {
      c = Math.min(this.rawAt(a, (next + 1) * dayMs), c + G);
      next++;
    }
    const gap = day - next;
    if (gap > 0) c = Math.min(this.rawAt(a, day * dayMs), c + gap * G);
    return c;
  }

  /** Does the recent window still hold failed value that matters (confidence >= 1e-7) at `t`? */
  private recentPenaltyAt(a: number, t: number): boolean {
    const o = a * STAT_FIELDS;
    const bad = this.stats[o + F.recentMass]! - this.stats[o + F.recentOk]!;
    if (!(bad > 0)) return false;
    const dt = t - this.ref[a]!;
    const decayed = dt > 0 ? bad * Math.exp(-this.muRecent * dt) : bad;
    return decayed > 1e-7 * this.params.kRecent;
  }

  private rawAt(a: number, t: number): number {
    return rawScoreFast(this.stats, a * STAT_FIELDS, this.scaleAt(a, t), this.params);
  }

  private scaleAt(a: number, t: number): number {
    // a read at a time before the agent's latest evidence sees the state as of that evidence
    const dt = t - this.ref[a]!;
    return dt <= 0 ? 1 : Math.exp(-this.mu * dt);
  }

  /** Update a (subject, producer, kind) pair with one observation; O(1). Returns the repeat count before. */
  private updatePair(kind: number, subject: number, producer: number, at: number, w: number, x0: number, x1: number, x2: number): number {
    const key = (subject * MAX_AGENTS + producer) * 4 + kind;
    let p = this.pairIndex.get(key);
    if (p === undefined) {
      p = this.pN.length;
      this.pairIndex.set(key, p);
      this.pRef.push(at);
      this.pN.push(0);
      this.pW.push(0);
      this.pX0.push(0);
      this.pX1.push(0);
      this.pX2.push(0);
      this.pSubject.push(subject);
      this.pRecentMass.push(0);
      this.pRecentOk.push(0);
    }
    this.lastPair = p;
    const base = kind === KIND_TRADE ? F.tradeMass : kind === KIND_PROBE ? F.probeMass : F.ratingMass;
    const o = subject * STAT_FIELDS + base;
    const prevCount = this.decayPair(p, at);
    const n0 = this.pN[p]!;
    if (n0 > 0) this.addPairContribution(p, o, kind, -1);
    this.pN[p] = n0 + 1;
    this.pW[p] = this.pW[p]! + w;
    this.pX0[p] = this.pX0[p]! + w * x0;
    this.pX1[p] = this.pX1[p]! + w * x1;
    this.pX2[p] = this.pX2[p]! + w * x2;
    this.addPairContribution(p, o, kind, 1);
    return prevCount;
  }

  private decayPair(p: number, at: number): number {
    const dt = at - this.pRef[p]!;
    if (dt > 0) {
      const f = Math.exp(-2 * this.mu * dt);
      this.pN[p] = this.pN[p]! * f;
      this.pW[p] = this.pW[p]! * f;
      this.pX0[p] = this.pX0[p]! * f;
      this.pX1[p] = this.pX1[p]! * f;
      this.pX2[p] = this.pX2[p]! * f;
      if (this.pRecentMass[p]! > 0) {
        const fr = Math.exp(-this.muRecent * dt);
        this.pRecentMass[p] = this.pRecentMass[p]! * fr;
        this.pRecentOk[p] = this.pRecentOk[p]! * fr;
      }
      this.pRef[p] = at;
    }
    return this.pN[p]!;
  }

  private addPairContribution(p: number, o: number, kind: number, sign: number): void {
    const inv = sign / Math.sqrt(this.pN[p]!);
    const s = this.stats;
    s[o] = s[o]! + this.pW[p]! * inv;
    if (kind === KIND_RATING) {
      s[o + 1] = s[o + 1]! + this.pX0[p]! * inv;
    } else {
      s[o + 1] = s[o + 1]! + this.pX0[p]! * inv;
      s[o + 2] = s[o + 2]! + this.pX1[p]! * inv;
      s[o + 3] = s[o + 3]! + this.pX2[p]! * inv;
    }
  }

  /** Zero every pair between a and b (both directions, trades and ratings) and taint the slot. */
  private taint(a: number, b: number, at: number, day: number): void {
    const slot = this.upairSlot(a, b);
    if (this.upTaint[slot] === 1) return;
    this.upTaint[slot] = 1;
    this.graphVersion++;
    for (const [subject, producer] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const kind of [KIND_TRADE, KIND_RATING]) {
        const p = this.pairIndex.get((subject * MAX_AGENTS + producer) * 4 + kind);
        if (p === undefined) continue;
        this.touch(subject, at, day);
        this.decayPair(p, at);
        const base = kind === KIND_TRADE ? F.tradeMass : F.ratingMass;
        if (this.pN[p]! > 0) this.addPairContribution(p, subject * STAT_FIELDS + base, kind, -1);
        this.pW[p] = 0;
        this.pX0[p] = 0;
        this.pX1[p] = 0;
        this.pX2[p] = 0;
        // clean tiny negative residues of the subtraction
        const o = subject * STAT_FIELDS + base;
        for (let k = 0; k < (kind === KIND_RATING ? 2 : 4); k++) if (this.stats[o + k]! < 1e-12) this.stats[o + k] = Math.max(0, this.stats[o + k]!);
        if (kind === KIND_TRADE && this.pRecentMass[p]! > 0) {
          const r = subject * STAT_FIELDS;
          this.stats[r + F.recentMass] = Math.max(0, this.stats[r + F.recentMass]! - this.pRecentMass[p]!);
          this.stats[r + F.recentOk] = Math.min(this.stats[r + F.recentMass]!, Math.max(0, this.stats[r + F.recentOk]! - this.pRecentOk[p]!));
          this.pRecentMass[p] = 0;
          this.pRecentOk[p] = 0;
        }
      }
    }
  }

  private ownerRoot(a: number): number {
    let r = a;
    while (this.ownerParent[r]! !== r) {
      if (this.ownerParent[r]! < 0) return -1;
      r = this.ownerParent[r]!;
    }
    return r;
  }

  /** Are a and b members of one same-owner cluster (by verdicts applied so far)? */
  private sameOwnerCluster(a: number, b: number): boolean {
    const ra = this.ownerRoot(a);
    return ra >= 0 && ra === this.ownerRoot(b);
  }

  /**
   * A same-owner verdict: merge the members into one cluster, so that their future trades and ratings
   * count zero, and taint every member pair that already traded, which withdraws what they earned from
   * each other (pair statistics and ratings at once, trust-graph edges from the next epoch). O(trades
   * recorded so far), once per verdict.
   */
  private applySameOwner(ev: SameOwnerVerdict, day: number): void {
    const members = [...new Set(ev.members)].map((m) => this.intern(m));
    if (members.length < 2) return;
    let root = -1;
    for (const m of members) {
      const r = this.ownerRoot(m);
      if (r >= 0 && (root < 0 || r < root)) root = r;
    }
    if (root < 0) root = Math.min(...members);
    for (const m of members) {
      const r = this.ownerRoot(m);
      if (r >= 0 && r !== root) this.ownerParent[r] = root;
      this.ownerParent[m] = root;
    }
    this.ownerParent[root] = root;
    let withdrawn = 0;
    const fresh = new Set<number>(); // pairs this verdict taints (earlier taints withdrew their trades already)
    for (let t = 0; t < this.trBuyer.length; t++) {
      const slot = this.trSlot[t]!;
      if ((this.upTaint[slot] === 0 || fresh.has(slot)) && this.sameOwnerCluster(this.trBuyer[t]!, this.trSeller[t]!)) {
        if (!fresh.has(slot)) {
          fresh.add(slot);
          this.taint(this.trBuyer[t]!, this.trSeller[t]!, ev.at, day);
        }
        withdrawn++;
      }
    }
    const info: OwnerVerdictInfo = { id: ev.id, at: ev.at, members: [...ev.members].sort(), signals: [...ev.signals], internalShare: ev.internalShare, tradesWithdrawn: withdrawn };
    for (const m of members) {
      this.info[m]!.owner = info;
      this.note(m, { at: ev.at, type: 'same_owner', weight: 0, discounts: ['same_owner_cluster'] });
    }
  }

  /** The latest same-owner verdict the agent is part of, if any. */
  ownerVerdict(a: number): OwnerVerdictInfo | undefined {
    return this.info[a]!.owner;
  }

  /** Are the two agents in one same-owner cluster? */
  sameOwner(a: AgentId, b: AgentId): boolean {
    const ia = this.index.get(a);
    const ib = this.index.get(b);
    return ia !== undefined && ib !== undefined && this.sameOwnerCluster(ia, ib);
  }

  /** Directed trade counts buyer -> seller over every trade applied (self-trades excluded). */
  tradePairCounts(): { buyerId: AgentId; sellerId: AgentId; count: number }[] {
    const counts = new Map<number, number>();
    for (let t = 0; t < this.trBuyer.length; t++) {
      const key = this.trBuyer[t]! * MAX_AGENTS + this.trSeller[t]!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const out: { buyerId: AgentId; sellerId: AgentId; count: number }[] = [];
    for (const [key, count] of counts) {
      const b = Math.floor(key / MAX_AGENTS);
      out.push({ buyerId: this.ids[b]!, sellerId: this.ids[key - b * MAX_AGENTS]!, count });
    }
    return out;
  }

  private note(a: number, item: RecentItem): void {
    const inf = this.info[a]!;
    for (const r of item.discounts) inf.discounts[r] = (inf.discounts[r] ?? 0) + 1;
    const cap = this.params.recentItems;
    if (cap <= 0) return;
    if (inf.recent.length >= cap) inf.recent.shift();
    inf.recent.push(item);
  }

  private applyTrade(ev: TradeOutcome, day: number): void {
    const b = this.intern(ev.buyerId);
    const s = this.intern(ev.sellerId);
    this.info[s]!.counts.tradesAsSeller++;
    this.info[b]!.counts.tradesAsBuyer++;
    this.touch(s, ev.at, day);
    const amount = Number(ev.amount) / 1e8;
    const success = ev.success ? (ev.slaMet ? 1 : 0.5) : 0;
    // what a fair rating of this trade would say (ratings are checked against it)
    const quality = success * (0.5 + 0.5 * accuracyCurve(ev.accuracy));
    // the buyer's experience as a trust edge: only an accurate delivery is a good one
    const experience = success * accuracyCurve(ev.accuracy);
    const discount = (reason: DiscountReason): void => {
      this.note(s, { at: ev.at, type: 'trade', counterparty: ev.buyerId, weight: 0, discounts: [reason] });
    };
    if (b === s) return discount('same_owner');
    const slot = this.upairSlot(b, s);
    const t = this.trBuyer.length;
    this.tradeIndex.set(ev.id, t);
    this.trBuyer.push(b);
    this.trSeller.push(s);
    this.trQuality.push(quality);
    this.trRated.push(0);
    this.trSlot.push(slot);
    let log = this.payments[b];
    if (log === undefined) this.payments[b] = log = { to: [], amount: [], at: [] };
    if (ev.sameOwnerSuspected === true) {
      this.taint(b, s, ev.at, day);
      this.recordPayment(log, s, amount, ev.at);
      return discount('same_owner');
    }
    if (this.sameOwnerCluster(b, s)) {
      this.taint(b, s, ev.at, day);
      this.recordPayment(log, s, amount, ev.at);
      return discount('same_owner_cluster');
    }
    if (this.upTaint[slot] === 1) {
      this.recordPayment(log, s, amount, ev.at);
      return discount('tainted_pair');
    }
    const loop = findPaymentLoop(this.payments, s, b, amount, ev.at, this.params);
    const circle = loop === null ? this.findCircle(s, b, amount, ev.at) : null;
    this.recordPayment(log, s, amount, ev.at);
    const cycle = loop ?? circle;
    if (cycle !== null) {
      // cycle = [s, ..., b]; taint each hop and the closing pair (b, s)
      for (let k = 0; k + 1 < cycle.length; k++) this.taint(cycle[k]!, cycle[k + 1]!, ev.at, day);
      this.taint(b, s, ev.at, day);
      return discount(loop !== null ? 'closed_loop' : 'circular_trading');
    }
    const tw = this.weightOf(b, s);
    const w = tw * amountWeight(ev.amount);
    // a failed trade delivered nothing: no credit for latency or accuracy
    const lat = ev.success ? latencyCurve(ev.latencyMs) : 0;
    const acc = ev.success ? clamp01(ev.accuracy) : 0;
    const prev = this.updatePair(KIND_TRADE, s, b, ev.at, w, lat, acc, success);
    // recent window: value at stake (AITBC, at least 1), trust-weighted, no pair diminishing
    const wr = tw * Math.max(1, amount);
    const o = s * STAT_FIELDS;
    this.stats[o + F.recentMass] = this.stats[o + F.recentMass]! + wr;
    this.stats[o + F.recentOk] = this.stats[o + F.recentOk]! + wr * success;
    const pair = this.lastPair;
    this.pRecentMass[pair] = this.pRecentMass[pair]! + wr;
    this.pRecentOk[pair] = this.pRecentOk[pair]! + wr * success;
    const discounts: DiscountReason[] = [];
    if (tw < 1) discounts.push('low_trust_producer');
    if (prev >= 0.5) discounts.push('repeated_pair');
    this.note(s, { at: ev.at, type: 'trade', counterparty: ev.buyerId, weight: w, discounts });
    this.addEdge(b, s, 2 * experience - 1, slot);
    this.addEdge(s, b, 1, slot);
  }

  /** A cycle of payments [s, ..., b] of any amounts within the circle window, or null. */
  private findCircle(s: number, b: number, amount: number, at: number): number[] | null {
    const p = this.params;
    if (p.circleMaxLength < 2) return null;
    return findPaymentLoop(this.payments, s, b, amount, at, { loopMaxLength: p.circleMaxLength, loopWindowMs: p.circleWindowMs, loopAmountTolerance: Infinity });
  }

  private recordPayment(log: PaymentLog, to: number, amount: number, at: number): void {
    const window = Math.max(this.params.loopWindowMs, this.params.circleMaxLength >= 2 ? this.params.circleWindowMs : 0);
    if (log.at.length >= 64 && at - log.at[0]! > window) {
      let k = 0;
      while (k < log.at.length && at - log.at[k]! > window) k++;
      log.to.splice(0, k);
      log.amount.splice(0, k);
      log.at.splice(0, k);
    }
    log.to.push(to);
    log.amount.push(amount);
    log.at.push(at);
  }

  private applyProbe(ev: ProbeMeasurement, day: number): void {
    const p = this.intern(ev.probeId);
    const a = this.intern(ev.agentId);
    if (p === a) return;
    this.info[a]!.counts.probes++;
    this.touch(a, ev.at, day);
    const w = this.weightOf(p, a);
    const acc = clamp01(ev.accuracy);
    this.updatePair(KIND_PROBE, a, p, ev.at, w, latencyCurve(ev.responseMs), acc, ev.available ? 1 : 0);
    this.note(a, { at: ev.at, type: 'probe', counterparty: ev.probeId, weight: w, discounts: w < 1 ? ['low_trust_producer'] : [] });
    this.addEdge(p, a, ev.available ? 2 * accuracyCurve(acc) - 1 : -1, this.upairSlot(p, a));
  }

  private applyRating(ev: Rating, day: number): void {
    const r = this.intern(ev.raterId);
    const e = this.intern(ev.rateeId);
    this.info[r]!.counts.ratingsGiven++;
    this.info[e]!.counts.ratingsReceived++;
    const t = this.tradeIndex.get(ev.tradeId);
    const skip = (reason: DiscountReason): void => {
      this.note(e, { at: ev.at, type: 'rating', counterparty: ev.raterId, weight: 0, discounts: [reason] });
    };
    if (t === undefined || r === e) return skip('rating_not_party');
    const buyer = this.trBuyer[t]!;
    const seller = this.trSeller[t]!;
    const side = r === buyer && e === seller ? 1 : r === seller && e === buyer ? 2 : 0;
    if (side === 0) return skip('rating_not_party');
    if ((this.trRated[t]! & side) !== 0) return skip('rating_duplicate');
    this.trRated[t] = this.trRated[t]! | side;
    if (this.upTaint[this.trSlot[t]!] === 1) return skip('tainted_pair');
    this.touch(e, ev.at, day);
    const x = clamp01((ev.stars - 1) / 4);
    // the buyer's rating is checked against the objective outcome; the seller rates a buyer who paid
    const q = side === 1 ? this.trQuality[t]! : 1;
    const consistency = Math.max(0.1, 1 - Math.abs(x - q));
    // a rating that contradicts the measured outcome is pulled toward it in proportion to the
    // contradiction: the rater's opinion counts only as far as the facts allow (a 1-star "review" of a
    // perfect delivery says little about the seller; 5 stars for a failed trade still reads as a failure)
    const adjusted = consistency * x + (1 - consistency) * q;
    const w = this.weightOf(r, e);
    const tw = w;
    const prev = this.updatePair(KIND_RATING, e, r, ev.at, w, adjusted, 0, 0);
    const discounts: DiscountReason[] = [];
    if (tw < 1) discounts.push('low_trust_producer');
    if (consistency < 0.75) discounts.push('rating_inconsistent');
    if (prev >= 0.5) discounts.push('repeated_pair');
    this.note(e, { at: ev.at, type: 'rating', counterparty: ev.raterId, weight: w, discounts });
    this.addEdge(r, e, consistency * (2 * x - 1), this.trSlot[t]!);
  }

  private applyCommunity(ev: CommunityAction, day: number): void {
    const a = this.intern(ev.agentId);
    this.info[a]!.counts.community++;
    this.touch(a, ev.at, day);
    const k = ev.kind === 'forum' ? 0 : ev.kind === 'knowledge_sharing' ? 1 : ev.kind === 'mentorship' ? 2 : 3;
    const o = a * STAT_FIELDS + F.community0 + k;
    this.stats[o] = this.stats[o]! + 1;
    this.note(a, { at: ev.at, type: 'community', weight: 1, discounts: [] });
  }

  private applyReliability(ev: ReliabilityAttestation, day: number): void {
    const a = this.intern(ev.agentId);
    this.info[a]!.counts.reliability++;
    this.touch(a, ev.at, day);
    const k = ev.kind === 'uptime' ? 0 : ev.kind === 'maintenance' ? 1 : ev.kind === 'security' ? 2 : 3;
    const o = a * STAT_FIELDS;
    this.stats[o + F.reliabilityW0 + k] = this.stats[o + F.reliabilityW0 + k]! + 1;
    this.stats[o + F.reliabilityX0 + k] = this.stats[o + F.reliabilityX0 + k]! + clamp01(ev.value);
    this.note(a, { at: ev.at, type: 'reliability', weight: 1, discounts: [] });
  }

  private applyDispute(ev: DisputeOutcome, day: number): void {
    const a = this.intern(ev.agentId);
    const inf = this.info[a]!;
    inf.counts.disputes++;
    if (ev.outcome === 'lost') inf.counts.disputesLost++;
    this.touch(a, ev.at, day);
    const o = a * STAT_FIELDS;
    const lost = ev.outcome === 'lost' ? 2 : ev.outcome === 'settled' ? 1 : 0;
    const won = 2 - lost;
    this.stats[o + F.disputeLost] = this.stats[o + F.disputeLost]! + lost;
    this.stats[o + F.disputeWon] = this.stats[o + F.disputeWon]! + won;
    this.note(a, { at: ev.at, type: 'dispute', counterparty: ev.filedBy, weight: 2, discounts: [] });
  }

  // ---------------------------------------------------------------- reads

  /** Published score at `now` (>= the time of the last evidence applied to that agent). */
  score(agentId: AgentId, now: number): ScoreView {
    const a = this.index.get(agentId);
    const d = a === undefined ? undefined : this.detailAt(a, now);
    if (a === undefined || d === undefined) {
      const components = { performance: -200, transactions: -150, community: -100, reliability: -50, disputes: -50, raw: 0 };
      return { agentId, score: 0, raw: 0, components, gainCapped: false, observations: 0 };
    }
    const components = componentsFromDetail(d);
    const cap = this.capLimit(a, now);
    const score = Math.min(components.raw, cap);
    return { agentId, score, raw: components.raw, components, gainCapped: components.raw > cap, observations: this.observations(a) };
  }

  /** Published score only (fast path for routing / leaderboards). */
  scoreOf(agentId: AgentId, now: number): number {
    const a = this.index.get(agentId);
    if (a === undefined || this.capDay[a]! < 0) return 0;
    const raw = this.rawAt(a, now);
    return Math.min(raw, this.capLimit(a, now));
  }

  /** C(day(now) - 1) + G, the most the published score may be at `now`. */
  private capLimit(a: number, now: number): number {
    const cd = this.capDay[a]!;
    if (cd < 0) return 0;
    const day = Math.max(cd, Math.floor(now / this.params.dayMs));
    const base = day === cd ? this.capBase[a]! : this.cappedBefore(a, day);
    return base + this.params.dailyGainCap;
  }

  /** Channel-level detail of one agent at `now` (undefined for an agent with no evidence as subject). */
  detailAt(a: number, now: number): ComponentDetail | undefined {
    if (this.capDay[a]! < 0) return undefined;
    return componentDetail(this.stats, a * STAT_FIELDS, this.scaleAt(a, now), this.params);
  }

  indexOf(agentId: AgentId): number | undefined {
    return this.index.get(agentId);
  }

  observations(a: number): number {
    const c = this.info[a]!.counts;
    return c.tradesAsSeller + c.probes + c.ratingsReceived + c.community + c.reliability + c.disputes;
  }

  counts(a: number): Readonly<AgentCounts> {
    return this.info[a]!.counts;
  }
  discounts(a: number): Readonly<Partial<Record<DiscountReason, number>>> {
    return this.info[a]!.discounts;
  }
  recent(a: number): readonly RecentItem[] {
    return this.info[a]!.recent;
  }

  /** Global trust (sums to 1) and evidence weight of an agent in the current epoch. */
  trustOf(agentId: AgentId): { trust: number; weight: number; preTrusted: boolean } {
    const a = this.index.get(agentId);
    if (a === undefined) return { trust: 0, weight: 0, preTrusted: false };
    const pre = this.preMask[a] === 1;
    const trust = this.trust[a] ?? 0;
    const weight = pre ? 1 : Math.min(1, trust / this.tau);
    return { trust, weight, preTrusted: pre };
  }

  /** Time of the last evidence applied (-Infinity before any). */
  get lastAppliedAt(): number {
    return this.lastAt;
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * The engine's whole state as plain data. `ReputationEngine.restore(checkpoint)` followed by the rest
   * of the log gives exactly the state of replaying the whole log (tested), so a process can start from
   * a stored checkpoint and replay only the evidence after it.
   */
  checkpoint(): EngineCheckpoint {
    const f: Record<string, Float64Array> = {};
    const n: Record<string, Int32Array> = {};
    for (const [k, v] of Object.entries(this.f64Fields())) f[k] = f64(v);
    for (const [k, v] of Object.entries(this.i32Fields())) n[k] = i32(v);
    f.scalars = f64([this.lastAt, this.graphVersion, this.epochDay, this.epochVersion, this.tau, this.epochsComputed]);
    f.pairKeys = f64([...this.pairIndex.keys()]);
    n.pairValues = i32([...this.pairIndex.values()]);
    f.upKeys = f64([...this.upIndex.keys()]);
    n.upValues = i32([...this.upIndex.values()]);
    n.tradeValues = i32([...this.tradeIndex.values()]);
    n.eFrom = i32(this.eFrom.data, this.eFrom.length);
    n.eTo = i32(this.eTo.data, this.eTo.length);
    n.eSlot = i32(this.eSlot.data, this.eSlot.length);
    f.eVal = f64(this.eVal.data, this.eVal.length);
    f.trust = f64(this.trust);
    // payment logs, flattened: agent a's payments are [payStart[a], payStart[a+1]); payHas marks a log
    const start = new Int32Array(this.payments.length + 1);
    const has = new Uint8Array(this.payments.length);
    let total = 0;
    this.payments.forEach((p, a) => {
      start[a] = total;
      if (p !== undefined) {
        has[a] = 1;
        total += p.to.length;
      }
    });
    start[this.payments.length] = total;
    const to = new Int32Array(total);
    const amount = new Float64Array(total);
    const at = new Float64Array(total);
    this.payments.forEach((p, a) => {
      if (p === undefined) return;
      to.set(p.to, start[a]!);
      amount.set(p.amount, start[a]!);
      at.set(p.at, start[a]!);
    });
    Object.assign(n, { payStart: start, payTo: to });
    Object.assign(f, { payAmount: amount, payAt: at });
    const u: Record<string, Uint8Array> = { preMask: this.preMask.slice(), payHas: has };
    const lt = this.lt;
    if (lt !== undefined) {
      n.ltRowStart = lt.rowStart.slice();
      n.ltCol = lt.col.slice();
      f.ltWeight = lt.weight.slice();
      u.ltDangling = lt.dangling.slice();
    }
    return {
      format: CHECKPOINT_FORMAT,
      paramsKey: paramsKey(this.params),
      ids: [...this.ids],
      tradeIds: [...this.tradeIndex.keys()],
      ...this.infoForCheckpoint(),
      ltN: lt === undefined ? null : lt.n,
      f64: f,
      i32: n,
      u8: u,
    };
  }

  /** An engine in the state a checkpoint recorded; throws when it was made with other parameters or format. */
  static restore(cp: EngineCheckpoint, params: Partial<ReputationParams> = {}): ReputationEngine {
    const e = new ReputationEngine(params);
    if (cp.format !== CHECKPOINT_FORMAT || cp.paramsKey !== paramsKey(e.params)) throw new Error('checkpoint made with other parameters or format');
    const [lastAt, graphVersion, epochDay, epochVersion, tau, epochsComputed] = cp.f64.scalars!;
    e.lastAt = lastAt!;
    e.graphVersion = graphVersion!;
    e.epochDay = epochDay!;
    e.epochVersion = epochVersion!;
    e.tau = tau!;
    e.epochsComputed = epochsComputed!;
    e.ids.length = 0;
    e.index.clear();
    for (const id of cp.ids) {
      e.index.set(id, e.ids.length);
      e.ids.push(id);
    }
    const fill = (target: number[], src: ArrayLike<number>): void => {
      target.length = 0;
      for (let i = 0; i < src.length; i++) target.push(src[i]!);
    };
    for (const [k, v] of Object.entries(e.f64Fields())) fill(v, cp.f64[k]!);
    for (const [k, v] of Object.entries(e.i32Fields())) fill(v, cp.i32[k]!);
    const pk = cp.f64.pairKeys!;
    const pv = cp.i32.pairValues!;
    for (let i = 0; i < pk.length; i++) e.pairIndex.set(pk[i]!, pv[i]!);
    const uk = cp.f64.upKeys!;
    const uv = cp.i32.upValues!;
    for (let i = 0; i < uk.length; i++) e.upIndex.set(uk[i]!, uv[i]!);
    const tv = cp.i32.tradeValues!;
    cp.tradeIds.forEach((id, i) => e.tradeIndex.set(id, tv[i]!));
    const column = <C extends I32Column | F64Column>(c: C, data: Int32Array | Float64Array): void => {
      c.length = data.length;
      const capacity = Math.max(16, data.length * 2);
      c.data = (c instanceof I32Column ? new Int32Array(capacity) : new Float64Array(capacity)) as C['data'];
      c.data.set(data);
    };
    column(e.eFrom, cp.i32.eFrom!);
    column(e.eTo, cp.i32.eTo!);
    column(e.eSlot, cp.i32.eSlot!);
    column(e.eVal, cp.f64.eVal!);
    e.trust = cp.f64.trust!;
    e.preMask = cp.u8.preMask!;
    e.info.length = 0;
    const verdicts = cp.verdicts as OwnerVerdictInfo[];
    for (const x of cp.info as (Omit<AgentInfo, 'owner'> & { owner?: number })[]) {
      const { owner, ...rest } = x;
      e.info.push(owner === undefined ? rest : { ...rest, owner: verdicts[owner]! });
    }
    e.payments.length = 0;
    const start = cp.i32.payStart!;
    const has = cp.u8.payHas!;
    for (let a = 0; a < has.length; a++) {
      if (has[a] === 0) {
        e.payments.push(undefined);
        continue;
      }
      const s0 = start[a]!;
      const s1 = start[a + 1]!;
      e.payments.push({ to: Array.from(cp.i32.payTo!.subarray(s0, s1)), amount: Array.from(cp.f64.payAmount!.subarray(s0, s1)), at: Array.from(cp.f64.payAt!.subarray(s0, s1)) });
    }
    e.lt = cp.ltN === null ? undefined : {
      n: cp.ltN, rowStart: cp.i32.ltRowStart!, col: cp.i32.ltCol!, weight: cp.f64.ltWeight!, dangling: cp.u8.ltDangling!,
    };
    return e;
  }

  /** Agent info with each verdict stored once (members of a cluster share one verdict object). */
  private infoForCheckpoint(): { info: unknown[]; verdicts: unknown[] } {
    const verdicts: OwnerVerdictInfo[] = [];
    const at = new Map<OwnerVerdictInfo, number>();
    const info = this.info.map(({ owner, ...rest }) => {
      if (owner === undefined) return rest;
      let k = at.get(owner);
      if (k === undefined) at.set(owner, (k = verdicts.push(owner) - 1));
      return { ...rest, owner: k };
    });
    return { info, verdicts };
  }

  private f64Fields(): Record<string, number[]> {
    return {
      stats: this.stats, ref: this.ref, capBase: this.capBase, pRef: this.pRef, pN: this.pN, pW: this.pW, pX0: this.pX0, pX1: this.pX1, pX2: this.pX2,
      pRecentMass: this.pRecentMass, pRecentOk: this.pRecentOk, trQuality: this.trQuality,
    };
  }

  private i32Fields(): Record<string, number[]> {
    return {
      capDay: this.capDay, ownerParent: this.ownerParent, pSubject: this.pSubject, upTaint: this.upTaint, trBuyer: this.trBuyer, trSeller: this.trSeller,
      trRated: this.trRated, trSlot: this.trSlot, preTrustedIdx: this.preTrustedIdx,
    };
  }

  /** Snapshot of the engine's state for comparison in tests (raw statistics + cap state). */
  stateDigest(): { stats: number[]; capDay: number[]; capBase: number[]; ref: number[] } {
    return { stats: [...this.stats], capDay: [...this.capDay], capBase: [...this.capBase], ref: [...this.ref] };
  }
}

export { DAY_MS };
