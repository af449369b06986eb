/**
 * The reputation service: writes evidence (in the caller's transaction for trade and dispute outcomes)
 * and answers reads from an in-memory ReputationEngine kept in step with the evidence log by its
 * EvidenceProjection (reputation.projection.ts). Its background jobs are the projection's sync and
 * checkpoints, score snapshots (reputation.snapshots.ts) and same-owner detection (reputation.same-owner.ts).
 * Every process keeps its own engine; all of them converge on the same log.
 *
 * Length: the module's one facade for its routes and the other modules (evidence, reads, ratings, probes,
 * operator actions); each is a few lines over the engine, the projection (reputation.projection.ts), the
 * snapshots and the same-owner job, which have their own files.
 */
import { AppError, notFound } from '../../platform/http/errors.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import type { Tx } from '../../database.js';
import type { ReputationDeps } from './reputation.deps.js';
import { ledgerExternalFunding, type ExternalFunding } from '../ledger/ledger.port.js';
import type { BackgroundJob } from '../module.js';
import type { ReputationEngine } from './engine.js';
import type { CommunityKind, ReliabilityKind } from './evidence.types.js';
import type { OwnerCluster } from './wash.js';
import { explain, publishedReputation, type Explanation, type PublishedReputation } from './explain.js';
import { trustLevel } from './trust-score.js';
import { reputationRepository as repo, type NewEvidence, type SnapshotRow } from './reputation.repository.js';
import type { DisputeOutcomeEvidence, RecordedTrade, ReputationPort, TradeOutcomeEvidence } from './reputation.port.js';
import { EvidenceProjection } from './reputation.projection.js';
import { SnapshotWriter } from './reputation.snapshots.js';
import { SameOwnerDetector } from './reputation.same-owner.js';

export type { ReputationDeps };

export type SubmittedEvidence =
  | { type: 'probe'; agentId: string; probeId?: string | undefined; responseMs: number; available: boolean; accuracy: number }
  | { type: 'community'; agentId: string; kind: CommunityKind }
  | { type: 'reliability'; agentId: string; kind: ReliabilityKind; value: number };

export type Actor = { kind: 'agent'; agentId: string } | { kind: 'admin' };

export interface RatingView {
  id: string;
  tradeId: string;
  raterId: string;
  rateeId: string;
  stars: number;
  comment: string | null;
  at: Date;
}

/** A rating as the API shows it (POST /v1/ratings and the rating.received event). */
export const ratingJson = (r: RatingView) => ({ ...r, at: r.at.toISOString() });

export interface ReputationView extends PublishedReputation {
  raw: number;
  gainCapped: boolean;
  components: { performance: number; transactions: number; community: number; reliability: number; disputes: number };
  probe: boolean;
  asOf: Date;
}

export interface LeaderboardEntry {
  rank: number;
  agentId: string;
  displayName: string;
  region: string;
  categories: string[];
  trustScore: number;
  level: string;
  observations: number;
}

/** One settled trade of a seller, with what its buyer measured (sellerRecord). */
export interface SellerTrade {
  tradeId: string;
  buyerId: string;
  atMs: number;
  success: boolean;
  amount: bigint;
  buyerLatencyMs: number | null;
  /** the buyer's accuracy, else its acceptance (1) or rejection (0); null: not reported */
  buyerAccuracy: number | null;
  sameOwnerSuspected: boolean;
  disputed: boolean;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

export class ReputationService implements ReputationPort {
  readonly jobs: BackgroundJob[];
  readonly projection: EvidenceProjection;
  private readonly snapshots: SnapshotWriter;
  private readonly sameOwnerDetector: SameOwnerDetector;
  private leaderboardCache: { key: string; entries: LeaderboardEntry[] } | undefined;
  private readonly funding: ExternalFunding;
  /** ledger entry seq up to which funding was read (per process; re-reads are harmless: report ids are derived) */
  private fundingSeq = 0n;

