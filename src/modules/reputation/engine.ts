/**
 * (Longer than 400 lines because every kind of evidence's update is here, next to the others it must agree with.)
 *
 * The reputation engine: a deterministic fold over the evidence log (no clock, no randomness,
 * no I/O). `apply` is the incremental update; `ReputationEngine.recompute(all evidence)` is the
 * full recompute, and it is literally the same fold, so both give bit-identical scores.
 *
 * The state is in engine-state.ts, the bookkeeping every kind of evidence shares in engine-statistics.ts,
 * checkpoints in engine-checkpoint.ts. Sufficient statistics (see docs in trust-score.ts):
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
 *
 * Length: the fold of each kind of evidence and the reads over it share the engine's interned state and are
 * kept together so the model above reads in one place; state, bookkeeping, checkpoints and explanations are
 * already in engine-state.ts, engine-statistics.ts, engine-checkpoint.ts and explain.ts.
 */
import { DAY_MS } from './evidence.types.js';
import type {
  AgentId,
  CommunityAction,
  DiscountReason,
  DisputeOutcome,
  Evidence,
  FundingReport,
  ProbeMeasurement,
  Rating,
  ReliabilityAttestation,
  SameOwnerVerdict,
  TradeOutcome,
} from './evidence.types.js';
import { accuracyCurve, amountWeight, clamp01, latencyCurve } from './params.js';
import type { ReputationParams } from './params.js';
import { F, STAT_FIELDS, componentDetail, componentsFromDetail } from './trust-score.js';
import type { ComponentDetail, ComponentValues } from './trust-score.js';
import { findPaymentLoop } from './wash.js';
import type { PaymentLog } from './wash.js';
import type { EngineCheckpoint } from './checkpoint.js';
import { checkpointOf, restoreState, stateDigest } from './engine-checkpoint.js';
import { KIND_PROBE, KIND_RATING, KIND_TRADE, MAX_AGENTS, type AgentCounts, type OwnerVerdictInfo, type RecentItem } from './engine-state.js';
import { EngineStatistics } from './engine-statistics.js';

export type { AgentCounts, OwnerVerdictInfo, RecentItem };

export class OutOfOrderEvidenceError extends Error {
  readonly code = 'out_of_order';
  constructor(at: number, last: number) {
    super(`evidence at ${at} is older than the last applied evidence (${last}); apply in time order`);
  }
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

export class ReputationEngine extends EngineStatistics {
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
    return this.edgeFrom.length;
  }
  agentIds(): readonly AgentId[] {
    return this.ids;
  }
  has(agentId: AgentId): boolean {
    return this.agentIndex.has(agentId);
  }

  // ---------------------------------------------------------------- apply (incremental update)

