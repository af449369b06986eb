/** All SQL of the reports module. */
import type { Executor } from '../../database.js';

export interface ReportRow { id: string; period: 'day' | 'week' | 'month'; period_start: Date; period_end: Date; created_at: Date; model: unknown }

export const reportsRepository = {
  /** Stores a period's report once: a second writer (another process, a retry) changes nothing. Returns whether it was inserted. */
  async insert(db: Executor, r: ReportRow): Promise<boolean> {
    const res = await db.insertInto('reports')
      .values({ id: r.id, period: r.period, period_start: r.period_start, period_end: r.period_end, created_at: r.created_at, model: JSON.stringify(r.model) })
      .onConflict((oc) => oc.columns(['period', 'period_start']).doNothing()).executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  async exists(db: Executor, period: string, start: Date): Promise<boolean> {
    const r = await db.selectFrom('reports').select('id').where('period', '=', period as ReportRow['period']).where('period_start', '=', start).executeTakeFirst();
    return r !== undefined;
  },

  async get(db: Executor, id: string): Promise<ReportRow | undefined> {
    return db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst() as Promise<ReportRow | undefined>;
  },

  /** Newest period first (period_start, then id, descending), after the keyset `after`. */
  async list(db: Executor, o: { period?: string | undefined; after?: [string, string] | undefined; limit: number }) {
    let q = db.selectFrom('reports').select(['id', 'period', 'period_start', 'period_end', 'created_at']);
    if (o.period) q = q.where('period', '=', o.period as ReportRow['period']);
    if (o.after) {
      const [start, id] = o.after;
      q = q.where((eb) => eb.or([eb('period_start', '<', new Date(start)), eb.and([eb('period_start', '=', new Date(start)), eb('id', '<', id)])]));
    }
    return q.orderBy('period_start', 'desc').orderBy('id', 'desc').limit(o.limit).execute();
  },
};