  constructor(readonly deps: ReputationDeps) {
    this.jobs = [
      { name: 'reputation.sync', intervalMs: 2_000, scope: 'process', run: () => this.sync() },
      { name: 'reputation.snapshots', intervalMs: 60_000, run: () => this.snapshot() },
      { name: 'reputation.same_owner', intervalMs: 600_000, run: () => this.detectSameOwner() },
      { name: 'reputation.checkpoint', intervalMs: 600_000, run: () => this.checkpoint() },
      { name: 'reputation.funding', intervalMs: 60_000, run: () => this.recordFunding() },
      { name: 'reputation.epoch', intervalMs: 300_000, run: () => this.scheduledEpoch() },
      // every process's engine follows the risk module's discount_evidence interventions (created, lifted, expired)
      { name: 'reputation.discounts', intervalMs: 5_000, scope: 'process', run: () => this.refreshEvidenceDiscounts() },
    ];
    this.funding = deps.funding ?? ledgerExternalFunding(deps.database);
    this.projection = new EvidenceProjection(deps);
    this.snapshots = new SnapshotWriter(deps, this.projection);
    this.sameOwnerDetector = new SameOwnerDetector(deps, this.projection);
  }

  /** Brings the engine up to date with every committed evidence row (coalesced, serialised). */
  sync(): Promise<void> {
    return this.projection.sync();
  }

  /** Full recompute: a fresh engine replaying the whole log (the same fold as the incremental path). */
  async recompute(): Promise<void> {
    this.projection.loaded = false;
    this.projection.mayRestore = false;
    // and the account attributes of the same-owner detector are read again in full
    this.sameOwnerDetector.resetAccounts();
    await this.sync();
  }

  /**
   * Follows the risk module's discount_evidence interventions: when the agents under one changed, the
   * engine is rebuilt with the new set (see EvidenceProjection.refreshDiscounts). Returns whether it was.
   */
  refreshEvidenceDiscounts(): Promise<boolean> {
    return this.projection.refreshDiscounts();
  }

  /** Statistics of the projection (for tests and metrics). */
  get stats() {
    return this.projection.stats;
  }

  /** Stores a checkpoint of the engine when enough rows were applied since the last (see EvidenceProjection). */
  checkpoint(): Promise<bigint | null> {
    return this.projection.checkpoint();
  }

