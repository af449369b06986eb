import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AgentsTable, DB } from '../../platform/db/schema.js';

export type Executor = Kysely<DB> | Transaction<DB>;
export type AgentRow = Selectable<AgentsTable>;

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
};
