/**
 * SQL of the reputation module (its own tables only: agents and ledger are read through their ports),
 * and the mapping between evidence rows and the pure core's evidence.
 */
import { sql, type Selectable } from 'kysely';
import type { Executor } from '../../database.js';
import type { Evidence } from './evidence.types.js';
import type { EvidenceRowType, ReputationEvidenceTable, ReputationSnapshotsTable } from './reputation.tables.js';

export type { Executor };
export type EvidenceRow = Selectable<ReputationEvidenceTable>;
export type SnapshotRow = Selectable<ReputationSnapshotsTable>;

export interface NewEvidence {
  id: string;
  type: EvidenceRowType;
  /** null for an epoch */
  subjectId: string | null;
  producerId: string | null;
  tradeId: string | null;
  at: Date;
  data: Record<string, unknown>;
  source: string;
  createdAt: Date;
}

export const reputationRepository = {
  /** Inserts one evidence row; false when a row with this id or the same unique fact already exists. */
  async insertEvidence(db: Executor, e: NewEvidence): Promise<boolean> {
    const r = await db
      .insertInto('reputation_evidence')
      .values({
        id: e.id, type: e.type, subject_id: e.subjectId, producer_id: e.producerId, trade_id: e.tradeId, at: e.at,
        data: JSON.stringify(e.data), source: e.source, created_at: e.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  /** Evidence rows after `afterSeq`, in seq order. */
  evidenceAfter(db: Executor, afterSeq: bigint, limit: number): Promise<EvidenceRow[]> {
    return db.selectFrom('reputation_evidence').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  },

  evidenceBySeqs(db: Executor, seqs: bigint[]): Promise<EvidenceRow[]> {
    if (seqs.length === 0) return Promise.resolve([]);
    return db.selectFrom('reputation_evidence').selectAll().where('seq', 'in', seqs).execute();
  },

  /** Trade outcome rows recorded at [from, until), in time order. */
  tradesBetween(db: Executor, from: Date, until: Date): Promise<EvidenceRow[]> {
    return db.selectFrom('reputation_evidence').selectAll().where('type', '=', 'trade').where('at', '>=', from).where('at', '<', until)
      .orderBy('at').orderBy('seq').execute();
  },

  /** Trade-outcome and dispute rows about one seller since `since` (certification, badges), oldest first. */
  sellerRecord(db: Executor, sellerId: string, since: Date): Promise<EvidenceRow[]> {
    return db.selectFrom('reputation_evidence').selectAll().where('subject_id', '=', sellerId).where('type', 'in', ['trade', 'dispute'])
      .where('at', '>=', since).orderBy('at').orderBy('seq').execute();
  },

  /** Sellers with a trade outcome recorded since `since` (by insertion time). */
  async sellersSince(db: Executor, since: Date): Promise<string[]> {
    const rows = await db.selectFrom('reputation_evidence').select('subject_id').distinct().where('type', '=', 'trade').where('created_at', '>=', since).execute();
    return rows.map((r) => r.subject_id!).filter((x) => x !== null);
  },

  /** The members of same-owner clusters that include this agent. */
  async sameOwnerPeers(db: Executor, agentId: string): Promise<string[]> {
    const rows = await db.selectFrom('reputation_evidence').select('data').where('type', '=', 'same_owner')
      .where(sql<boolean>`data->'members' @> ${JSON.stringify([agentId])}::jsonb`).execute();
    const out = new Set<string>();
    for (const r of rows) for (const m of (r.data as { members?: unknown }).members as unknown[] ?? []) if (typeof m === 'string' && m !== agentId) out.add(m);
    return [...out];
  },

  tradeOutcome(db: Executor, tradeId: string): Promise<EvidenceRow | undefined> {
    return db.selectFrom('reputation_evidence').selectAll().where('type', '=', 'trade').where('trade_id', '=', tradeId).executeTakeFirst();
  },

  rating(db: Executor, tradeId: string, raterId: string): Promise<EvidenceRow | undefined> {
    return db.selectFrom('reputation_evidence').selectAll().where('type', '=', 'rating').where('trade_id', '=', tradeId)
      .where('producer_id', '=', raterId).executeTakeFirst();
  },

  async probes(db: Executor): Promise<string[]> {
    const rows = await db.selectFrom('reputation_probes').select('agent_id').orderBy('agent_id').execute();
    return rows.map((r) => r.agent_id);
  },

  async addProbe(db: Executor, agentId: string, at: Date): Promise<boolean> {
    const r = await db.insertInto('reputation_probes').values({ agent_id: agentId, created_at: at }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  async removeProbe(db: Executor, agentId: string): Promise<boolean> {
    const r = await db.deleteFrom('reputation_probes').where('agent_id', '=', agentId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },

  async upsertSnapshots(db: Executor, rows: SnapshotRow[]): Promise<void> {
    if (rows.length === 0) return;
    await db
      .insertInto('reputation_snapshots')
      .values(rows.map((r) => ({ ...r, components: JSON.stringify(r.components) })))
      .onConflict((oc) => oc.columns(['agent_id', 'at']).doUpdateSet({
        score: sql`excluded.score`, raw: sql`excluded.raw`, level: sql`excluded.level`, components: sql`excluded.components`,
        observations: sql`excluded.observations`, evidence_seq: sql`excluded.evidence_seq`,
      }))
      .execute();
  },

  /** Score and observations of every agent's latest snapshot. */
  async latestSnapshots(db: Executor): Promise<Map<string, { score: number; observations: number }>> {
    const r = await sql<{ agent_id: string; score: number; observations: number }>`
      SELECT DISTINCT ON (agent_id) agent_id, score, observations FROM reputation_snapshots ORDER BY agent_id, at DESC`.execute(db);
    return new Map(r.rows.map((x) => [x.agent_id, { score: x.score, observations: x.observations }]));
  },

  /** Every agent's score as of its latest snapshot before `at` (market insights: trust movers). */
  async scoresAt(db: Executor, at: Date): Promise<Map<string, number>> {
    const r = await sql<{ agent_id: string; score: number }>`
      SELECT DISTINCT ON (agent_id) agent_id, score FROM reputation_snapshots WHERE at < ${at} ORDER BY agent_id, at DESC`.execute(db);
    return new Map(r.rows.map((x) => [x.agent_id, x.score]));
  },

  async insertCheckpoint(db: Executor, c: { seq: bigint; paramsKey: string; state: Uint8Array; createdAt: Date }): Promise<void> {
    await db.insertInto('reputation_checkpoints').values({ evidence_seq: c.seq, params_key: c.paramsKey, state: c.state, created_at: c.createdAt })
      .onConflict((oc) => oc.doNothing()).execute();
    await db.deleteFrom('reputation_checkpoints').where('evidence_seq', '<', c.seq).execute();
  },

  latestCheckpoint(db: Executor, paramsKey: string) {
    return db.selectFrom('reputation_checkpoints').selectAll().where('params_key', '=', paramsKey).orderBy('evidence_seq', 'desc').limit(1).executeTakeFirst();
  },

  history(db: Executor, agentId: string, before: Date | undefined, limit: number): Promise<SnapshotRow[]> {
    let q = db.selectFrom('reputation_snapshots').selectAll().where('agent_id', '=', agentId);
    if (before) q = q.where('at', '<', before);
    return q.orderBy('at', 'desc').limit(limit).execute();
  },
};

/**
 * The engine's TradeOutcome needs a latency and an accuracy. A trade whose value nobody measured (the
 * evidence row says null and lists it in `unmeasured`) enters with the curve's midpoint (goodness 0.5:
 * latencyCurve(150 ms), accuracyCurve(0.85)), neither credit nor blame, instead of a good value the
 * seller never proved (this used to be 0.95 accuracy on every success).
 */
const UNMEASURED_LATENCY_MS = 150;
const UNMEASURED_ACCURACY = 0.85;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/** The pure core's evidence item for a row; `at` is the engine time (ms) chosen by the caller. */
export function toEvidence(row: EvidenceRow, at: number): Evidence {
  const d = row.data as Record<string, unknown>;
  if (row.type === 'epoch' || row.subject_id === null) return { type: 'epoch', at };
  const r = { ...row, subject_id: row.subject_id };
  switch (r.type) {
    case 'funding':
      return { type: 'funding', at, agentId: r.subject_id, amount: BigInt(typeof d.amount === 'string' ? d.amount : '0') };
    case 'trade':
      return {
        type: 'trade', id: r.trade_id!, at, buyerId: r.producer_id!, sellerId: r.subject_id, success: d.success === true,
        latencyMs: num(d.latencyMs, UNMEASURED_LATENCY_MS), accuracy: num(d.accuracy, d.success === true ? UNMEASURED_ACCURACY : 0), slaMet: d.slaMet === true,
        // what the buyer experienced, when it reported it (it replaces the seller's claim)
        // (trading stores the buyer's report as `buyer: {latencyMs, accuracy, ...}`; older rows had flat fields)
        ...buyerExperienced(d),
        amount: BigInt(typeof d.amount === 'string' ? d.amount : '0'), ...(d.sameOwnerSuspected === true ? { sameOwnerSuspected: true } : {}),
      };
    case 'probe':
      return {
        type: 'probe', at, agentId: r.subject_id, probeId: r.producer_id!, responseMs: num(d.responseMs, Infinity), available: d.available === true,
        accuracy: num(d.accuracy, 0),
      };
    case 'rating':
      return { type: 'rating', at, raterId: r.producer_id!, rateeId: r.subject_id, tradeId: r.trade_id!, stars: num(d.stars, 1) };
    case 'community':
      return { type: 'community', at, agentId: r.subject_id, kind: d.kind as 'forum' };
    case 'reliability':
      return { type: 'reliability', at, agentId: r.subject_id, kind: d.kind as 'uptime', value: num(d.value, 0) };
    case 'dispute':
      return {
        type: 'dispute', at, agentId: r.subject_id, outcome: d.outcome as 'won', filedBy: r.producer_id ?? r.subject_id,
        ...(r.trade_id ? { tradeId: r.trade_id } : {}),
      };
    case 'same_owner':
      return {
        type: 'same_owner', at, id: r.id, members: strings(d.members), signals: strings(d.signals), internalShare: num(d.internalShare, 1),
      };
    case 'epoch':
      return { type: 'epoch', at };
  }
}

/** The buyer's own latency and accuracy in a trade row's data, when it reported them. */
function buyerExperienced(d: Record<string, unknown>): { buyerLatencyMs?: number; buyerAccuracy?: number } {
  const report = (typeof d.buyer === 'object' && d.buyer !== null ? d.buyer : {}) as Record<string, unknown>;
  const latency = typeof d.buyerLatencyMs === 'number' ? d.buyerLatencyMs : report.latencyMs;
  const accuracy = typeof d.buyerAccuracy === 'number' ? d.buyerAccuracy : report.accuracy;
  return {
    ...(typeof latency === 'number' ? { buyerLatencyMs: latency } : {}),
    ...(typeof accuracy === 'number' ? { buyerAccuracy: accuracy } : {}),
  };
}
