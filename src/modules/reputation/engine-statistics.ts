/**
 * The engine's bookkeeping, shared by every kind of evidence (engine.ts): interning agents, decaying
 * statistics, the daily gain cap, pair statistics and their withdrawal (taint), same-owner clusters and
 * the daily global-trust epoch. See engine.ts for the model.
 *
 * Length: the pieces read and write the same interned per-agent and per-pair arrays (a decay or a taint
 * touches several at once); split further, each would need the whole state passed in.
 */
import type { AgentId } from './evidence.types.js';
import { buildLocalTrust, eigenTrust, producerWeight, referenceTrust } from './eigentrust.js';
import { makeParams, probeCount, saturate } from './params.js';
import type { ReputationParams } from './params.js';
import { F, RECENT_FIELDS, STAT_FIELDS, rawScoreFast } from './trust-score.js';
import { EngineState, KIND_PROBE, KIND_RATING, KIND_TRADE, MAX_AGENTS, type OwnerVerdictInfo, type RecentItem } from './engine-state.js';

/** Offset of a pair kind's statistics in an agent's record. */
function baseOf(kind: number): number {
  return kind === KIND_TRADE ? F.tradeMass : kind === KIND_PROBE ? F.probeMass : F.ratingMass;
}

export abstract class EngineStatistics extends EngineState {
  readonly params: ReputationParams;
  /** decay rate of the visible statistics, per ms */
  protected readonly decayRate: number;
  /** decay rate of the recent window, per ms */
  protected readonly recentDecayRate: number;
  /** agents whose evidence counts zero (params.evidenceDiscounted: risk interventions) */
  protected readonly discountedIds: ReadonlySet<AgentId>;

  constructor(params: Partial<ReputationParams> = {}) {
    super();
    this.params = makeParams(params);
    this.decayRate = Math.LN2 / this.params.halfLifeMs;
    this.recentDecayRate = Math.LN2 / this.params.recentHalfLifeMs;
    this.discountedIds = new Set(this.params.evidenceDiscounted);
    for (const id of this.params.preTrusted) this.preTrustedIndices.push(this.intern(id));
  }

  /** The epoch of `day`, computed at `at` (the first evidence of that day), unless one was computed that day already. */
  protected advanceEpoch(day: number, at: number): void {
    if (day <= this.epochDay) return;
    this.epochDay = day;
    this.computeEpoch(at, day);
  }

  /**
   * A global-trust epoch at `at`: EigenTrust over the evidence graph from the seed (probes, verifiers and
   * externally funded agents), then every pair is weighed again with its producer's new trust, so that
   * evidence produced before its producer's trust was known counts as soon as that trust is. Nothing
   * changes when the graph and the seed did not. O(edges x iterations + pairs + agents).
   */
  protected computeEpoch(at: number, day: number): void {
    if (this.graphVersion === this.epochVersion) return;
    this.epochVersion = this.graphVersion;
    const n = this.ids.length;
    const slot = this.edgePairSlot.data;
    const taint = this.unorderedPairTainted;
    const { pairSaturation: c, pairSaturationScale: sc } = this.params;
    // a discounted agent's trust edges (what it experienced of others) are left out, like a tainted pair's
    const from = this.edgeFrom.data;
    const off = this.discountedIds.size === 0 ? undefined : Uint8Array.from({ length: n }, (_, i) => (this.isDiscounted(i) ? 1 : 0));
    const keep = off === undefined ? (e: number) => taint[slot[e]!] === 0 : (e: number) => taint[slot[e]!] === 0 && off[from[e]!] === 0;
    this.localTrust = buildLocalTrust(n, this.edgeFrom.length, from, this.edgeTo.data, this.edgeValue.data, keep, (x) => saturate(x, c, sc));
    const res = eigenTrust(this.localTrust, {
      preTrusted: this.preTrustedIndices,
      teleport: this.seedVector(n),
      alpha: this.params.alpha,
      tolerance: this.params.trustTolerance,
      maxIterations: this.params.trustMaxIterations,
      initial: this.globalTrust,
    });
    this.globalTrust = res.trust;
    this.preTrustedMask = new Uint8Array(n);
    for (const i of this.preTrustedIndices) this.preTrustedMask[i] = 1;
    this.trustReference = referenceTrust(this.globalTrust, this.preTrustedMask, this.params.trustReferenceFraction);
    this.epochsComputed++;
    this.reweigh(at, day);
  }

