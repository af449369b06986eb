/**
 * The reputation service: writes evidence (in the caller's transaction for trade and dispute outcomes),
 * keeps an in-memory ReputationEngine in step with the evidence log, and answers reads from it.
 *
 * The engine is a projection of the log: it tails `reputation_evidence` in seq order (lazily, before
 * every read, and from a background job), applying each row at max(row time, last applied time). A
 * full recompute is the same fold from seq 0, so it gives the same scores. Rows that become visible
 * out of seq order (concurrent commits on PostgreSQL) are detected through the gaps they leave and
 * trigger a rebuild. Every process keeps its own engine; all of them converge on the same log.
 */
import type { Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import type { FirstFunders, Tx } from '../ledger/ledger.port.js';
import type { AccountAttributesRow, AgentsService } from '../agents/agents.service.js';
import type { BackgroundJob } from '../module.js';
import { createHash } from 'node:crypto';
import { ReputationEngine } from './engine.js';
import { decodeCheckpoint, encodeCheckpoint, paramsKey } from './checkpoint.js';
import { makeParams } from './params.js';
import { DAY_MS, type CommunityKind, type ReliabilityKind } from './evidence.types.js';
import { DEFAULT_OWNER_CLUSTER_OPTIONS, detectOwnerClusters, type AccountSignals, type OwnerCluster, type OwnerClusterOptions } from './wash.js';
import { explain, publishedReputation, type Explanation, type PublishedReputation } from './explain.js';
import { trustLevel } from './trust-score.js';
import {
  reputationRepository as repo, toEvidence, type EvidenceRow, type NewEvidence, type SnapshotRow,
} from './reputation.repository.js';
import type { DisputeOutcomeEvidence, ReputationPort, TradeOutcomeEvidence } from './reputation.port.js';
import type { ReputationParams } from './params.js';

export interface ReputationDeps {
  database: Database;
  clock: Clock;
  agents: AgentsService;
  /** the ledger's answer to who first funded a wallet (same-owner detection) */
  funders: FirstFunders;
  /** Overrides of the scoring parameters (tests, simulations). `preTrusted` comes from the probes table. */
  params?: Partial<Omit<ReputationParams, 'preTrusted'>>;
  /** Overrides of the same-owner detector's thresholds. */
  ownerClusters?: Partial<OwnerClusterOptions>;
  /**
   * Engine checkpoints: start from the latest stored one (true by default), and store a new one when at
   * least `every` evidence rows were applied since the last (default 50,000).
   */
  checkpoints?: { use?: boolean; every?: number };
}

const HOUR_MS = 3_600_000;
const BATCH = 5_000;
const SNAPSHOT_BATCH = 1_000;
const FUNDER_CHUNK = 1_000;
const MISSING_TTL_MS = 10 * 60_000;
/**
 * Agents changed within this margin before the account cache's watermark are read again: a writer may
 * commit after a later change was read, with an earlier time (concurrent writers, clocks of other processes).
 */
const ACCOUNTS_MARGIN_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

const r2 = (x: number): number => Math.round(x * 100) / 100;

export class ReputationService implements ReputationPort {
  readonly jobs: BackgroundJob[];
  private engine!: ReputationEngine;
  private loaded = false;
  private lastSeq = 0n;
  private lastAt = -Infinity;
  private probeSet = new Set<string>();
  /** seqs skipped by the tail (rolled back, or not yet committed) and when we first noticed them */
  private readonly missing = new Map<bigint, number>();
  private readonly dirty = new Set<string>();
  private version = 0;
  private current: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private rebuilds = 0;
  private leaderboardCache: { key: string; entries: LeaderboardEntry[] } | undefined;
  /** score and observations of each agent's latest snapshot (loaded once, then kept by this process) */
  private lastSnapshot: Map<string, { score: number; observations: number }> | undefined;
  /** the last day on which every agent was checked for a changed score */
  private sweptDay = -Infinity;
  /** who first funded an agent never changes once known */
  private readonly funders = new Map<string, string | null>();
  /**
   * Account attributes (agents table) for same-owner detection, kept in step incrementally: each run reads
   * the agents changed since `accountsWatermark` (the latest updated_at read, less ACCOUNTS_MARGIN_MS) and
   * the traded agents not cached yet, instead of every agent.
   */
  private readonly accounts = new Map<string, AccountAttributesRow>();
  private accountsWatermark: number | null = null;
  private accountsLoading: Promise<void> = Promise.resolve();
  /** trades the engine had at the last same-owner detection (nothing new: nothing to do) */
  private detectedAtTrades = -1;
  /** the next load may start from a stored checkpoint (the first load of the process only) */
  private mayRestore: boolean;
  private restoredFrom: bigint | null = null;
  private checkpointSeq = 0n;
  /** evidence rows applied since the engine was (re)built */
  private applied = 0;

  constructor(readonly deps: ReputationDeps) {
    this.jobs = [
      { name: 'reputation.sync', intervalMs: 2_000, run: () => this.sync() },
      { name: 'reputation.snapshots', intervalMs: 60_000, run: () => this.snapshot() },
      { name: 'reputation.same_owner', intervalMs: 600_000, run: () => this.detectSameOwner() },
      { name: 'reputation.checkpoint', intervalMs: 600_000, run: () => this.checkpoint() },
    ];
    this.mayRestore = deps.checkpoints?.use ?? true;
  }

  // ------------------------------------------------------------------------------ the projection

  /** Brings the engine up to date with every committed evidence row (coalesced, serialised). */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const p = this.current.then(() => {
      this.queued = null;
      return this.runSync();
    });
    this.queued = p;
    this.current = p.catch(() => undefined);
    return p;
  }

  /** Full recompute: a fresh engine replaying the whole log (the same fold as the incremental path). */
  async recompute(): Promise<void> {
    this.loaded = false;
    this.mayRestore = false;
    // and the account attributes of the same-owner detector are read again in full
    this.accounts.clear();
    this.accountsWatermark = null;
    await this.sync();
  }

  /** Statistics of the projection (for tests and metrics). */
  get stats() {
    return {
      lastSeq: this.lastSeq, agents: this.engine?.agentCount ?? 0, rebuilds: this.rebuilds, version: this.version,
      restoredFrom: this.restoredFrom, applied: this.applied, checkpointSeq: this.checkpointSeq,
    };
  }

  private async runSync(): Promise<void> {
    const db = this.deps.database.db;
    if (!this.loaded) {
      const probes = await repo.probes(db);
      const params = { ...this.deps.params, preTrusted: probes };
      // the process's first load starts from the latest checkpoint for these parameters, if any; later
      // rebuilds (a probe changed, a late row, an explicit recompute) replay the whole log
      const restored = this.mayRestore ? await this.restore(params) : undefined;
      this.mayRestore = false;
      this.engine = restored?.engine ?? new ReputationEngine(params);
      this.restoredFrom = restored?.seq ?? null;
      this.checkpointSeq = restored?.seq ?? 0n;
      this.applied = 0;
      this.probeSet = new Set(probes);
      this.lastSeq = restored?.seq ?? 0n;
      this.lastAt = restored?.engine.lastAppliedAt ?? -Infinity;
      this.missing.clear();
      this.loaded = true;
      this.version++;
      this.leaderboardCache = undefined;
    }
    if (this.missing.size > 0) {
      const late = await repo.evidenceBySeqs(db, [...this.missing.keys()]);
      if (late.length > 0) {
        // a row committed after later rows were applied: replay from scratch to keep the seq order
        this.rebuilds++;
        this.loaded = false;
        return this.runSync();
      }
      const now = this.deps.clock.now().getTime();
      for (const [seq, since] of this.missing) if (now - since > MISSING_TTL_MS) this.missing.delete(seq);
    }
    for (;;) {
      const rows = await repo.evidenceAfter(db, this.lastSeq, BATCH);
      for (const row of rows) this.applyRow(row);
      if (rows.length < BATCH) break;
    }
  }

  private applyRow(row: EvidenceRow): void {
    const seq = BigInt(row.seq);
    if (seq > this.lastSeq + 1n && seq - this.lastSeq < 1000n) {
      const now = this.deps.clock.now().getTime();
      for (let s = this.lastSeq + 1n; s < seq; s++) this.missing.set(s, now);
    }
    this.lastSeq = seq;
    const at = Math.max(row.at.getTime(), this.lastAt);
    this.lastAt = at;
    const ev = toEvidence(row, at);
    this.engine.apply(ev);
    this.applied++;
    this.dirty.add(row.subject_id);
    if (row.type === 'trade' && row.producer_id) this.dirty.add(row.producer_id);
    if (ev.type === 'same_owner') for (const m of ev.members) this.dirty.add(m);
    this.version++;
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  private static checkpointKey(params: Parameters<typeof makeParams>[0]): string {
    return createHash('sha256').update(paramsKey(makeParams(params))).digest('hex');
  }

  private async restore(params: Parameters<typeof makeParams>[0]): Promise<{ engine: ReputationEngine; seq: bigint } | undefined> {
    const row = await repo.latestCheckpoint(this.deps.database.db, ReputationService.checkpointKey(params));
    if (!row) return undefined;
    try {
      return { engine: ReputationEngine.restore(decodeCheckpoint(row.state), params), seq: BigInt(row.evidence_seq) };
    } catch {
      return undefined; // unreadable or made by another version: replay the log
    }
  }

  /**
   * Stores the engine's state with the seq of the last row it applied, when at least `checkpoints.every`
   * rows were applied since the last checkpoint and no earlier seq is still missing (a row that could
   * still commit below the checkpoint would be lost to processes starting from it). Returns its seq.
   */
  async checkpoint(): Promise<bigint | null> {
    await this.sync();
    const every = BigInt(this.deps.checkpoints?.every ?? 50_000);
    if (this.missing.size > 0 || this.lastSeq === 0n || this.lastSeq - this.checkpointSeq < every) return null;
    // no await between reading the seq and serialising: the state is exactly the state after that row
    const seq = this.lastSeq;
    const cp = this.engine.checkpoint();
    const state = encodeCheckpoint(cp);
    await repo.insertCheckpoint(this.deps.database.db, {
      seq, paramsKey: createHash('sha256').update(cp.paramsKey).digest('hex'), state, createdAt: this.deps.clock.now(),
    });
    this.checkpointSeq = seq;
    return seq;
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
  async explain(agentId: string, reveal: boolean): Promise<Explanation & { probe: boolean }> {
    await this.mustExist(agentId);
    await this.sync();
    const x = explain(this.engine, agentId, this.now());
    const recent = reveal ? x.recent : x.recent.map(({ counterparty: _c, ...rest }) => rest);
    const sameOwner = x.sameOwner === null || reveal ? x.sameOwner : (({ members: _m, ...rest }) => rest)(x.sameOwner);
    return { ...x, recent, sameOwner, probe: this.probeSet.has(agentId) };
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
      const seller = trade.subject_id;
      if (raterId !== buyer && raterId !== seller) throw new AppError('forbidden', 'only a party of the trade may rate it');
      const rateeId = raterId === buyer ? seller : buyer;
      const id = uuidv7(this.deps.clock);
      const ok = await repo.insertEvidence(tx, {
        id, type: 'rating', subjectId: rateeId, producerId: raterId, tradeId: input.tradeId, at,
        data: { stars: input.stars, comment: input.comment ?? null }, source: `agent:${raterId}`, createdAt: at,
      });
      if (!ok) throw new AppError('conflict', 'this trade has already been rated by this party', { reason: 'already_rated' });
      return { id, tradeId: input.tradeId, raterId, rateeId, stars: input.stars, comment: input.comment ?? null, at };
    });
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

  async addProbe(agentId: string): Promise<boolean> {
    await this.mustExist(agentId);
    const added = await repo.addProbe(this.deps.database.db, agentId, this.deps.clock.now());
    if (added) this.loaded = false; // the pre-trusted set changed: recompute from the log
    return added;
  }

  async removeProbe(agentId: string): Promise<boolean> {
    const removed = await repo.removeProbe(this.deps.database.db, agentId);
    if (removed) this.loaded = false;
    return removed;
  }

  // ------------------------------------------------------------------------------ snapshots

  /**
   * Writes snapshots (hour bucket, latest value wins): every minute for agents with new evidence, and on
   * the first run of each day for every agent, so that decay (and recovery within the gain cap) of
   * inactive agents is recorded too. Only agents whose score or observation count differs from their
   * latest snapshot get a row; rows are written in multi-row batches.
   */
  async snapshot(): Promise<number> {
    await this.sync();
    const db = this.deps.database.db;
    const now = this.now();
    if (this.lastSnapshot === undefined) this.lastSnapshot = await repo.latestSnapshots(db);
    const last = this.lastSnapshot;
    const day = Math.floor(now / DAY_MS);
    const sweep = day > this.sweptDay;
    const candidates = sweep ? this.engine.agentIds() : [...this.dirty];
    const dirty = [...this.dirty];
    this.dirty.clear();
    const bucket = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    const rows: SnapshotRow[] = [];
    for (const id of candidates) {
      const score = Math.round(this.engine.scoreOf(id, now));
      const prev = last.get(id);
      const idx = this.engine.indexOf(id);
      const observations = idx === undefined ? 0 : this.engine.observations(idx);
      if (prev === undefined ? score === 0 && observations === 0 : prev.score === score && prev.observations === observations) continue;
      const v = this.engine.score(id, now);
      const c = v.components;
      rows.push({
        agent_id: id, at: bucket, score, raw: r2(v.raw), level: trustLevel(score, v.observations), observations: v.observations, evidence_seq: this.lastSeq,
        components: { performance: r2(c.performance), transactions: r2(c.transactions), community: r2(c.community), reliability: r2(c.reliability), disputes: r2(c.disputes) },
      });
    }
    try {
      for (let i = 0; i < rows.length; i += SNAPSHOT_BATCH) await repo.upsertSnapshots(db, rows.slice(i, i + SNAPSHOT_BATCH));
    } catch (err) {
      for (const id of dirty) this.dirty.add(id);
      this.lastSnapshot = undefined; // some batches may have been written: reload
      throw err;
    }
    for (const r of rows) last.set(r.agent_id, { score: r.score, observations: r.observations });
    if (sweep) this.sweptDay = day;
    return rows.length;
  }

  // ------------------------------------------------------------------------------ same owner

  /**
   * Runs the same-owner detector (wash.ts `detectOwnerClusters`) over the trades in the evidence log and
   * the account signals of the agents that made them (agents table: public key, registration time,
   * country, region, type, categories, display name; ledger: who first funded each wallet). Each new
   * cluster is recorded as a `same_owner` evidence row with its members and signals (its id derives from
   * the member set, so processes running the job at once record it once); the engine applies it in log
   * order, so incremental and full recomputes agree. The account signals come from a cache refreshed with
   * the agents changed since the last run (`refreshAccounts`), not a read of every agent. Returns the
   * clusters recorded.
   */
  async detectSameOwner(): Promise<OwnerCluster[]> {
    await this.sync();
    const trades = this.engine.tradePairCounts();
    let tradeCount = 0;
    for (const t of trades) tradeCount += t.count;
    if (trades.length === 0 || tradeCount === this.detectedAtTrades) return [];
    const db = this.deps.database.db;
    const traded = new Set<string>();
    for (const t of trades) traded.add(t.buyerId).add(t.sellerId);
    const unknown = [...traded].filter((id) => !this.funders.has(id));
    for (let i = 0; i < unknown.length; i += FUNDER_CHUNK) {
      for (const r of await this.deps.funders.firstFunders(unknown.slice(i, i + FUNDER_CHUNK))) this.funders.set(r.agentId, r.funder);
    }
    await this.refreshAccounts(traded);
    const accounts: AccountSignals[] = [];
    for (const id of traded) {
      const a = this.accounts.get(id);
      if (a === undefined) continue; // not a registered agent
      accounts.push({
        id: a.id, displayName: a.display_name, type: a.type, country: a.country, region: a.region, categories: a.categories,
        publicKey: a.public_key, createdAt: new Date(a.created_at).getTime(), funder: this.funders.get(a.id) ?? null,
      });
    }
    const clusters = detectOwnerClusters(accounts, trades, { ...DEFAULT_OWNER_CLUSTER_OPTIONS, ...this.deps.ownerClusters });
    const recorded: OwnerCluster[] = [];
    const at = this.deps.clock.now();
    for (const c of clusters) {
      // already known: every member is in one cluster with the first
      if (c.members.every((m) => this.engine.sameOwner(c.members[0]!, m))) continue;
      const ok = await repo.insertEvidence(db, {
        id: uuidFromName(`reputation:same_owner:${c.members.join(',')}`), type: 'same_owner', subjectId: c.members[0]!, producerId: null, tradeId: null, at,
        data: { members: c.members, signals: c.signals, internalShare: c.internalShare, internalTrades: c.internalTrades }, source: 'reputation:same_owner', createdAt: at,
      });
      if (ok) recorded.push(c);
    }
    this.detectedAtTrades = tradeCount;
    return recorded;
  }

  /**
   * Brings the account cache up to date for these agents: reads the agents changed since the watermark
   * (less the margin) and those of `ids` not cached yet, in one statement. The result is the same as
   * reading every agent, provided no change commits later than ACCOUNTS_MARGIN_MS after a later-stamped
   * one was read. Serialised, so an older read never overwrites a newer one.
   */
  private refreshAccounts(ids: Iterable<string>): Promise<void> {
    const p = this.accountsLoading.then(async () => {
      const missing: string[] = [];
      for (const id of ids) if (!this.accounts.has(id) && UUID.test(id)) missing.push(id);
      const since = this.accountsWatermark === null ? null : new Date(this.accountsWatermark - ACCOUNTS_MARGIN_MS);
      // The watermark is the time of this read (or a later change read, from a clock ahead of ours): the
      // latest change read would stay put while nobody changes, and every agent stamped within the margin
      // of it (a whole population registered at once) would be read again on every run.
      const readAt = this.deps.clock.now().getTime();
      const rows = await this.deps.agents.accountAttributes({ since, ids: missing });
      let max = Math.max(this.accountsWatermark ?? -Infinity, readAt);
      for (const r of rows) {
        this.accounts.set(r.id, r);
        max = Math.max(max, r.updated_at.getTime());
      }
      this.accountsWatermark = max;
    });
    this.accountsLoading = p.catch(() => undefined);
    return p;
  }

  /** Statistics of the same-owner detector's account cache (tests, metrics). */
  get accountCache(): { size: number; watermark: number | null } {
    return { size: this.accounts.size, watermark: this.accountsWatermark };
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