  private get engine(): ReputationEngine {
    return this.projection.engine;
  }
  private get probeSet(): Set<string> {
    return this.projection.probeSet;
  }
  private get version(): number {
    return this.projection.version;
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  // ------------------------------------------------------------------------------ ReputationPort

  async recordTradeOutcome(tx: Tx, e: TradeOutcomeEvidence): Promise<void> {
    if (!e.tradeId) throw new AppError('validation_failed', 'tradeId is required');
    // agents that share a registered public key are one owner: their trades count for nothing
    const keys = await this.deps.agents.publicKeys([e.buyerId, e.sellerId], tx);
    const kb = keys.find((k) => k.id === e.buyerId)?.public_key ?? null;
    const ks = keys.find((k) => k.id === e.sellerId)?.public_key ?? null;
    const sameOwner = e.buyerId === e.sellerId || (kb !== null && kb === ks);
    await repo.insertEvidence(tx, {
      id: uuidFromName(`reputation:trade:${e.tradeId}`), type: 'trade', subjectId: e.sellerId, producerId: e.buyerId, tradeId: e.tradeId, at: e.at,
      data: {
        success: e.success, amount: (e.amount > 0n ? e.amount : 0n).toString(), category: e.category ?? null,
        // garbage measurements (negative, NaN, out of range) are recorded as unknown
        latencyMs: typeof e.latencyMs === 'number' && Number.isFinite(e.latencyMs) && e.latencyMs >= 0 ? e.latencyMs : null,
        accuracy: typeof e.accuracy === 'number' && e.accuracy >= 0 && e.accuracy <= 1 ? e.accuracy : null,
        slaMet: e.slaMet ?? e.success, ...(sameOwner ? { sameOwnerSuspected: true } : {}),
        // who measured what (buyer, seller's uncontradicted claim, platform), as trading resolved it
        ...(e.measuredBy !== undefined ? {
          measuredBy: e.measuredBy, unmeasured: e.unmeasured ?? [], disputed: e.disputed ?? [], sellerClaim: e.sellerClaim ?? null,
          buyer: { latencyMs: e.buyerLatencyMs ?? null, accuracy: e.buyerAccuracy ?? null, accepted: e.buyerAccepted ?? null, unitsDelivered: e.buyerUnitsDelivered ?? null },
          platform: { deliveryMs: e.platformDeliveryMs ?? null, deadlineMet: e.deadlineMet ?? null },
        } : {}),
      },
      source: 'trading', createdAt: this.deps.clock.now(),
    });
  }

  async recordDisputeOutcome(tx: Tx, e: DisputeOutcomeEvidence): Promise<void> {
    const seller = e.outcome === 'release' ? 'won' : e.outcome === 'refund' ? 'lost' : 'settled';
    const buyer = e.outcome === 'release' ? 'lost' : e.outcome === 'refund' ? 'won' : 'settled';
    for (const [agentId, outcome] of [[e.sellerId, seller], [e.buyerId, buyer]] as const) {
      await repo.insertEvidence(tx, {
        id: uuidFromName(`reputation:dispute:${e.tradeId}:${agentId}`), type: 'dispute', subjectId: agentId, producerId: e.filedBy, tradeId: e.tradeId,
        at: e.at, data: { outcome, resolution: e.outcome, filedBy: e.filedBy }, source: 'trading', createdAt: this.deps.clock.now(),
      });
    }
  }

  async trustScores(agentIds: readonly string[]): Promise<Map<string, number>> {
    await this.sync();
    const now = this.now();
    return new Map(agentIds.map((id) => [id, Math.round(this.engine.scoreOf(id, now))]));
  }

  async tradesBetween(from: Date, until: Date): Promise<RecordedTrade[]> {
    await this.sync();
    const rows = await repo.tradesBetween(this.deps.database.db, from, until);
    const measured = (d: Record<string, unknown>, field: 'latencyMs' | 'accuracy'): number | null => {
      const by = (d.measuredBy as Record<string, string> | undefined)?.[field];
      const v = d[field];
      return (by === 'buyer' || by === 'platform') && typeof v === 'number' && Number.isFinite(v) ? v : null;
    };
    return rows.map((r) => {
      const d = r.data;
      const sellerId = r.subject_id!;
      const buyerId = r.producer_id!;
      const discount = d.sameOwnerSuspected === true || sellerId === buyerId ? 'same_owner' as const
        : this.engine.pairDiscount(buyerId, sellerId) ?? (this.engine.evidenceDiscounted(buyerId) ? 'risk_intervention' as const : null);
      return {
        tradeId: r.trade_id!, sellerId, buyerId, success: d.success === true, amount: BigInt(String(d.amount ?? '0')),
        category: typeof d.category === 'string' ? d.category : null, at: new Date(r.at), discount,
        measuredLatencyMs: measured(d, 'latencyMs'), measuredAccuracy: measured(d, 'accuracy'),
      };
    });
  }

  async ownerClusters(agentIds: readonly string[]): Promise<Map<string, string>> {
    await this.sync();
    const out = new Map<string, string>();
    for (const id of agentIds) {
      const root = this.engine.ownerClusterRoot(id);
      if (root !== undefined) out.set(id, root);
    }
    return out;
  }

  // ------------------------------------------------------------------------------ reads

  private async mustExist(agentId: string): Promise<void> {
    if (!(await this.deps.agents.exists(agentId))) throw notFound('agent', agentId);
  }

  async reputation(agentId: string): Promise<ReputationView> {
    await this.mustExist(agentId);
    await this.sync();
    const now = this.now();
    const pub = publishedReputation(this.engine, agentId, now);
    const v = this.engine.score(agentId, now);
    const c = v.components;
    return {
      ...pub, raw: r2(v.raw), gainCapped: v.gainCapped, probe: this.probeSet.has(agentId), asOf: new Date(now),
      components: { performance: r2(c.performance), transactions: r2(c.transactions), community: r2(c.community), reliability: r2(c.reliability), disputes: r2(c.disputes) },
    };
  }

  /** `reveal`: show counterparties of recent evidence (the agent itself and the operator only). */
  async explain(agentId: string, reveal: boolean): Promise<Explanation & { probe: boolean; riskIntervention: { since: Date; interventionIds?: string[] } | null }> {
    await this.mustExist(agentId);
    await this.sync();
    const x = explain(this.engine, agentId, this.now());
    const recent = reveal ? x.recent : x.recent.map(({ counterparty: _c, ...rest }) => rest);
    const sameOwner = x.sameOwner === null || reveal ? x.sameOwner : (({ members: _m, ...rest }) => rest)(x.sameOwner);
    // the discount_evidence interventions the engine's set came from (the agent's own, if it is in the set; their ids as counterparties are)
    const own = this.engine.evidenceDiscounted(agentId) ? this.projection.discounts.filter((d) => d.agentId === agentId) : [];
    const riskIntervention = own.length === 0 ? null : {
      since: new Date(Math.min(...own.map((d) => d.since.getTime()))), ...(reveal ? { interventionIds: own.map((d) => d.interventionId) } : {}),
    };
    return { ...x, recent, sameOwner, probe: this.probeSet.has(agentId), riskIntervention };
  }

  async history(agentId: string, before: Date | undefined, limit: number): Promise<SnapshotRow[]> {
    await this.mustExist(agentId);
    return repo.history(this.deps.database.db, agentId, before, limit);
  }

  async leaderboard(f: { category?: string | undefined; region?: string | undefined }): Promise<LeaderboardEntry[]> {
    await this.sync();
    const now = this.now();
    const key = JSON.stringify([f.category ?? null, f.region ?? null, this.version, Math.floor(now / 60_000)]);
    if (this.leaderboardCache?.key === key) return this.leaderboardCache.entries;
    const agents = await this.deps.agents.active(f);
    const scored = agents.map((a) => {
      const idx = this.engine.indexOf(a.id);
      const score = Math.round(this.engine.scoreOf(a.id, now));
      const observations = idx === undefined ? 0 : this.engine.observations(idx);
      return { a, score, observations };
    });
    scored.sort((x, y) => y.score - x.score || (x.a.id < y.a.id ? -1 : 1));
    const entries = scored.map((s, i) => ({
      rank: i + 1, agentId: s.a.id, displayName: s.a.display_name, region: s.a.region, categories: s.a.categories, trustScore: s.score,
      level: trustLevel(s.score, s.observations), observations: s.observations,
    }));
    this.leaderboardCache = { key, entries };
    return entries;
  }

  async probes(): Promise<string[]> {
    return repo.probes(this.deps.database.db);
  }

  // ------------------------------------------------------------------------------ writes

  async rate(raterId: string, input: { tradeId: string; stars: number; comment?: string | undefined }): Promise<RatingView> {
    const at = this.deps.clock.now();
    const view = await this.deps.database.transaction(async (tx) => {
      const trade = await repo.tradeOutcome(tx, input.tradeId);
      if (!trade) throw new AppError('not_found', `trade ${input.tradeId} has no recorded outcome: only settled or failed trades can be rated`);
      const buyer = trade.producer_id!;
      const seller = trade.subject_id!;
      if (raterId !== buyer && raterId !== seller) throw new AppError('forbidden', 'only a party of the trade may rate it');
      const rateeId = raterId === buyer ? seller : buyer;
      const id = uuidv7(this.deps.clock);
      const ok = await repo.insertEvidence(tx, {
        id, type: 'rating', subjectId: rateeId, producerId: raterId, tradeId: input.tradeId, at,
        data: { stars: input.stars, comment: input.comment ?? null }, source: `agent:${raterId}`, createdAt: at,
      });
      if (!ok) throw new AppError('conflict', 'this trade has already been rated by this party', { reason: 'already_rated' });
      const v: RatingView = { id, tradeId: input.tradeId, raterId, rateeId, stars: input.stars, comment: input.comment ?? null, at };
      await this.deps.outbox?.append(tx, [{ type: 'rating.received', agentIds: [rateeId], data: { ratingId: id, ...ratingJson(v) }, at: at.toISOString() }]);
      return v;
    });
    this.deps.outbox?.poke();
    return view;
  }

  async submitEvidence(actor: Actor, e: SubmittedEvidence): Promise<{ id: string; type: string; agentId: string; producerId: string | null; at: Date }> {
    const db = this.deps.database.db;
    let producerId: string | null = null;
    if (e.type === 'probe') {
      const probes = new Set(await repo.probes(db));
      if (actor.kind === 'agent') {
        if (!probes.has(actor.agentId)) throw new AppError('forbidden', 'only the operator\'s probe agents may report probe measurements');
        if (e.probeId !== undefined && e.probeId !== actor.agentId) throw new AppError('forbidden', 'a probe reports its own measurements');
        producerId = actor.agentId;
      } else {
        if (e.probeId === undefined) throw new AppError('validation_failed', 'probeId is required when the operator reports a probe measurement', { errors: [{ field: 'body.probeId', message: 'is required' }] });
        if (!probes.has(e.probeId)) throw new AppError('unprocessable', `agent ${e.probeId} is not a probe agent`);
        producerId = e.probeId;
      }
      if (producerId === e.agentId) throw new AppError('validation_failed', 'a probe cannot measure itself');
    } else if (actor.kind !== 'admin') {
      throw new AppError('forbidden', 'community actions and reliability attestations are reported by the operator');
    } else if (e.type === 'reliability' && (e.kind === 'uptime' || e.kind === 'maintenance')) {
      throw new AppError('unprocessable', `${e.kind} is measured by the platform from heartbeats and maintenance windows (GET /v1/agents/{id}/availability); attestations are for security and backup`);
    }
    await this.mustExist(e.agentId);
    const at = this.deps.clock.now();
    const id = uuidv7(this.deps.clock);
    const { type: _t, agentId: _a, probeId: _p, ...data } = e as SubmittedEvidence & { probeId?: string };
    const row: NewEvidence = {
      id, type: e.type, subjectId: e.agentId, producerId, tradeId: null, at, data, source: actor.kind === 'admin' ? 'operator' : `agent:${actor.agentId}`, createdAt: at,
    };
    await repo.insertEvidence(db, row);
    return { id, type: e.type, agentId: e.agentId, producerId, at };
  }

  /**
   * Reliability measured by the platform (the availability module's daily uptime and maintenance
   * compliance), in the caller's transaction: one row per agent, kind and day (the id says which).
   */
  async recordMeasuredReliability(tx: Tx, e: { agentId: string; kind: 'uptime' | 'maintenance'; value: number; day: Date; detail: Record<string, unknown>; at: Date }): Promise<boolean> {
    const value = Number.isFinite(e.value) ? Math.min(1, Math.max(0, e.value)) : 0;
    return repo.insertEvidence(tx, {
      id: uuidFromName(`reputation:reliability:${e.kind}:${e.agentId}:${e.day.toISOString()}`), type: 'reliability', subjectId: e.agentId,
      producerId: null, tradeId: null, at: e.at, data: { ...e.detail, kind: e.kind, value }, source: 'availability', createdAt: this.deps.clock.now(),
    });
  }

  async addProbe(agentId: string): Promise<boolean> {
    await this.mustExist(agentId);
    const added = await repo.addProbe(this.deps.database.db, agentId, this.deps.clock.now());
    if (added) this.projection.loaded = false; // the pre-trusted set changed: recompute from the log
    return added;
  }

  async removeProbe(agentId: string): Promise<boolean> {
    const removed = await repo.removeProbe(this.deps.database.db, agentId);
    if (removed) this.projection.loaded = false;
    return removed;
  }

  /**
   * Records a `funding` report for every agent whose externally funded value (ledger: deposits + mints -
   * withdrawals) differs from what the engine holds. The report's id is derived from the agent and the
   * ledger entry that set the value, so processes running this at once record it once. Returns how many.
   */
  async recordFunding(): Promise<number> {
    await this.sync();
    let written = 0;
    // re-read a margin below the watermark: entries committed late (PostgreSQL) still get their report
    let after = this.fundingSeq > 1000n ? this.fundingSeq - 1000n : 0n;
    for (;;) {
      const rows = await this.funding.externalFunding(after, 1000);
      for (const r of rows) {
        const net = r.net > 0n ? r.net : 0n;
        if (Number(net) / 1e8 === this.engine.trustOf(r.agentId).fundedAitbc) continue;
        const at = this.deps.clock.now();
        const ok = await repo.insertEvidence(this.deps.database.db, {
          id: uuidFromName(`reputation:funding:${r.agentId}:${r.lastSeq}`), type: 'funding', subjectId: r.agentId, producerId: null, tradeId: null, at,
          data: { amount: net.toString(), ledgerSeq: r.lastSeq.toString() }, source: 'ledger', createdAt: at,
        });
        if (ok) written++;
      }
      if (rows.length > 0) {
        after = rows[rows.length - 1]!.lastSeq;
        if (after > this.fundingSeq) this.fundingSeq = after;
      }
      if (rows.length < 1000) break;
    }
    if (written > 0) await this.sync();
    return written;
  }

  /**
   * Runs a global-trust epoch now: records the funding that changed, then an `epoch` row in the evidence
   * log (so every replay computes the same epoch at the same point), and folds it in. Every piece of
   * evidence is weighed again with its producer's new trust. `id` makes a scheduled epoch idempotent.
   */
  async runEpoch(id?: string): Promise<{ id: string; at: Date; computed: boolean; fundingReports: number; epochs: number; agents: number; edges: number; trustedAgents: number; trustReference: number | null; seed: { preTrusted: number; funded: number; fundedAitbc: number } }> {
    const fundingReports = await this.recordFunding();
    await this.sync();
    const computed = this.engine.epochPending;
    const at = this.deps.clock.now();
    const epochId = id ?? uuidv7(this.deps.clock);
    await repo.insertEvidence(this.deps.database.db, {
      id: epochId, type: 'epoch', subjectId: null, producerId: null, tradeId: null, at, data: { by: id === undefined ? 'operator' : 'schedule' },
      source: id === undefined ? 'operator' : 'schedule', createdAt: at,
    });
    await this.sync();
    const info = this.engine.epochInfo;
    const seed = this.engine.seedSummary();
    return {
      id: epochId, at, computed, fundingReports, epochs: info.epochs, agents: info.agents, edges: info.edges, trustedAgents: seed.trusted,
      trustReference: info.trustReference, seed: { preTrusted: seed.preTrusted, funded: seed.funded, fundedAitbc: seed.fundedAitbc },
    };
  }

  /** The background job: an epoch per `epochEveryMs` (one id per period) when the evidence changed since the last. */
  async scheduledEpoch(): Promise<boolean> {
    const every = this.deps.epochEveryMs ?? 3_600_000;
    if (!(every > 0)) return false;
    await this.recordFunding();
    if (!this.engine.epochPending) return false;
    const period = Math.floor(this.now() / every);
    await this.runEpoch(uuidFromName(`reputation:epoch:${every}:${period}`));
    return true;
  }

  /** Every agent's snapshot score as of `at` (the latest snapshot before it). */
  scoresAt(at: Date): Promise<Map<string, number>> {
    return repo.scoresAt(this.deps.database.db, at);
  }

  /** Writes score snapshots (see SnapshotWriter); returns the rows written. */
  snapshot(): Promise<number> {
    return this.snapshots.snapshot();
  }

  /** Runs the same-owner detector (see SameOwnerDetector); returns the clusters recorded. */
  detectSameOwner(): Promise<OwnerCluster[]> {
    return this.sameOwnerDetector.detectSameOwner();
  }

  /** Statistics of the same-owner detector's account cache (tests, metrics). */
  get accountCache(): { size: number; watermark: number | null } {
    return this.sameOwnerDetector.accountCache;
  }

  /**
   * A seller's record since `sinceMs` as certification and badges read it: each trade outcome with the
   * values its buyer measured itself (never the seller's claim), and whether the trade was disputed.
   */
  async sellerRecord(sellerId: string, sinceMs: number): Promise<SellerTrade[]> {
    const rows = await repo.sellerRecord(this.deps.database.db, sellerId, new Date(sinceMs));
    const disputed = new Set(rows.filter((r) => r.type === 'dispute' && r.trade_id).map((r) => r.trade_id!));
    const out: SellerTrade[] = [];
    for (const r of rows) {
      if (r.type !== 'trade' || !r.trade_id || !r.producer_id) continue;
      const d = r.data;
      const b = (typeof d.buyer === 'object' && d.buyer !== null ? d.buyer : {}) as Record<string, unknown>;
      const lat = typeof b.latencyMs === 'number' ? b.latencyMs : null;
      const acc = typeof b.accuracy === 'number' ? b.accuracy : b.accepted === true ? 1 : b.accepted === false ? 0 : null;
      out.push({
        tradeId: r.trade_id, buyerId: r.producer_id, atMs: r.at.getTime(), success: d.success === true,
        amount: BigInt(typeof d.amount === 'string' ? d.amount : '0'), buyerLatencyMs: lat, buyerAccuracy: acc,
        sameOwnerSuspected: d.sameOwnerSuspected === true, disputed: disputed.has(r.trade_id),
      });
    }
    return out;
  }

  /** Sellers with a trade outcome recorded since `sinceMs`. */
  sellersSince(sinceMs: number): Promise<string[]> {
    return repo.sellersSince(this.deps.database.db, new Date(sinceMs));
  }

  /** Agents the same-owner detector put in a cluster with this one. */
  sameOwnerPeers(agentId: string): Promise<string[]> {
    return repo.sameOwnerPeers(this.deps.database.db, agentId);
  }

  /** The published metrics for the agent's economic profile. */
  async profile(agentId: string) {
    await this.sync();
    const p = publishedReputation(this.engine, agentId, this.now());
    return {
      trustScore: p.trustScore, trustLevel: p.level, performanceRating: p.performanceRating.value, reliability: p.reliability.value,
      communityRating: p.communityRating.value, observations: p.observations,
    };
  }
}