  /**
   * The seed (teleport) vector: the pre-trusted agents (probes, verifiers) share 1 - fundedSeedShare, the
   * externally funded agents fundedSeedShare in proportion to min(value, cap); either takes all when the
   * other is empty; all zero (nobody trusted) when both are.
   */
  protected seedVector(n: number): Float64Array {
    const p = new Float64Array(n);
    const pre = new Set<number>();
    for (const i of this.preTrustedIndices) if (i >= 0 && i < n) pre.add(i);
    const cap = this.params.fundedSeedCapAitbc;
    let funded = 0;
    for (let i = 0; i < n; i++) {
      const v = this.seedValue[i]!;
      if (v > 0 && !pre.has(i)) funded += v < cap ? v : cap;
    }
    const fundedShare = pre.size === 0 ? (funded > 0 ? 1 : 0) : funded > 0 ? this.params.fundedSeedShare : 0;
    if (funded > 0) {
      for (let i = 0; i < n; i++) {
        const v = this.seedValue[i]!;
        if (v > 0 && !pre.has(i)) p[i] = (fundedShare * (v < cap ? v : cap)) / funded;
      }
    }
    for (const i of pre) p[i] = (1 - fundedShare) / pre.size;
    return p;
  }

  /**
   * Weigh every pair again with the current epoch's trust: bring every agent to `at` (closing its finished
   * days with the weights they were published with), then rebuild the trust-weighted statistics from the
   * pairs. Deterministic, so incremental and full replays agree.
   */
  private reweigh(at: number, day: number): void {
    const s = this.agentStats;
    const n = this.ids.length;
    for (let a = 0; a < n; a++) {
      this.rebase(a, at, day);
      const o = a * STAT_FIELDS;
      for (let k = F.tradeMass; k <= F.ratingSum; k++) s[o + k] = 0;
      s[o + F.recentMass] = 0;
      s[o + F.recentOk] = 0;
      s[o + F.ratingsGiven] = this.ownWeight(a) * s[o + F.ratingsGivenRaw]!;
    }
    for (let p = 0; p < this.pairCount.length; p++) {
      this.decayPair(p, at);
      const subject = this.pairSubject[p]!;
      const w = this.weightOf(this.pairProducer[p]!, subject);
      this.pairTrust[p] = w;
      const kind = this.pairKind[p]!;
      this.addPairContribution(p, subject * STAT_FIELDS + baseOf(kind), kind, 1);
      if (kind === KIND_TRADE && this.pairRecentMass[p]! > 0) {
        const r = subject * STAT_FIELDS;
        s[r + F.recentMass] = s[r + F.recentMass]! + w * this.pairRecentMass[p]!;
        s[r + F.recentOk] = s[r + F.recentOk]! + w * this.pairRecentOk[p]!;
      }
    }
  }

  /** Close the agent's finished days (if it has a score) and decay its statistics to `at`. */
  protected rebase(a: number, at: number, day: number): void {
    if (this.capDay[a]! >= 0) this.closeDays(a, day);
    this.decayAgent(a, at);
  }

  /** Is the agent under a risk discount_evidence intervention (its evidence counts zero)? */
  protected isDiscounted(a: number): boolean {
    return this.discountedIds.size !== 0 && this.discountedIds.has(this.ids[a]!);
  }

  /** The agent's own evidence weight (0..1) in the current epoch, nobody subtracted; 0 while its evidence is discounted. */
  protected ownWeight(a: number): number {
    if (this.isDiscounted(a)) return 0;
    return producerWeight(this.localTrust, this.globalTrust, this.trustReference, this.params.alpha, this.preTrustedMask, a, this.globalTrust.length);
  }