  apply(ev: Evidence): void {
    if (!Number.isFinite(ev.at)) throw new RangeError('evidence.at must be a finite number of ms');
    if (ev.at < this.lastAt) throw new OutOfOrderEvidenceError(ev.at, this.lastAt);
    this.lastAt = ev.at;
    const day = Math.floor(ev.at / this.params.dayMs);
    this.advanceEpoch(day, ev.at);
    switch (ev.type) {
      case 'epoch':
        return this.computeEpoch(ev.at, day);
      case 'funding':
        return this.applyFunding(ev);
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
   * Compute the global-trust epoch for the day of `now` at `now`, ahead of the first evidence of that
   * day. The epoch re-weighs the evidence at the time it runs, so a replay gives the same result only if
   * it runs the epoch at the same time: the service records epochs as evidence (`EpochMark`) instead.
   */
  advanceTo(now: number): void {
    if (now < this.lastAt) throw new OutOfOrderEvidenceError(now, this.lastAt);
    this.advanceEpoch(Math.floor(now / this.params.dayMs), now);
  }

  /** The agent's externally funded value (AITBC): its seed share from the next epoch on. */
  private applyFunding(ev: FundingReport): void {
    const a = this.intern(ev.agentId);
    const v = Number(ev.amount > 0n ? ev.amount : 0n) / 1e8;
    if (this.seedValue[a] === v) return;
    this.seedValue[a] = v;
    this.graphVersion++;
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
    for (let t = 0; t < this.tradeBuyer.length; t++) {
      const slot = this.tradePairSlot[t]!;
      if ((this.unorderedPairTainted[slot] === 0 || fresh.has(slot)) && this.sameOwnerCluster(this.tradeBuyer[t]!, this.tradeSeller[t]!)) {
        if (!fresh.has(slot)) {
          fresh.add(slot);
          this.taint(this.tradeBuyer[t]!, this.tradeSeller[t]!, ev.at, day);
        }
        withdrawn++;
      }
    }
    const info: OwnerVerdictInfo = { id: ev.id, at: ev.at, members: [...ev.members].sort(), signals: [...ev.signals], internalShare: ev.internalShare, tradesWithdrawn: withdrawn };
    for (const m of members) {
      this.agentInfo[m]!.owner = info;
      this.note(m, { at: ev.at, type: 'same_owner', weight: 0, discounts: ['same_owner_cluster'] });
    }
  }

  private applyTrade(ev: TradeOutcome, day: number): void {
    const b = this.intern(ev.buyerId);
    const s = this.intern(ev.sellerId);
    this.agentInfo[s]!.counts.tradesAsSeller++;
    this.agentInfo[b]!.counts.tradesAsBuyer++;
    this.touch(s, ev.at, day);
    const amount = Number(ev.amount) / 1e8;
    const success = ev.success ? (ev.slaMet ? 1 : 0.5) : 0;
    // the seller's claim counts only where the buyer does not contradict it: the buyer's experience wins
    const bLat = ev.buyerLatencyMs;
    const bAcc = ev.buyerAccuracy;
    const latencyMs = bLat !== undefined && bLat >= 0 ? bLat : ev.latencyMs;
    const accuracy = bAcc !== undefined && bAcc >= 0 && bAcc <= 1 ? bAcc : ev.accuracy;
    const contradicted = latencyCurve(latencyMs) < latencyCurve(ev.latencyMs) - 0.1 || accuracy < ev.accuracy - 0.05;
    // what a fair rating of this trade would say (ratings are checked against it)
    const quality = success * (0.5 + 0.5 * accuracyCurve(accuracy));
    // the buyer's experience as a trust edge: only an accurate delivery is a good one
    const experience = success * accuracyCurve(accuracy);
    const discount = (reason: DiscountReason): void => {
      this.note(s, { at: ev.at, type: 'trade', counterparty: ev.buyerId, weight: 0, discounts: [reason] });
    };
    if (b === s) return discount('same_owner');
    const slot = this.unorderedPairSlot(b, s);
    const t = this.tradeBuyer.length;
    this.tradeIndex.set(ev.id, t);
    this.tradeBuyer.push(b);
    this.tradeSeller.push(s);
    this.tradeQuality.push(quality);
    this.tradeRatedSides.push(0);
    this.tradePairSlot.push(slot);
    let log = this.paymentLogs[b];
    if (log === undefined) this.paymentLogs[b] = log = { to: [], amount: [], at: [] };
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
    if (this.unorderedPairTainted[slot] === 1) {
      this.recordPayment(log, s, amount, ev.at);
      return discount('tainted_pair');
    }
    const loop = findPaymentLoop(this.paymentLogs, s, b, amount, ev.at, this.params);
    const circle = loop === null ? this.findCircle(s, b, amount, ev.at) : null;
    this.recordPayment(log, s, amount, ev.at);
    const cycle = loop ?? circle;
    if (cycle !== null) {
      // cycle = [s, ..., b]; taint each hop and the closing pair (b, s)
      for (let k = 0; k + 1 < cycle.length; k++) this.taint(cycle[k]!, cycle[k + 1]!, ev.at, day);
      this.taint(b, s, ev.at, day);
      return discount(loop !== null ? 'closed_loop' : 'circular_trading');
    }
    const aw = amountWeight(ev.amount);
    // a failed trade delivered nothing: no credit for latency or accuracy
    const lat = ev.success ? latencyCurve(latencyMs) : 0;
    const acc = ev.success ? clamp01(accuracy) : 0;
    const prev = this.updatePair(KIND_TRADE, s, b, ev.at, aw, lat, acc, success);
    const pair = this.lastPairUpdated;
    const tw = this.pairTrust[pair]!;
    const w = tw * aw;
    // recent window: value at stake (AITBC, at least 1), trust-weighted, no pair diminishing
    const wr = Math.max(1, amount);
    const o = s * STAT_FIELDS;
    this.agentStats[o + F.recentMass] = this.agentStats[o + F.recentMass]! + tw * wr;
    this.agentStats[o + F.recentOk] = this.agentStats[o + F.recentOk]! + tw * wr * success;
    this.pairRecentMass[pair] = this.pairRecentMass[pair]! + wr;
    this.pairRecentOk[pair] = this.pairRecentOk[pair]! + wr * success;
    const discounts: DiscountReason[] = [];
    if (this.isDiscounted(b)) discounts.push('risk_intervention');
    else if (tw < 1) discounts.push('low_trust_producer');
    if (prev >= 0.5) discounts.push('repeated_pair');
    if (contradicted) discounts.push('claim_contradicted');
    this.note(s, { at: ev.at, type: 'trade', counterparty: ev.buyerId, weight: w, discounts });
    this.addEdge(b, s, 2 * experience - 1, slot);
    this.addEdge(s, b, 1, slot);
  }

  /** A cycle of payments [s, ..., b] of any amounts within the circle window, or null. */
  private findCircle(s: number, b: number, amount: number, at: number): number[] | null {
    const p = this.params;
    if (p.circleMaxLength < 2) return null;
    return findPaymentLoop(this.paymentLogs, s, b, amount, at, { loopMaxLength: p.circleMaxLength, loopWindowMs: p.circleWindowMs, loopAmountTolerance: Infinity });
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
    this.agentInfo[a]!.counts.probes++;
    this.touch(a, ev.at, day);
    const acc = clamp01(ev.accuracy);
    this.updatePair(KIND_PROBE, a, p, ev.at, 1, latencyCurve(ev.responseMs), acc, ev.available ? 1 : 0);
    const w = this.pairTrust[this.lastPairUpdated]!;
    this.note(a, { at: ev.at, type: 'probe', counterparty: ev.probeId, weight: w, discounts: this.isDiscounted(p) ? ['risk_intervention'] : w < 1 ? ['low_trust_producer'] : [] });
    this.addEdge(p, a, ev.available ? 2 * accuracyCurve(acc) - 1 : -1, this.unorderedPairSlot(p, a));
  }

  private applyRating(ev: Rating, day: number): void {
    const r = this.intern(ev.raterId);
    const e = this.intern(ev.rateeId);
    this.agentInfo[r]!.counts.ratingsGiven++;
    this.agentInfo[e]!.counts.ratingsReceived++;
    const t = this.tradeIndex.get(ev.tradeId);
    const skip = (reason: DiscountReason): void => {
      this.note(e, { at: ev.at, type: 'rating', counterparty: ev.raterId, weight: 0, discounts: [reason] });
    };
    if (t === undefined || r === e) return skip('rating_not_party');
    const buyer = this.tradeBuyer[t]!;
    const seller = this.tradeSeller[t]!;
    const side = r === buyer && e === seller ? 1 : r === seller && e === buyer ? 2 : 0;
    if (side === 0) return skip('rating_not_party');
    if ((this.tradeRatedSides[t]! & side) !== 0) return skip('rating_duplicate');
    this.tradeRatedSides[t] = this.tradeRatedSides[t]! | side;
    if (this.unorderedPairTainted[this.tradePairSlot[t]!] === 1) return skip('tainted_pair');
    this.touch(e, ev.at, day);
    const x = clamp01((ev.stars - 1) / 4);
    // the buyer's rating is checked against the objective outcome; the seller rates a buyer who paid
    const q = side === 1 ? this.tradeQuality[t]! : 1;
    const consistency = Math.max(0.1, 1 - Math.abs(x - q));
    // a rating that contradicts the measured outcome is pulled toward it in proportion to the
    // contradiction: the rater's opinion counts only as far as the facts allow (a 1-star "review" of a
    // perfect delivery says little about the seller; 5 stars for a failed trade still reads as a failure)
    const adjusted = consistency * x + (1 - consistency) * q;
    const prev = this.updatePair(KIND_RATING, e, r, ev.at, 1, adjusted, 0, 0);
    const w = this.pairTrust[this.lastPairUpdated]!;
    const tw = w;
    const discounts: DiscountReason[] = [];
    if (this.isDiscounted(r)) discounts.push('risk_intervention');
    else if (tw < 1) discounts.push('low_trust_producer');
    if (consistency < 0.75) discounts.push('rating_inconsistent');
    else this.ratingGiven(r, ev.at, day);
    if (prev >= 0.5) discounts.push('repeated_pair');
    this.note(e, { at: ev.at, type: 'rating', counterparty: ev.raterId, weight: w, discounts });
    this.addEdge(r, e, consistency * (2 * x - 1), this.tradePairSlot[t]!);
  }

  /** A consistent rating on a counted trade: real community participation of the rater (trust-weighted). */
  private ratingGiven(r: number, at: number, day: number): void {
    this.rebase(r, at, day);
    const o = r * STAT_FIELDS;
    this.agentStats[o + F.ratingsGivenRaw] = this.agentStats[o + F.ratingsGivenRaw]! + 1;
    this.pairGiven[this.lastPairUpdated] = this.pairGiven[this.lastPairUpdated]! + 1;
    this.agentStats[o + F.ratingsGiven] = this.agentStats[o + F.ratingsGiven]! + this.ownWeight(r);
  }

  private applyCommunity(ev: CommunityAction, day: number): void {
    const a = this.intern(ev.agentId);
    this.agentInfo[a]!.counts.community++;
    this.touch(a, ev.at, day);
    const k = ev.kind === 'forum' ? 0 : ev.kind === 'knowledge_sharing' ? 1 : ev.kind === 'mentorship' ? 2 : 3;
    const o = a * STAT_FIELDS + F.community0 + k;
    this.agentStats[o] = this.agentStats[o]! + 1;
    this.note(a, { at: ev.at, type: 'community', weight: 1, discounts: [] });
  }

  private applyReliability(ev: ReliabilityAttestation, day: number): void {
    const a = this.intern(ev.agentId);
    this.agentInfo[a]!.counts.reliability++;
    this.touch(a, ev.at, day);
    const k = ev.kind === 'uptime' ? 0 : ev.kind === 'maintenance' ? 1 : ev.kind === 'security' ? 2 : 3;
    const o = a * STAT_FIELDS;
    this.agentStats[o + F.reliabilityW0 + k] = this.agentStats[o + F.reliabilityW0 + k]! + 1;
    this.agentStats[o + F.reliabilityX0 + k] = this.agentStats[o + F.reliabilityX0 + k]! + clamp01(ev.value);
    this.note(a, { at: ev.at, type: 'reliability', weight: 1, discounts: [] });
  }

  private applyDispute(ev: DisputeOutcome, day: number): void {
    const a = this.intern(ev.agentId);
    const inf = this.agentInfo[a]!;
    inf.counts.disputes++;
    if (ev.outcome === 'lost') inf.counts.disputesLost++;
    this.touch(a, ev.at, day);
    const o = a * STAT_FIELDS;
    const lost = ev.outcome === 'lost' ? 2 : ev.outcome === 'settled' ? 1 : 0;
    const won = 2 - lost;
    this.agentStats[o + F.disputeLost] = this.agentStats[o + F.disputeLost]! + lost;
    this.agentStats[o + F.disputeWon] = this.agentStats[o + F.disputeWon]! + won;
    this.note(a, { at: ev.at, type: 'dispute', counterparty: ev.filedBy, weight: 2, discounts: [] });
  }

  // ---------------------------------------------------------------- reads

  /** Published score at `now` (>= the time of the last evidence applied to that agent). */
  score(agentId: AgentId, now: number): ScoreView {
    const a = this.agentIndex.get(agentId);
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
    const a = this.agentIndex.get(agentId);
    if (a === undefined || this.capDay[a]! < 0) return 0;
    const raw = this.rawAt(a, now);
    return Math.min(raw, this.capLimit(a, now));
  }

  /** Channel-level detail of one agent at `now` (undefined for an agent with no evidence as subject). */
  detailAt(a: number, now: number): ComponentDetail | undefined {
    if (this.capDay[a]! < 0) return undefined;
    return componentDetail(this.agentStats, a * STAT_FIELDS, this.scaleAt(a, now), this.params);
  }

  indexOf(agentId: AgentId): number | undefined {
    return this.agentIndex.get(agentId);
  }

  observations(a: number): number {
    const c = this.agentInfo[a]!.counts;
    return c.tradesAsSeller + c.probes + c.ratingsReceived + c.community + c.reliability + c.disputes;
  }

  counts(a: number): Readonly<AgentCounts> {
    return this.agentInfo[a]!.counts;
  }
  discounts(a: number): Readonly<Partial<Record<DiscountReason, number>>> {
    return this.agentInfo[a]!.discounts;
  }
  recent(a: number): readonly RecentItem[] {
    return this.agentInfo[a]!.recent;
  }

  /**
   * Global trust (sums to 1) and evidence weight of an agent in the current epoch (0 while its evidence is discounted), and the externally
   * funded value (AITBC) that gives it a share of the seed.
   */
  trustOf(agentId: AgentId): { trust: number; weight: number; preTrusted: boolean; fundedAitbc: number } {
    const a = this.agentIndex.get(agentId);
    if (a === undefined) return { trust: 0, weight: 0, preTrusted: false, fundedAitbc: 0 };
    const pre = this.preTrustedMask[a] === 1;
    const trust = this.globalTrust[a] ?? 0;
    // a discounted agent's evidence weighs nothing, whatever its trust
    const weight = this.isDiscounted(a) ? 0 : pre ? 1 : Math.min(1, trust / this.trustReference);
    return { trust, weight, preTrusted: pre, fundedAitbc: this.seedValue[a]! };
  }

  /** The current trust weight (0..1) of the evidence `producer` gave about `subject` (trades, probes or ratings), or null. */
  pairWeightNow(subjectId: AgentId, producerId: AgentId, type: 'trade' | 'probe' | 'rating'): number | null {
    const s = this.agentIndex.get(subjectId);
    const p = this.agentIndex.get(producerId);
    if (s === undefined || p === undefined) return null;
    const kind = type === 'trade' ? KIND_TRADE : type === 'probe' ? KIND_PROBE : KIND_RATING;
    const i = this.pairIndex.get((s * MAX_AGENTS + p) * 4 + kind);
    return i === undefined ? null : this.pairTrust[i]!;
  }

  /** Is the agent's evidence discounted (params.evidenceDiscounted: a risk discount_evidence intervention)? */
  evidenceDiscounted(agentId: AgentId): boolean {
    return this.discountedIds.has(agentId);
  }

  /** Has the graph or the seed changed since the last epoch (would an epoch compute anything)? */
  get epochPending(): boolean {
    return this.graphVersion !== this.epochVersion;
  }

  /** What seeds global trust now: pre-trusted agents, funded agents and their value, and how many agents have trust. */
  seedSummary(): { preTrusted: number; funded: number; fundedAitbc: number; trusted: number } {
    let funded = 0;
    let value = 0;
    for (let i = 0; i < this.ids.length; i++) {
      if (this.seedValue[i]! > 0 && this.preTrustedMask[i] !== 1) {
        funded++;
        value += this.seedValue[i]!;
      }
    }
    let trusted = 0;
    for (let i = 0; i < this.globalTrust.length; i++) if (this.globalTrust[i]! > 0) trusted++;
    return { preTrusted: new Set(this.preTrustedIndices).size, funded, fundedAitbc: value, trusted };
  }

  /** Global-trust epochs computed so far and the time of the evidence last applied. */
  get epochInfo(): { epochs: number; agents: number; edges: number; trustReference: number | null } {
    return { epochs: this.epochsComputed, agents: this.ids.length, edges: this.edgeFrom.length, trustReference: Number.isFinite(this.trustReference) ? this.trustReference : null };
  }

  /** Time of the last evidence applied (-Infinity before any). */
  get lastAppliedAt(): number {
    return this.lastAt;
  }

  // ---------------------------------------------------------------- checkpoints (engine-checkpoint.ts)

  /** The engine's whole state as plain data (see engine-checkpoint.ts). */
  checkpoint(): EngineCheckpoint {
    return checkpointOf(this, this.params);
  }

  /** An engine in the state a checkpoint recorded; throws when it was made with other parameters or format. */
  static restore(cp: EngineCheckpoint, params: Partial<ReputationParams> = {}): ReputationEngine {
    const engine = new ReputationEngine(params);
    restoreState(engine, cp, engine.params);
    return engine;
  }

  /** Snapshot of the engine's state for comparison in tests (raw statistics + cap state). */
  stateDigest(): { stats: number[]; capDay: number[]; capBase: number[]; ref: number[] } {
    return stateDigest(this);
  }
}

export { DAY_MS };
