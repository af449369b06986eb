/** The analytics module's SQL: the fact log, the rollup upserts, the gauges and the reads behind the API. */
import { sql, type Transaction } from 'kysely';
import type { DB, Executor } from '../../database.js';
import type { SupplyDemandCell } from '../trading/trading.market-data.port.js';
import { GRANULARITIES, S, truncate, COUNTERS, type Accumulator, type Fact, type SourceEvent } from './analytics.facts.js';
import type { Granularity } from './analytics.tables.js';

export type { Executor };
const CHUNK = 3000;

function chunks<T>(xs: readonly T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** A PostgreSQL array literal of text values (each quoted), for unnest(): one parameter per column on both backends. */
function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** Plain inserts of column arrays through unnest (a rebuild into emptied tables: no conflicts, one statement per UNNEST_ROWS rows). */
async function insertColumns(tx: Executor, table: string, cols: readonly (readonly [string, string])[], rows: readonly (readonly string[])[]): Promise<void> {
  for (const part of chunks(rows, UNNEST_ROWS)) {
    const arrays = cols.map((_, i) => arrayLiteral(part.map((r) => r[i]!)));
    await sql`INSERT INTO ${sql.table(table)} (${sql.join(cols.map(([c]) => sql.ref(c)))})
      SELECT * FROM unnest(${sql.join(cols.map(([, type], i) => sql`${arrays[i]}::${sql.raw(type)}[]`))})`.execute(tx);
  }
}
const UNNEST_ROWS = 50_000;
const iso = (ms: string) => new Date(Number(ms)).toISOString();
const CELL_COLS = [['granularity', 'text'], ['bucket', 'timestamptz'], ['category', 'text'], ['region', 'text'], ['spec_class', 'text']] as const;

/**
 * Gives the agents without one the next dense ordinals (in id order). Under the projection's state lock,
 * like every rollup write, so two writers never hand out the same ordinal. `null`: every agent of analytics_actives.
 */
async function assignOrdinals(tx: Executor, agentIds: readonly string[] | null): Promise<void> {
  const source = agentIds ? sql`unnest(${arrayLiteral(agentIds)}::uuid[]) AS s(agent_id)` : sql`(SELECT DISTINCT agent_id FROM analytics_actives) s`;
  await sql`
    INSERT INTO analytics_agent_ordinals (agent_id, ordinal)
    SELECT agent_id, ((SELECT COALESCE(max(ordinal), -1) FROM analytics_agent_ordinals) + row_number() OVER (ORDER BY agent_id))::int4
    FROM ${source} WHERE NOT EXISTS (SELECT 1 FROM analytics_agent_ordinals o WHERE o.agent_id = s.agent_id)`.execute(tx);
}

/**
 * (Re)writes the bitmaps of these (granularity, bucket, cell) keys, both roles, from analytics_actives (the
 * same statement as migration 0020's backfill); `null`: every key (a rebuild). A function of the actives
 * and the ordinals only, so the incremental path and a rebuild write the same bytes.
 */
async function buildBits(tx: Executor, keys: readonly { granularity: string; bucket: Date; category: string; region: string; spec_class: string }[] | null): Promise<void> {
  for (const part of keys ? chunks(keys) : [null]) {
    const only = part
      ? sql`JOIN unnest(${arrayLiteral(part.map((k) => k.granularity))}::text[], ${arrayLiteral(part.map((k) => k.bucket.toISOString()))}::timestamptz[],
               ${arrayLiteral(part.map((k) => k.category))}::text[], ${arrayLiteral(part.map((k) => k.region))}::text[], ${arrayLiteral(part.map((k) => k.spec_class))}::text[])
             AS k(granularity, bucket, category, region, spec_class)
             ON k.granularity = x.granularity AND k.bucket = x.bucket AND k.category = x.category AND k.region = x.region AND k.spec_class = x.spec_class`
      : sql``;
    await sql`
      WITH a AS (
        SELECT x.granularity, x.bucket, x.category, x.region, x.spec_class, x.role, o.ordinal / 8 AS i, bit_or(1 << (o.ordinal % 8)) AS b
        FROM analytics_actives x ${only} JOIN analytics_agent_ordinals o ON o.agent_id = x.agent_id GROUP BY 1, 2, 3, 4, 5, 6, 7),
      m AS (SELECT granularity, bucket, category, region, spec_class, role, max(i) AS n FROM a GROUP BY 1, 2, 3, 4, 5, 6)
      INSERT INTO analytics_active_bits (granularity, bucket, category, region, spec_class, role, bits)
      SELECT m.granularity, m.bucket, m.category, m.region, m.spec_class, m.role,
             decode(string_agg(lpad(to_hex(COALESCE(a.b, 0)), 2, '0'), '' ORDER BY s.i), 'hex')
      FROM m CROSS JOIN LATERAL generate_series(0, m.n) AS s(i)
      LEFT JOIN a ON a.granularity = m.granularity AND a.bucket = m.bucket AND a.category = m.category AND a.region = m.region
                 AND a.spec_class = m.spec_class AND a.role = m.role AND a.i = s.i
      GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT (granularity, category, region, spec_class, bucket, role) DO UPDATE SET bits = excluded.bits`.execute(tx);
  }
}

export const analyticsRepository = {
  /** After a rebuild's plain inserts into analytics_actives: ordinals for agents new to them, then every bitmap. */
  async rebuildBits(tx: Executor): Promise<void> {
    await assignOrdinals(tx, null);
    await buildBits(tx, null);
  },

  async outboxAfter(db: Executor, after: number, types: readonly string[], limit: number): Promise<SourceEvent[]> {
    const rows = await db.selectFrom('outbox_events').select(['seq', 'type', 'data', 'at'])
      .where('seq', '>', BigInt(after)).where('type', 'in', [...types]).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: (r.data ?? {}) as Record<string, unknown>, at: r.at }));
  },

  async maxOutboxSeq(db: Executor): Promise<number> {
    const r = await db.selectFrom('outbox_events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  },

  /** Locks the projection's state row: every write to the rollups happens under it, one at a time. */
  async lockState(tx: Transaction<DB>) {
    const r = await sql<{ outbox_seq: bigint; agents_since: Date | null; last_snapshot: Date | null }>`
      SELECT outbox_seq, agents_since, last_snapshot FROM analytics_state WHERE id = 1 FOR UPDATE`.execute(tx);
    return r.rows[0]!;
  },

  async readState(db: Executor) {
    return db.selectFrom('analytics_state').select(['outbox_seq', 'agents_since', 'last_snapshot']).where('id', '=', 1).executeTakeFirstOrThrow();
  },

  async setState(tx: Executor, s: { outboxSeq?: number; agentsSince?: Date; lastSnapshot?: Date }): Promise<void> {
    const set: Record<string, unknown> = {};
    if (s.outboxSeq !== undefined) set.outbox_seq = sql<bigint>`GREATEST(outbox_seq, ${BigInt(s.outboxSeq)})`;
    if (s.agentsSince !== undefined) set.agents_since = sql<Date>`GREATEST(agents_since, ${s.agentsSince}::timestamptz)`;
    if (s.lastSnapshot !== undefined) set.last_snapshot = s.lastSnapshot;
    if (Object.keys(set).length === 0) return;
    await tx.updateTable('analytics_state').set(set as never).where('id', '=', 1).execute();
  },

  /** Stores the facts not stored yet; returns those it stored (a fact seen before is not returned). */
  async insertFacts(tx: Executor, facts: readonly Fact[]): Promise<Fact[]> {
    const byKey = new Map(facts.map((f) => [f.key, f]));
    const out: Fact[] = [];
    // in the order they happened (then by key, for ties): a fact's seq is the tape's order, newest last
    const ordered = [...byKey.values()].sort((a, b) => a.at.getTime() - b.at.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const part of chunks(ordered)) {
      const rows = await tx.insertInto('analytics_facts').values(part.map((f) => ({
        key: f.key, kind: f.kind, at: f.at, category: f.cell?.category ?? null, region: f.cell?.region ?? null, spec_class: f.cell?.specClass ?? null,
        data: JSON.stringify(f.data),
      }))).onConflict((oc) => oc.column('key').doNothing()).returning('key').execute();
      for (const r of rows) out.push(byKey.get(r.key)!);
    }
    return out;
  },

  async factsAfter(db: Executor, afterSeq: bigint, limit: number, kinds?: readonly string[]) {
    let q = db.selectFrom('analytics_facts').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit);
    if (kinds) q = q.where('kind', 'in', [...kinds]);
    return q.execute();
  },

  async snapshotFacts(db: Executor) {
    return db.selectFrom('analytics_facts').select(['at', 'data']).where('kind', '=', 'snapshot').orderBy('at').execute();
  },

  /** Adds an accumulator's sums to the stored rollups (rows in key order, so concurrent writers cannot deadlock). */
  async apply(tx: Executor, acc: Accumulator): Promise<void> {
    const rollups = [...acc.rollups].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => {
      const [g, b, category, region, spec] = k.split(S);
      return { granularity: g as Granularity, bucket: new Date(Number(b)), category: category!, region: region!, spec_class: spec!, ...v };
    });
    for (const part of chunks(rollups)) {
      await tx.insertInto('analytics_rollups').values(part).onConflict((oc) => oc.columns(['granularity', 'bucket', 'category', 'region', 'spec_class'])
        .doUpdateSet(Object.fromEntries(COUNTERS.map((c) => [c, sql`analytics_rollups.${sql.ref(c)} + excluded.${sql.ref(c)}`])) as never)).execute();
    }
    const sketches = [...acc.sketches].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, n]) => {
      const [g, b, metric, category, region, spec, bin] = k.split(S);
      return { granularity: g as Granularity, bucket: new Date(Number(b)), metric: metric as 'price', category: category!, region: region!, spec_class: spec!, bin: Number(bin), n: BigInt(n) };
    });
    for (const part of chunks(sketches)) {
      await tx.insertInto('analytics_sketches').values(part).onConflict((oc) => oc.columns(['granularity', 'bucket', 'metric', 'category', 'region', 'spec_class', 'bin'])
        .doUpdateSet({ n: sql`analytics_sketches.n + excluded.n` })).execute();
    }
    const actives = [...acc.actives].sort().map((k) => {
      const [g, b, category, region, spec, role, agent] = k.split(S);
      return { granularity: g as Granularity, bucket: new Date(Number(b)), category: category!, region: region!, spec_class: spec!, role: role as 'buyer', agent_id: agent! };
    });
    const fresh: { granularity: Granularity; bucket: Date; category: string; region: string; spec_class: string; agent_id: string }[] = [];
    for (const part of chunks(actives)) {
      fresh.push(...await tx.insertInto('analytics_actives').values(part).onConflict((oc) => oc.doNothing())
        .returning(['granularity', 'bucket', 'category', 'region', 'spec_class', 'role', 'agent_id']).execute());
    }
    if (fresh.length) {
      await assignOrdinals(tx, [...new Set(fresh.map((r) => r.agent_id))]);
      const keys = new Map(fresh.map((r) => [`${r.granularity}${S}${r.bucket.getTime()}${S}${r.category}${S}${r.region}${S}${r.spec_class}`, r]));
      await buildBits(tx, [...keys.values()]);
    }
    const geo = [...acc.geo].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => {
      const [g, b, bc, br, sc, sr] = k.split(S);
      return { granularity: g as Granularity, bucket: new Date(Number(b)), buyer_country: bc!, buyer_region: br!, seller_country: sc!, seller_region: sr!, trades: v.trades, volume: v.volume };
    });
    for (const part of chunks(geo)) {
      await tx.insertInto('analytics_geo_flows').values(part).onConflict((oc) => oc.columns(['granularity', 'bucket', 'buyer_country', 'buyer_region', 'seller_country', 'seller_region'])
        .doUpdateSet({ trades: sql`analytics_geo_flows.trades + excluded.trades`, volume: sql`analytics_geo_flows.volume + excluded.volume` })).execute();
    }
    const agents = [...acc.agents].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, n]) => {
      const [g, b, country, region] = k.split(S);
      return { granularity: g as Granularity, bucket: new Date(Number(b)), country: country!, region: region!, agents: n };
    });
    for (const part of chunks(agents)) {
      await tx.insertInto('analytics_new_agents').values(part).onConflict((oc) => oc.columns(['granularity', 'bucket', 'country', 'region'])
        .doUpdateSet({ agents: sql`analytics_new_agents.agents + excluded.agents` })).execute();
    }
  },

  /**
   * A snapshot replaces the gauges of its minute, hour and day: rows of those buckets from an earlier
   * snapshot are zeroed (a cell absent now has nothing open), then the snapshot's cells are written.
   */
  async applySnapshot(tx: Executor, minute: Date, cells: readonly SupplyDemandCell[]): Promise<void> {
    for (const g of GRANULARITIES) {
      const bucket = truncate(minute, g);
      await tx.updateTable('analytics_gauges').set({ supply_units: 0n, supply_listings: 0n, demand_requests: 0n, demand_units: 0n, snapshot_at: minute })
        .where('granularity', '=', g).where('bucket', '=', bucket).where('snapshot_at', '<', minute).execute();
      for (const part of chunks([...cells])) {
        await tx.insertInto('analytics_gauges').values(part.map((c) => ({
          granularity: g, bucket, category: c.category, region: c.region, spec_class: c.specClass, snapshot_at: minute,
          supply_units: BigInt(c.supplyUnits), supply_listings: BigInt(c.supplyListings), demand_requests: BigInt(c.demandRequests), demand_units: BigInt(c.demandUnits),
        }))).onConflict((oc) => oc.columns(['granularity', 'bucket', 'category', 'region', 'spec_class']).doUpdateSet({
          snapshot_at: sql`excluded.snapshot_at`, supply_units: sql`excluded.supply_units`, supply_listings: sql`excluded.supply_listings`,
          demand_requests: sql`excluded.demand_requests`, demand_units: sql`excluded.demand_units`,
        })).execute();
      }
    }
  },

  /** Plain inserts of gauge rows (a rebuild, into the emptied table). */
  async insertGauges(tx: Executor, rows: readonly { granularity: Granularity; bucket: Date; snapshotAt: Date; cell: SupplyDemandCell }[]): Promise<void> {
    await insertColumns(tx, 'analytics_gauges', [...CELL_COLS, ['snapshot_at', 'timestamptz'], ['supply_units', 'int8'], ['supply_listings', 'int8'], ['demand_requests', 'int8'], ['demand_units', 'int8']],
      rows.map((r) => [r.granularity, r.bucket.toISOString(), r.cell.category, r.cell.region, r.cell.specClass, r.snapshotAt.toISOString(),
        String(r.cell.supplyUnits), String(r.cell.supplyListings), String(r.cell.demandRequests), String(r.cell.demandUnits)]));
  },

  /** An accumulator's rows as plain inserts: only into tables that hold none of its keys (a rebuild, one day at a time). */
  async insertFresh(tx: Executor, acc: Accumulator): Promise<void> {
    await insertColumns(tx, 'analytics_rollups', [...CELL_COLS, ...COUNTERS.map((c) => [c, c === 'notional' || c === 'volume' ? 'numeric' : 'int8'] as const)],
      [...acc.rollups].map(([k, v]) => {
        const [g, b, category, region, spec] = k.split(S);
        return [g!, iso(b!), category!, region!, spec!, ...COUNTERS.map((c) => v[c].toString())];
      }));
    await insertColumns(tx, 'analytics_sketches', [...CELL_COLS, ['metric', 'text'], ['bin', 'int4'], ['n', 'int8']],
      [...acc.sketches].map(([k, n]) => {
        const [g, b, metric, category, region, spec, bin] = k.split(S);
        return [g!, iso(b!), category!, region!, spec!, metric!, bin!, String(n)];
      }));
    await insertColumns(tx, 'analytics_actives', [...CELL_COLS, ['role', 'text'], ['agent_id', 'uuid']],
      [...acc.actives].map((k) => {
        const [g, b, category, region, spec, role, agent] = k.split(S);
        return [g!, iso(b!), category!, region!, spec!, role!, agent!];
      }));
    await insertColumns(tx, 'analytics_geo_flows',
      [['granularity', 'text'], ['bucket', 'timestamptz'], ['buyer_country', 'text'], ['buyer_region', 'text'], ['seller_country', 'text'], ['seller_region', 'text'], ['trades', 'int8'], ['volume', 'numeric']],
      [...acc.geo].map(([k, v]) => {
        const [g, b, bc, br, sc, sr] = k.split(S);
        return [g!, iso(b!), bc!, br!, sc!, sr!, v.trades.toString(), v.volume.toString()];
      }));
    await insertColumns(tx, 'analytics_new_agents', [['granularity', 'text'], ['bucket', 'timestamptz'], ['country', 'text'], ['region', 'text'], ['agents', 'int8']],
      [...acc.agents].map(([k, n]) => {
        const [g, b, country, region] = k.split(S);
        return [g!, iso(b!), country!, region!, n.toString()];
      }));
  },

  /** The first and last time of the facts of these kinds. */
  async factSpan(db: Executor, kinds: readonly string[]): Promise<{ min: Date; max: Date } | null> {
    const r = await sql<{ min: Date | null; max: Date | null }>`SELECT min(at) AS min, max(at) AS max FROM analytics_facts WHERE kind IN (${sql.join(kinds)})`.execute(db);
    const x = r.rows[0];
    return x?.min && x.max ? { min: new Date(x.min), max: new Date(x.max) } : null;
  },

  /** The facts of these kinds in [from, to). */
  async factsBetween(db: Executor, kinds: readonly string[], from: Date, to: Date) {
    return db.selectFrom('analytics_facts').select(['key', 'kind', 'at', 'category', 'region', 'spec_class', 'data'])
      .where('kind', 'in', [...kinds]).where('at', '>=', from).where('at', '<', to).execute();
  },

  async clearRollups(tx: Executor): Promise<void> {
    for (const t of ['analytics_rollups', 'analytics_sketches', 'analytics_actives', 'analytics_active_bits', 'analytics_geo_flows', 'analytics_new_agents', 'analytics_gauges'] as const) {
      await tx.deleteFrom(t).execute();
    }
  },
};