  protected intern(id: AgentId): number {
    let i = this.agentIndex.get(id);
    if (i !== undefined) return i;
    i = this.ids.length;
    if (i >= MAX_AGENTS) throw new RangeError('too many agents for one engine');
    this.ids.push(id);
    this.agentIndex.set(id, i);
    for (let k = 0; k < STAT_FIELDS; k++) this.agentStats.push(0);
    this.refAt.push(this.lastAt === -Infinity ? 0 : this.lastAt);
    this.capDay.push(-1);
    this.capBaseScore.push(0);
    this.agentInfo.push({
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
    this.paymentLogs.push(undefined);
    this.seedValue.push(0);
    this.ownerParent.push(-1);
    this.graphVersion++;
    return i;
  }

  protected unorderedPairSlot(a: number, b: number): number {
    const key = a < b ? a * MAX_AGENTS + b : b * MAX_AGENTS + a;
    let s = this.unorderedPairIndex.get(key);
    if (s === undefined) {
      s = this.unorderedPairTainted.length;
      this.unorderedPairTainted.push(0);
      this.unorderedPairIndex.set(key, s);
    }
    return s;
  }

  protected addEdge(from: number, to: number, value: number, slot: number): void {
    this.edgeFrom.push(from);
    this.edgeTo.push(to);
    this.edgeValue.push(value);
    this.edgePairSlot.push(slot);
    this.graphVersion++;
  }

  /** Trust weight (0..1) of evidence by `producer` about `subject`, from the current epoch; 0 while the producer's evidence is discounted. */
  protected weightOf(producer: number, subject: number): number {
    if (this.isDiscounted(producer)) return 0;
    return producerWeight(this.localTrust, this.globalTrust, this.trustReference, this.params.alpha, this.preTrustedMask, producer, subject);
  }

  /** Close the agent's finished days (gain cap) and decay its statistics to `at`. */
  protected touch(a: number, at: number, day: number): void {
    this.closeDays(a, day);
    this.decayAgent(a, at);
  }

  private decayAgent(a: number, at: number): void {
    const dt = at - this.refAt[a]!;
    if (dt > 0) {
      const f = Math.exp(-this.decayRate * dt);
      const o = a * STAT_FIELDS;
      for (let k = 0; k < STAT_FIELDS; k++) this.agentStats[o + k] = this.agentStats[o + k]! * f;
      const fr = Math.exp(-this.recentDecayRate * dt) / f;
      for (const k of RECENT_FIELDS) this.agentStats[o + k] = this.agentStats[o + k]! * fr;
      this.refAt[a] = at;
    }
  }

  protected closeDays(a: number, day: number): void {
    const cd = this.capDay[a]!;
    if (cd === day) return;
    if (cd < 0) {
      this.capDay[a] = day;
      this.capBaseScore[a] = 0;
      return;
    }
    this.capBaseScore[a] = this.cappedBefore(a, day);
    this.capDay[a] = day;
  }

  /** C(day - 1) given the agent's state (capDay < day). Does not mutate. */
  protected cappedBefore(a: number, day: number): number {
    const cd = this.capDay[a]!;
    const G = this.params.dailyGainCap;
    const dayMs = this.params.dayMs;
    let c = Math.min(this.rawAt(a, (cd + 1) * dayMs), this.capBaseScore[a]! + G);
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
  protected recentPenaltyAt(a: number, t: number): boolean {
    const o = a * STAT_FIELDS;
    const bad = this.agentStats[o + F.recentMass]! - this.agentStats[o + F.recentOk]!;
    if (!(bad > 0)) return false;
    const dt = t - this.refAt[a]!;
    const decayed = dt > 0 ? bad * Math.exp(-this.recentDecayRate * dt) : bad;
    return decayed > 1e-7 * this.params.kRecent;
  }

  protected rawAt(a: number, t: number): number {
    return rawScoreFast(this.agentStats, a * STAT_FIELDS, this.scaleAt(a, t), this.params);
  }

  protected scaleAt(a: number, t: number): number {
    // a read at a time before the agent's latest evidence sees the state as of that evidence
    const dt = t - this.refAt[a]!;
    return dt <= 0 ? 1 : Math.exp(-this.decayRate * dt);
  }

  /**
   * Update a (subject, producer, kind) pair with one observation of size weight `a` (the subject was
   * touched to `at`); O(1). Returns the repeat count before. The pair's trust weight is the producer's in
   * the current epoch (`pairTrust`, set when the pair is new and at every epoch).
   */
  protected updatePair(kind: number, subject: number, producer: number, at: number, a: number, x0: number, x1: number, x2: number): number {
    const key = (subject * MAX_AGENTS + producer) * 4 + kind;
    let p = this.pairIndex.get(key);
    if (p === undefined) {
      p = this.pairCount.length;
      this.pairIndex.set(key, p);
      this.pairRefAt.push(at);
      this.pairCount.push(0);
      this.pairWeight.push(0);
      this.pairWeightedSum0.push(0);
      this.pairWeightedSum1.push(0);
      this.pairWeightedSum2.push(0);
      this.pairSubject.push(subject);
      this.pairProducer.push(producer);
      this.pairKind.push(kind);
      this.pairTrust.push(this.weightOf(producer, subject));
      this.pairDim.push(1);
      this.pairRecentMass.push(0);
      this.pairRecentOk.push(0);
      this.pairGiven.push(0);
    }
    this.lastPairUpdated = p;
    const o = subject * STAT_FIELDS + baseOf(kind);
    const prevCount = this.decayPair(p, at);
    if (prevCount > 0) this.addPairContribution(p, o, kind, -1);
    const n = prevCount + 1;
    this.pairCount[p] = n;
    this.pairDim[p] = (kind === KIND_PROBE ? probeCount(n) : saturate(n, this.params.pairSaturation, this.params.pairSaturationScale)) / n;
    this.pairWeight[p] = this.pairWeight[p]! + a;
    this.pairWeightedSum0[p] = this.pairWeightedSum0[p]! + a * x0;
    this.pairWeightedSum1[p] = this.pairWeightedSum1[p]! + a * x1;
    this.pairWeightedSum2[p] = this.pairWeightedSum2[p]! + a * x2;
    this.addPairContribution(p, o, kind, 1);
    return prevCount;
  }

  protected decayPair(p: number, at: number): number {
    const dt = at - this.pairRefAt[p]!;
    if (dt > 0) {
      const f = Math.exp(-this.decayRate * dt);
      this.pairCount[p] = this.pairCount[p]! * f;
      this.pairWeight[p] = this.pairWeight[p]! * f;
      this.pairWeightedSum0[p] = this.pairWeightedSum0[p]! * f;
      this.pairWeightedSum1[p] = this.pairWeightedSum1[p]! * f;
      this.pairWeightedSum2[p] = this.pairWeightedSum2[p]! * f;
      this.pairGiven[p] = this.pairGiven[p]! * f;
      if (this.pairRecentMass[p]! > 0) {
        const fr = Math.exp(-this.recentDecayRate * dt);
        this.pairRecentMass[p] = this.pairRecentMass[p]! * fr;
        this.pairRecentOk[p] = this.pairRecentOk[p]! * fr;
      }
      this.pairRefAt[p] = at;
    }
    return this.pairCount[p]!;
  }

  /** Adds (sign 1) or removes (-1) the pair's contribution, trust x dim x sums, at the subject's statistics `o`. */
  protected addPairContribution(p: number, o: number, kind: number, sign: number): void {
    const f = sign * this.pairTrust[p]! * this.pairDim[p]!;
    if (f === 0) return;
    const s = this.agentStats;
    s[o] = s[o]! + this.pairWeight[p]! * f;
    s[o + 1] = s[o + 1]! + this.pairWeightedSum0[p]! * f;
    if (kind !== KIND_RATING) {
      s[o + 2] = s[o + 2]! + this.pairWeightedSum1[p]! * f;
      s[o + 3] = s[o + 3]! + this.pairWeightedSum2[p]! * f;
    }
  }

  /** Zero every pair between a and b (both directions, trades and ratings) and taint the slot. */
  protected taint(a: number, b: number, at: number, day: number): void {
    const slot = this.unorderedPairSlot(a, b);
    if (this.unorderedPairTainted[slot] === 1) return;
    this.unorderedPairTainted[slot] = 1;
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
        const base = baseOf(kind);
        if (this.pairCount[p]! > 0) this.addPairContribution(p, subject * STAT_FIELDS + base, kind, -1);
        this.pairWeight[p] = 0;
        this.pairWeightedSum0[p] = 0;
        this.pairWeightedSum1[p] = 0;
        this.pairWeightedSum2[p] = 0;
        // clean tiny negative residues of the subtraction
        const o = subject * STAT_FIELDS + base;
        for (let k = 0; k < (kind === KIND_RATING ? 2 : 4); k++) if (this.agentStats[o + k]! < 1e-12) this.agentStats[o + k] = Math.max(0, this.agentStats[o + k]!);
        if (kind === KIND_TRADE && this.pairRecentMass[p]! > 0) {
          const r = subject * STAT_FIELDS;
          const w = this.pairTrust[p]!;
          this.agentStats[r + F.recentMass] = Math.max(0, this.agentStats[r + F.recentMass]! - w * this.pairRecentMass[p]!);
          this.agentStats[r + F.recentOk] = Math.min(this.agentStats[r + F.recentMass]!, Math.max(0, this.agentStats[r + F.recentOk]! - w * this.pairRecentOk[p]!));
          this.pairRecentMass[p] = 0;
          this.pairRecentOk[p] = 0;
        }
        if (kind === KIND_RATING && this.pairGiven[p]! > 0) {
          // the producer's ratings in this pair were no community participation either
          this.rebase(producer, at, day);
          const r = producer * STAT_FIELDS;
          const g = this.pairGiven[p]!;
          this.agentStats[r + F.ratingsGivenRaw] = Math.max(0, this.agentStats[r + F.ratingsGivenRaw]! - g);
          this.agentStats[r + F.ratingsGiven] = Math.max(0, this.agentStats[r + F.ratingsGiven]! - this.ownWeight(producer) * g);
          this.pairGiven[p] = 0;
        }
      }
    }
  }

  protected ownerRoot(a: number): number {
    let r = a;
    while (this.ownerParent[r]! !== r) {
      if (this.ownerParent[r]! < 0) return -1;
      r = this.ownerParent[r]!;
    }
    return r;
  }

  /** Are a and b members of one same-owner cluster (by verdicts applied so far)? */
  protected sameOwnerCluster(a: number, b: number): boolean {
    const ra = this.ownerRoot(a);
    return ra >= 0 && ra === this.ownerRoot(b);
  }

  /**
   * A same-owner verdict: merge the members into one cluster, so that their future trades and ratings
   * count zero, and taint every member pair that already traded, which withdraws what they earned from
   * each other (pair statistics and ratings at once, trust-graph edges from the next epoch). O(trades
   * recorded so far), once per verdict.
   */

  ownerVerdict(a: number): OwnerVerdictInfo | undefined {
    return this.agentInfo[a]!.owner;
  }

  /** Are the two agents in one same-owner cluster? */
  sameOwner(a: AgentId, b: AgentId): boolean {
    const ia = this.agentIndex.get(a);
    const ib = this.agentIndex.get(b);
    return ia !== undefined && ib !== undefined && this.sameOwnerCluster(ia, ib);
  }

  /**
   * Why trades between a and b count nothing now (same-owner cluster, or a pair tainted by a loop or
   * circular trading), or null when they count.
   */
  pairDiscount(a: AgentId, b: AgentId): 'same_owner_cluster' | 'tainted_pair' | null {
    const ia = this.agentIndex.get(a);
    const ib = this.agentIndex.get(b);
    if (ia === undefined || ib === undefined) return null;
    if (this.sameOwnerCluster(ia, ib)) return 'same_owner_cluster';
    const key = ia < ib ? ia * MAX_AGENTS + ib : ib * MAX_AGENTS + ia;
    const slot = this.unorderedPairIndex.get(key);
    return slot !== undefined && this.unorderedPairTainted[slot] === 1 ? 'tainted_pair' : null;
  }

  /** The root member of a's same-owner cluster, or undefined when it is in none. */
  ownerClusterRoot(a: AgentId): AgentId | undefined {
    const ia = this.agentIndex.get(a);
    if (ia === undefined) return undefined;
    const r = this.ownerRoot(ia);
    return r >= 0 ? this.ids[r] : undefined;
  }

  /** Directed trade counts buyer -> seller over every trade applied (self-trades excluded). */
  tradePairCounts(): { buyerId: AgentId; sellerId: AgentId; count: number }[] {
    const counts = new Map<number, number>();
    for (let t = 0; t < this.tradeBuyer.length; t++) {
      const key = this.tradeBuyer[t]! * MAX_AGENTS + this.tradeSeller[t]!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const out: { buyerId: AgentId; sellerId: AgentId; count: number }[] = [];
    for (const [key, count] of counts) {
      const b = Math.floor(key / MAX_AGENTS);
      out.push({ buyerId: this.ids[b]!, sellerId: this.ids[key - b * MAX_AGENTS]!, count });
    }
    return out;
  }

  protected note(a: number, item: RecentItem): void {
    const inf = this.agentInfo[a]!;
    for (const r of item.discounts) inf.discounts[r] = (inf.discounts[r] ?? 0) + 1;
    const cap = this.params.recentItems;
    if (cap <= 0) return;
    if (inf.recent.length >= cap) inf.recent.shift();
    inf.recent.push(item);
  }

  /** C(day(now) - 1) + G, the most the published score may be at `now`. */
  protected capLimit(a: number, now: number): number {
    const cd = this.capDay[a]!;
    if (cd < 0) return 0;
    const day = Math.max(cd, Math.floor(now / this.params.dayMs));
    const base = day === cd ? this.capBaseScore[a]! : this.cappedBefore(a, day);
    return base + this.params.dailyGainCap;
  }

}
