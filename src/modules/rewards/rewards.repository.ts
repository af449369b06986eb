/** SQL of the rewards module: its own tables only (reputation, ledger, trading are read through their ports). */
import { sql, type Selectable } from 'kysely';
import type { Executor } from '../../database.js';
import type { RewardsEpochsTable, RewardsStatementsTable, StatementStatus } from './rewards.tables.js';

export type EpochRow = Selectable<RewardsEpochsTable>;
export type StatementRow = Selectable<RewardsStatementsTable>;

export interface NewStatement {
  agentId: string;
  amount: bigint;
  status: StatementStatus;
  tier: string;
  trust: number;
  detail: Record<string, unknown>;
}

/** Rows per multi-row statement (arrays of this length; one JSON text of the details). */
const STATEMENT_CHUNK = 20_000;

export const rewardsRepository = {
  async programVersions(db: Executor, id?: string) {
    let q = db.selectFrom('rewards_programs').selectAll().orderBy('id').orderBy('version');
    if (id !== undefined) q = q.where('id', '=', id);
    return q.execute();
  },

  async insertProgram(db: Executor, p: { id: string; version: number; config: Record<string, unknown>; createdAt: Date }): Promise<boolean> {
    const r = await db.insertInto('rewards_programs').values({ id: p.id, version: p.version, config: JSON.stringify(p.config), created_at: p.createdAt })
      .onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  openEpoch(db: Executor, programId: string): Promise<EpochRow | undefined> {
    return db.selectFrom('rewards_epochs').selectAll().where('program_id', '=', programId).where('status', '=', 'open').executeTakeFirst();
  },

  lastEpoch(db: Executor, programId: string): Promise<EpochRow | undefined> {
    return db.selectFrom('rewards_epochs').selectAll().where('program_id', '=', programId).orderBy('number', 'desc').limit(1).executeTakeFirst();
  },

  async insertEpoch(db: Executor, e: Pick<EpochRow, 'id' | 'program_id' | 'program_version' | 'number' | 'starts_at' | 'ends_at'>): Promise<void> {
    await db.insertInto('rewards_epochs').values({ ...e, status: 'open' }).onConflict((oc) => oc.doNothing()).execute();
  },

  epoch(db: Executor, id: string): Promise<EpochRow | undefined> {
    return db.selectFrom('rewards_epochs').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async lockEpoch(db: Executor, id: string): Promise<EpochRow | undefined> {
    return (await sql<EpochRow>`SELECT * FROM rewards_epochs WHERE id = ${id}::uuid FOR UPDATE`.execute(db)).rows[0];
  },

  epochs(db: Executor, f: { programId?: string | undefined; beforeNumber?: number | undefined; limit: number }): Promise<EpochRow[]> {
    let q = db.selectFrom('rewards_epochs').selectAll().orderBy('number', 'desc').limit(f.limit);
    if (f.programId) q = q.where('program_id', '=', f.programId);
    if (f.beforeNumber !== undefined) q = q.where('number', '<', f.beforeNumber);
    return q.execute();
  },

  dueOpenEpochs(db: Executor, now: Date): Promise<EpochRow[]> {
    return db.selectFrom('rewards_epochs').selectAll().where('status', '=', 'open').where('ends_at', '<=', now).orderBy('ends_at').execute();
  },

  closedEpochs(db: Executor): Promise<EpochRow[]> {
    return db.selectFrom('rewards_epochs').selectAll().where('status', '=', 'closed').orderBy('ends_at').execute();
  },

  async closeEpoch(db: Executor, id: string, e: Pick<EpochRow, 'ends_at' | 'pool_balance' | 'budget' | 'demand' | 'paid' | 'held' | 'capped' | 'remainder_units' | 'scale_ppm' | 'agents' | 'closed_at'>): Promise<void> {
    await db.updateTable('rewards_epochs').set({ ...e, status: 'closed' }).where('id', '=', id).where('status', '=', 'open').execute();
  },

  async markDistributed(db: Executor, id: string, at: Date): Promise<void> {
    await db.updateTable('rewards_epochs').set({ status: 'distributed', distributed_at: at }).where('id', '=', id).where('status', '=', 'closed').execute();
  },

  /** What closed epochs still owe or hold (not yet paid): the pool must keep it. */
  async reserved(db: Executor, exceptEpochId: string): Promise<bigint> {
    const r = await sql<{ s: string | null }>`
      SELECT sum(s.amount)::text AS s FROM rewards_statements s
      WHERE s.status IN ('payable', 'held') AND s.epoch_id <> ${exceptEpochId}::uuid`.execute(db);
    return BigInt(r.rows[0]?.s ?? '0');
  },

  /**
   * Inserted by STATEMENT_CHUNK rows a statement, columns as arrays (unnest) and the details as one JSON
   * array: a handful of parameters per statement instead of nine per row (the VALUES list this replaced
   * measured 1.02 s for 20,000 rows; docs/benchmarks.md, Rewards).
   */
  async insertStatements(db: Executor, epochId: string, rows: readonly NewStatement[]): Promise<void> {
    for (let i = 0; i < rows.length; i += STATEMENT_CHUNK) {
      const part = rows.slice(i, i + STATEMENT_CHUNK);
      await sql`
        INSERT INTO rewards_statements (epoch_id, agent_id, amount, status, tier, trust, detail, transfer_id, paid_at)
        SELECT ${epochId}::uuid, u.agent_id, u.amount, u.status, u.tier, u.trust, u.detail, NULL, NULL
        FROM ROWS FROM (
          unnest(${part.map((s) => s.agentId)}::uuid[]), unnest(${part.map((s) => s.amount.toString())}::int8[]), unnest(${part.map((s) => s.status)}::text[]),
          unnest(${part.map((s) => s.tier)}::text[]), unnest(${part.map((s) => s.trust)}::int[]), jsonb_array_elements(${JSON.stringify(part.map((s) => s.detail))}::jsonb)
        ) AS u(agent_id, amount, status, tier, trust, detail)
        ON CONFLICT DO NOTHING`.execute(db);
    }
  },

  /** Statements still to pay, by agent id, after `afterAgent`. */
  payable(db: Executor, epochId: string, afterAgent: string | null, limit: number): Promise<Pick<StatementRow, 'agent_id' | 'amount'>[]> {
    let q = db.selectFrom('rewards_statements').select(['agent_id', 'amount']).where('epoch_id', '=', epochId).where('status', '=', 'payable')
      .orderBy('agent_id').limit(limit);
    if (afterAgent !== null) q = q.where('agent_id', '>', afterAgent);
    return q.execute();
  },

  async markPaid(db: Executor, epochId: string, rows: readonly { agentId: string; transferId: string; status: 'paid' | 'rejected' }[], at: Date): Promise<void> {
    if (!rows.length) return;
    await sql`
      UPDATE rewards_statements s SET status = u.status, transfer_id = u.transfer_id, paid_at = ${at}::timestamptz
      FROM unnest(${rows.map((r) => r.agentId)}::uuid[], ${rows.map((r) => r.transferId)}::uuid[], ${rows.map((r) => r.status)}::text[]) AS u(agent_id, transfer_id, status)
      WHERE s.epoch_id = ${epochId}::uuid AND s.agent_id = u.agent_id AND s.status = 'payable'`.execute(db);
  },

  /** Statement counts and sums by status, and agents by tier. */
  async epochSummary(db: Executor, epochId: string) {
    const byStatus = await db.selectFrom('rewards_statements').select(['status', sql<string>`count(*)::text`.as('n'), sql<string>`coalesce(sum(amount), 0)::text`.as('amount')])
      .where('epoch_id', '=', epochId).groupBy('status').execute();
    const byTier = await db.selectFrom('rewards_statements').select(['tier', sql<string>`count(*)::text`.as('n'), sql<string>`coalesce(sum(amount), 0)::text`.as('amount')])
      .where('epoch_id', '=', epochId).groupBy('tier').execute();
    return { byStatus, byTier };
  },

  statementsOf(db: Executor, agentId: string, limit: number) {
    return db.selectFrom('rewards_statements').innerJoin('rewards_epochs', 'rewards_epochs.id', 'rewards_statements.epoch_id')
      .select(['rewards_statements.epoch_id', 'rewards_statements.agent_id', 'rewards_statements.amount', 'rewards_statements.status', 'rewards_statements.tier',
        'rewards_statements.trust', 'rewards_statements.detail', 'rewards_statements.transfer_id', 'rewards_statements.paid_at',
        'rewards_statements.decided_at', 'rewards_statements.decided_by', 'rewards_statements.decision_reason', 'rewards_epochs.closed_at',
        'rewards_epochs.number', 'rewards_epochs.program_id', 'rewards_epochs.program_version', 'rewards_epochs.starts_at', 'rewards_epochs.ends_at'])
      .where('rewards_statements.agent_id', '=', agentId).orderBy('rewards_epochs.ends_at', 'desc').limit(limit).execute();
  },

  topStatements(db: Executor, epochId: string, limit: number) {
    return db.selectFrom('rewards_statements').selectAll().where('epoch_id', '=', epochId).orderBy('amount', 'desc').orderBy('agent_id').limit(limit).execute();
  },

  /** Agents with a statement in each of the given epochs (numbers of one program): for streaks. */
  async activeIn(db: Executor, programId: string, numbers: readonly number[]): Promise<{ agent_id: string; number: number }[]> {
    if (!numbers.length) return [];
    return db.selectFrom('rewards_statements').innerJoin('rewards_epochs', 'rewards_epochs.id', 'rewards_statements.epoch_id')
      .select(['rewards_statements.agent_id', 'rewards_epochs.number']).where('rewards_epochs.program_id', '=', programId)
      .where('rewards_epochs.number', 'in', [...numbers]).execute();
  },

  async upsertTiers(db: Executor, epochId: string, rows: readonly { agentId: string; tier: string; trust: number }[], at: Date): Promise<void> {
    for (let i = 0; i < rows.length; i += STATEMENT_CHUNK) {
      const part = rows.slice(i, i + STATEMENT_CHUNK);
      await sql`
        INSERT INTO rewards_agent_tiers (agent_id, tier, trust, epoch_id, updated_at)
        SELECT u.agent_id, u.tier, u.trust, ${epochId}::uuid, ${at}::timestamptz
        FROM unnest(${part.map((r) => r.agentId)}::uuid[], ${part.map((r) => r.tier)}::text[], ${part.map((r) => r.trust)}::int[]) AS u(agent_id, tier, trust)
        ON CONFLICT (agent_id) DO UPDATE SET tier = excluded.tier, trust = excluded.trust, epoch_id = excluded.epoch_id, updated_at = excluded.updated_at`.execute(db);
    }
  },

  tierOf(db: Executor, agentId: string) {
    return db.selectFrom('rewards_agent_tiers').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
  },

  tiersOf(db: Executor, agentIds: readonly string[]) {
    if (!agentIds.length) return Promise.resolve([]);
    return db.selectFrom('rewards_agent_tiers').select(['agent_id', 'tier']).where('agent_id', 'in', [...agentIds]).execute();
  },

  royalties(db: Executor, listingId: string) {
    return db.selectFrom('rewards_royalties').selectAll().where('listing_id', '=', listingId).orderBy('position').execute();
  },

  async setRoyalties(db: Executor, listingId: string, rows: readonly { recipientId: string; bps: number; reason: string }[], at: Date): Promise<void> {
    await db.deleteFrom('rewards_royalties').where('listing_id', '=', listingId).execute();
    if (rows.length) {
      await db.insertInto('rewards_royalties').values(rows.map((r, i) => ({ listing_id: listingId, position: i, recipient_id: r.recipientId, bps: r.bps, reason: r.reason, created_at: at }))).execute();
    }
  },

  async insertReferral(db: Executor, referredId: string, referrerId: string, at: Date): Promise<boolean> {
    const r = await db.insertInto('rewards_referrals').values({ referred_id: referredId, referrer_id: referrerId, created_at: at, epoch_id: null, paid_at: null })
      .onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  referralOf(db: Executor, referredId: string) {
    return db.selectFrom('rewards_referrals').selectAll().where('referred_id', '=', referredId).executeTakeFirst();
  },

  unpaidReferrals(db: Executor) {
    return db.selectFrom('rewards_referrals').selectAll().where('paid_at', 'is', null).orderBy('created_at').orderBy('referred_id').execute();
  },

  async paidReferralCounts(db: Executor): Promise<Map<string, number>> {
    const rows = await db.selectFrom('rewards_referrals').select(['referrer_id', sql<string>`count(*)::text`.as('n')]).where('paid_at', 'is not', null).groupBy('referrer_id').execute();
    return new Map(rows.map((r) => [r.referrer_id, Number(r.n)]));
  },

  async markReferralsPaid(db: Executor, referredIds: readonly string[], epochId: string, at: Date): Promise<void> {
    if (!referredIds.length) return;
    await db.updateTable('rewards_referrals').set({ paid_at: at, epoch_id: epochId }).where('referred_id', 'in', [...referredIds]).where('paid_at', 'is', null).execute();
  },

  referralsBy(db: Executor, referrerId: string) {
    return db.selectFrom('rewards_referrals').selectAll().where('referrer_id', '=', referrerId).orderBy('created_at').execute();
  },
};
