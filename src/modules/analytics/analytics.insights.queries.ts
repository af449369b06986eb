/** The reads behind the market insights: the projection's fact log and active-agent rollups over a period. */
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from './analytics.repository.js';
import type { CellFilter } from './analytics.queries.js';
import { ALL } from './analytics.facts.js';

/** Rollups and actives also hold marginal rows (ALL in a dimension, analytics.facts.ts): sums read base cells only. */
const baseCells = sql`category <> ${ALL} AND region <> ${ALL} AND spec_class <> ${ALL}`;

function cellWhere(f: CellFilter): RawBuilder<unknown> {
  const parts = [sql`TRUE`];
  if (f.category) parts.push(sql`category = ${f.category}`);
  if (f.specClass) parts.push(sql`spec_class = ${f.specClass}`);
  if (f.region) parts.push(sql`region = ${f.region}`);
  return sql.join(parts, sql` AND `);
}

export const insightQueries = {
  /** Per seller: trades settled with payment in [from, to) and their volume (base units). */
  async sellerTrades(db: Executor, f: CellFilter, from: Date, to: Date) {
    const r = await sql<{ seller: string; category: string; trades: bigint; volume: string }>`
      SELECT data->>'sellerId' AS seller, category, count(*)::int8 AS trades, sum((data->>'volume')::numeric)::numeric AS volume
      FROM analytics_facts WHERE kind = 'trade' AND at >= ${from} AND at < ${to} AND ${cellWhere(f)}
      GROUP BY 1, 2`.execute(db);
    return r.rows.map((x) => ({ seller: x.seller, category: x.category, trades: Number(x.trades), volume: BigInt(String(x.volume)) }));
  },

  /** Agreement ids of the failures (not funded, refunded, nothing released) in [from, to). */
  async failures(db: Executor, f: CellFilter, from: Date, to: Date): Promise<string[]> {
    const r = await sql<{ id: string }>`
      SELECT data->>'agreementId' AS id FROM analytics_facts WHERE kind = 'failure' AND at >= ${from} AND at < ${to} AND ${cellWhere(f)}`.execute(db);
    return r.rows.map((x) => x.id);
  },

  /** Per day bucket: disputes opened and agreements ended (settled or failed). */
  async disputesByDay(db: Executor, f: CellFilter, from: Date, to: Date) {
    const r = await sql<{ bucket: Date; disputes: bigint; ended: bigint }>`
      SELECT bucket, sum(disputes)::int8 AS disputes, sum(ended)::int8 AS ended FROM analytics_rollups
      WHERE granularity = 'day' AND bucket >= ${from} AND bucket < ${to} AND ${baseCells} AND ${cellWhere(f)} GROUP BY bucket ORDER BY bucket`.execute(db);
    return r.rows.map((x) => ({ bucket: x.bucket, disputes: Number(x.disputes), ended: Number(x.ended) }));
  },

  /** Agents (buyers or sellers of a settled trade) active on some day in [from, to), with their first active day ever. */
  async activeAgents(db: Executor, f: CellFilter, from: Date, to: Date) {
    const r = await sql<{ agent_id: string; bucket: Date; first: Date }>`
      WITH a AS (SELECT DISTINCT agent_id, bucket FROM analytics_actives WHERE granularity = 'day' AND bucket >= ${from} AND bucket < ${to} AND ${baseCells} AND ${cellWhere(f)}),
           firsts AS (SELECT agent_id, min(bucket) AS first FROM analytics_actives WHERE granularity = 'day' AND bucket < ${to} AND ${baseCells} AND ${cellWhere(f)}
                      AND agent_id IN (SELECT agent_id FROM a) GROUP BY agent_id)
      SELECT a.agent_id, a.bucket, firsts.first FROM a JOIN firsts USING (agent_id)`.execute(db);
    return r.rows;
  },
};
