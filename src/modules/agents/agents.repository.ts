import { sql, type Selectable } from 'kysely';
import { PREPARE, type Executor } from '../../database.js';
import type { AgentsTable } from './agents.tables.js';

export type { Executor };
export type AgentRow = Selectable<AgentsTable>;
/** What the same-owner detector compares between accounts, with the time of the last change. */
export type AccountAttributesRow = Pick<AgentRow, 'id' | 'display_name' | 'type' | 'country' | 'region' | 'categories' | 'public_key' | 'created_at' | 'updated_at'>;

export interface AgentFilter {
  type?: string | undefined;
  country?: string | undefined;
  region?: string | undefined;
  category?: string | undefined;
  status?: string | undefined;
  afterId?: string | undefined;
  limit: number;
}

export const agentsRepository = {
  insert(db: Executor, row: AgentRow): Promise<AgentRow> {
    return db
      .insertInto('agents')
      .values({ ...row, capacity: JSON.stringify(row.capacity), sla: JSON.stringify(row.sla) })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  findById(db: Executor, id: string): Promise<AgentRow | undefined> {
    return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  },

  findByKeyHash(db: Executor, hash: string): Promise<{ id: string; status: string } | undefined> {
    return db.selectFrom('agents').select(['id', 'status']).where('api_key_hash', '=', hash).executeTakeFirst();
  },

  list(db: Executor, f: AgentFilter): Promise<AgentRow[]> {
    let q = db.selectFrom('agents').selectAll();
    if (f.type) q = q.where('type', '=', f.type as AgentRow['type']);
    if (f.country) q = q.where('country', '=', f.country);
    if (f.region) q = q.where('region', '=', f.region);
    if (f.status) q = q.where('status', '=', f.status as AgentRow['status']);
    if (f.category) q = q.where(sql<boolean>`categories @> ARRAY[${f.category}]::text[]`);
    if (f.afterId) q = q.where('id', '>', f.afterId);
    return q.orderBy('id').limit(f.limit).execute();
  },

  update(db: Executor, id: string, patch: Partial<AgentRow>): Promise<AgentRow | undefined> {
    const set: Record<string, unknown> = { ...patch };
    if ('capacity' in patch) set.capacity = JSON.stringify(patch.capacity);
    if ('sla' in patch) set.sla = JSON.stringify(patch.sla);
    return db.updateTable('agents').set(set).where('id', '=', id).returningAll().executeTakeFirst();
  },

  /** Active agents, optionally of one category and region (the reputation leaderboard). */
  active(db: Executor, f: { category?: string | undefined; region?: string | undefined }) {
    let q = db.selectFrom('agents').select(['id', 'display_name', 'region', 'categories', 'type']).where('status', '=', 'active');
    if (f.region) q = q.where('region', '=', f.region);
    if (f.category) q = q.where(sql<boolean>`categories @> ARRAY[${f.category}]::text[]`);
    return q.execute();
  },

  /**
   * Account attributes: the agents changed at or after `since` (none when null) and the agents `ids`.
   * Without `opts`, every agent (the full read).
   */
  accountAttributes(db: Executor, opts?: { since: Date | null; ids: readonly string[] }): Promise<AccountAttributesRow[]> {
    const q = db.selectFrom('agents').select(['id', 'display_name', 'type', 'country', 'region', 'categories', 'public_key', 'created_at', 'updated_at']);
    if (!opts) return q.execute();
    const { since, ids } = opts;
    if (since === null && ids.length === 0) return Promise.resolve([]);
    // an index range on updated_at (agents_updated_idx, migration 0005) and primary-key lookups; the upper
    // bound lets the planner see a narrow range without statistics (PGlite never analyzes)
    const byId = sql<boolean>`id = ANY(${[...ids]}::uuid[])`;
    const changed = sql<boolean>`(updated_at >= ${since} AND updated_at <= 'infinity')`;
    if (since === null) return q.where(byId).execute();
    if (ids.length === 0) return q.where(changed).execute();
    return q.where((eb) => eb.or([changed, byId])).execute();
  },

  statusOf(db: Executor, id: string): Promise<Pick<AgentRow, 'status'> | undefined> {
    return db.selectFrom('agents').select('status').where('id', '=', id).executeTakeFirst();
  },

  roleOf(db: Executor, id: string): Promise<Pick<AgentRow, 'type' | 'categories'> | undefined> {
    return db.selectFrom('agents').select(['type', 'categories']).where('id', '=', id).executeTakeFirst();
  },

  /** Registration times, by primary key. */
  async registeredAt(db: Executor, ids: readonly string[]): Promise<{ id: string; created_at: Date }[]> {
    return (await sql<{ id: string; created_at: Date }>`${sql.raw(PREPARE)}SELECT id, created_at FROM agents WHERE id = ANY(${[...ids]}::uuid[])`.execute(db)).rows;
  },

  publicKeys(db: Executor, ids: readonly string[]): Promise<{ id: string; public_key: string | null }[]> {
    return db.selectFrom('agents').select(['id', 'public_key']).where('id', 'in', [...ids]).execute();
  },

  async exists(db: Executor, id: string): Promise<boolean> {
    return (await db.selectFrom('agents').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  },
};
