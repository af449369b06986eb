/**
 * The market rollups as a projection of real trades (driven over HTTP): rollups equal a direct computation
 * over the trading tables, incremental equals rebuilt, a retried, duplicated or doubly projected event is
 * counted once (two projectors on two connection pools at once on PostgreSQL), supply and demand snapshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing, type TradeSpec } from './helpers/trades.js';
import { MarketProjection } from '../src/modules/analytics/analytics.projection.js';
import { createDatabase } from '../src/platform/db/database.js';
import { parseAmount } from '../src/platform/money.js';
import { sketchQuantile } from '../src/modules/analytics/sketch.js';

let t: TestApp;
let s1: Party; let s2: Party; let b1: Party; let b2: Party;
let h100: SeedListing; let a100: SeedListing;
const specs: TradeSpec[] = [];

const TABLES = ['analytics_rollups', 'analytics_sketches', 'analytics_actives', 'analytics_active_bits', 'analytics_geo_flows', 'analytics_new_agents', 'analytics_gauges'];
async function dump(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const tbl of TABLES) {
    const r = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(tbl)}`.execute(t.db.database.db);
    out[tbl] = r.rows.map((x) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
  }
  return out;
}
const day = () => { const d = new Date(t.clock.now()); d.setUTCHours(0, 0, 0, 0); return d; };
async function dayRow(region: string, spec: string) {
  return t.db.database.db.selectFrom('analytics_rollups').selectAll().where('granularity', '=', 'day').where('bucket', '=', day())
    .where('category', '=', 'gpu_compute').where('region', '=', region).where('spec_class', '=', spec).executeTakeFirst();
}

beforeAll(async () => {
  t = await buildTestApp();
  t.clock.set(Date.UTC(2026, 10, 2, 1)); // 01:00, so the whole run stays inside one day
  s1 = await party(t, { country: 'DE', region: 'eu-west' });
  s2 = await party(t, { country: 'US', region: 'us-east' });
  b1 = await party(t, { country: 'DE', region: 'eu-west' });
  b2 = await party(t, { country: 'FR', region: 'eu-west' });
  await mint(t, b1, '10000');
  await mint(t, b2, '10000');
  h100 = await listing(t, s1, { gpuModel: 'H100', price: '2.5' });
  a100 = await listing(t, s2, { gpuModel: 'A100', price: '2' });
  specs.push(
    { buyer: b1, seller: s1, listing: h100, quantity: 2, price: '2.5', agreeAfterMs: 30_000, settleAfterMs: 600_000 },
    { buyer: b2, seller: s1, listing: h100, quantity: 4, price: '2.4', agreeAfterMs: 90_000, settleAfterMs: 1_200_000 },
    { buyer: b1, seller: s2, listing: a100, quantity: 10, price: '1.9' },
    { buyer: b2, seller: s2, listing: a100, quantity: 5, price: '2', outcome: 'split' },
    { buyer: b1, seller: s1, listing: h100, quantity: 3, price: '2.6', outcome: 'refund' },
  );
  for (const s of specs) await trade(t, s);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('rollups from real trades', () => {
  it('equal a direct computation over the trading tables, cell by cell', async () => {
    await t.app.services.analytics.sync();
    // the naive baseline: GROUP BY over the raw agreements of the day
    const direct = await sql<{ region: string; spec: string; trades: bigint; units: bigint; volume: string; notional: string; failures: bigint }>`
      SELECT l.region, l.spec->>'gpuModel' AS spec,
             count(*) FILTER (WHERE a.released > 0)::int8 AS trades,
             COALESCE(sum(a.quantity) FILTER (WHERE a.released > 0), 0)::int8 AS units,
             COALESCE(sum(a.released), 0)::numeric AS volume,
             COALESCE(sum(a.price_per_unit * a.quantity) FILTER (WHERE a.released > 0), 0)::numeric AS notional,
             count(*) FILTER (WHERE a.released = 0 AND a.state IN ('resolved', 'refunded', 'cancelled'))::int8 AS failures
      FROM agreements a JOIN trading_listings l ON l.id = a.listing_id GROUP BY 1, 2 ORDER BY 1, 2`.execute(t.db.database.db);
    expect(direct.rows).toHaveLength(2);
    for (const d of direct.rows) {
      const r = await dayRow(d.region, d.spec);
      expect(r, `${d.region}/${d.spec}`).toBeDefined();
      expect({ trades: r!.trades, units: r!.units, volume: r!.volume, notional: r!.notional, failures: r!.failures })
        .toEqual({ trades: d.trades, units: d.units, volume: String(d.volume), notional: String(d.notional), failures: d.failures });
    }
    // and by hand: H100 in eu-west: two trades (2 x 2.5, 4 x 2.4) and a refunded dispute
    const h = (await dayRow('eu-west', 'H100'))!;
    expect(h).toMatchObject({ trades: 2n, units: 6n, agreements: 3n, matched: 0n, disputes: 1n, failures: 1n, ended: 3n, cross_border: 1n });
    expect(BigInt(h.volume)).toBe(parseAmount('5') + parseAmount('9.6'));
    // A100 in us-east: 10 x 1.9 settled; a dispute split paying the seller 2 (the split's sellerAmount): volume 19 + 2
    const a = (await dayRow('us-east', 'A100'))!;
    expect(a).toMatchObject({ trades: 2n, units: 15n, disputes: 1n, failures: 0n, cross_border: 2n });
    expect(BigInt(a.volume)).toBe(parseAmount('21'));
    expect(BigInt(a.notional)).toBe(parseAmount('19') + parseAmount('10'));
  });

  it('count requests and matches on the request\'s cell, and times in the sketches', async () => {
    const db = t.db.database.db;
    const req = await db.selectFrom('analytics_rollups').select((eb) => [eb.fn.sum<string>('requests').as('r'), eb.fn.sum<string>('matched').as('m'), eb.fn.sum<string>('request_units').as('u')])
      .where('granularity', '=', 'day').where('category', '=', 'gpu_compute').where('spec_class', '=', 'H100').where('region', '=', '*').executeTakeFirstOrThrow();
    expect({ r: Number(req.r), m: Number(req.m), u: Number(req.u) }).toEqual({ r: 3, m: 3, u: 9 });
    const bins = await db.selectFrom('analytics_sketches').select(['bin', 'n']).where('granularity', '=', 'day').where('metric', '=', 'time_to_settlement')
      .where('category', '=', 'gpu_compute').where('region', '=', 'eu-west').where('spec_class', '=', 'H100').execute();
    const sk = bins.map((b) => [b.bin, Number(b.n)] as [number, number]);
    // the two H100 trades settled 600 s and 1200 s after agreement: the lower median is 600 s, within 1 %
    expect(Math.abs(sketchQuantile(sk, 0.5)! - 600_000) / 600_000).toBeLessThanOrEqual(0.01);
    expect(Math.abs(sketchQuantile(sk, 0.99)! - 1_200_000) / 1_200_000).toBeLessThanOrEqual(0.01);
    const actives = await db.selectFrom('analytics_actives').select(['role', 'agent_id']).where('granularity', '=', 'day').where('spec_class', '=', 'H100')
      .where('category', '=', '').where('region', '=', '').execute(); // the marginal cell: H100 in every category and region
    expect(actives.filter((x) => x.role === 'buyer').map((x) => x.agent_id).sort()).toEqual([b1.id, b2.id].sort());
    expect(actives.filter((x) => x.role === 'seller').map((x) => x.agent_id)).toEqual([s1.id]);
    const agents = await db.selectFrom('analytics_new_agents').select((eb) => eb.fn.sum<string>('agents').as('n')).where('granularity', '=', 'day').executeTakeFirstOrThrow();
    expect(Number(agents.n)).toBe(4);
  });

  it('record supply and demand as one snapshot a minute', async () => {
    const db = t.db.database.db;
    const g = await db.selectFrom('analytics_gauges').selectAll().where('granularity', '=', 'minute').where('bucket', '=', new Date(Math.floor(t.clock.now().getTime() / 60_000) * 60_000)).execute();
    // both listings are listed with 1,000,000 units; nothing is reserved after the trades ended
    expect(g.filter((x) => x.supply_listings > 0n).map((x) => [x.region, x.spec_class, Number(x.supply_units)]).sort()).toEqual([['eu-west', 'H100', 1_000_000], ['us-east', 'A100', 1_000_000]]);
    // the refunded trade's request is open again (3 units); a new one: demand now, gone from the next minute's snapshot once cancelled
    const r = await t.app.inject({ method: 'POST', url: '/v1/trade-requests', headers: b1.auth, payload: { category: 'gpu_compute', spec: { acceptedGpuModels: ['H100'] }, quantity: 7, budget: { max: '3' }, deadline: new Date(t.clock.now().getTime() + 3_600_000).toISOString() } });
    expect(r.statusCode, r.body).toBe(201);
    const b200 = await t.app.inject({ method: 'POST', url: '/v1/trade-requests', headers: b2.auth, payload: { category: 'gpu_compute', spec: { acceptedGpuModels: ['B200'] }, quantity: 2, budget: { max: '9' }, deadline: new Date(t.clock.now().getTime() + 3_600_000).toISOString() } });
    expect(b200.statusCode, b200.body).toBe(201);
    t.clock.advance(60_000);
    await t.app.services.analytics.sync();
    const minute = () => new Date(Math.floor(t.clock.now().getTime() / 60_000) * 60_000);
    const demand = async () => (await db.selectFrom('analytics_gauges').select(['demand_requests', 'demand_units']).where('granularity', '=', 'minute').where('bucket', '=', minute()).where('spec_class', '=', 'H100').where('region', '=', '*').executeTakeFirst());
    expect(await demand()).toEqual({ demand_requests: 2n, demand_units: 10n });
    await t.app.inject({ method: 'POST', url: `/v1/trade-requests/${r.json().id}/cancel`, headers: b1.auth, payload: {} });
    await t.app.inject({ method: 'POST', url: `/v1/trade-requests/${b200.json().id}/cancel`, headers: b2.auth, payload: {} });
    await t.app.services.analytics.sync(); // same minute: no second snapshot
    expect(await demand()).toEqual({ demand_requests: 2n, demand_units: 10n });
    t.clock.advance(60_000);
    await t.app.services.analytics.sync();
    expect(await demand()).toEqual({ demand_requests: 1n, demand_units: 3n });
    // the hour keeps the latest snapshot: 3, not 10
    const hour = await db.selectFrom('analytics_gauges').select(['demand_units']).where('granularity', '=', 'hour').where('spec_class', '=', 'H100').where('region', '=', '*')
      .where('bucket', '=', new Date(Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000)).executeTakeFirst();
    expect(hour?.demand_units).toBe(3n);
    // a cell with nothing open any more: gone from the minute, zero in the hour (not its earlier 2)
    const b200Rows = await db.selectFrom('analytics_gauges').select(['granularity', 'demand_units']).where('spec_class', '=', 'B200').where('bucket', '>=', minute()).execute();
    expect(b200Rows.filter((x) => x.granularity === 'minute')).toEqual([]);
    const b200Hour = await db.selectFrom('analytics_gauges').select(['demand_units']).where('granularity', '=', 'hour').where('spec_class', '=', 'B200').executeTakeFirst();
    expect(b200Hour?.demand_units).toBe(0n);
  });

  it('keep marginal cells equal to the sum of the base cells under them', async () => {
    const r = await sql<{ level: string; trades: string; volume: string; requests: string; matched: string }>`
      SELECT CASE WHEN category = '' AND region = '' AND spec_class = '' THEN 'all' WHEN region = '' AND spec_class = '' THEN 'category'
                  WHEN category = '' AND spec_class = '' THEN 'region' WHEN category = '' AND region = '' THEN 'spec' ELSE 'base' END AS level,
             sum(trades)::text AS trades, sum(volume)::text AS volume, sum(requests)::text AS requests, sum(matched)::text AS matched
      FROM analytics_rollups WHERE granularity = 'day' GROUP BY 1 ORDER BY 1`.execute(t.db.database.db);
    const levels = Object.fromEntries(r.rows.map((x) => [x.level, { ...x, level: undefined }]));
    expect(Object.keys(levels).sort()).toEqual(['all', 'base', 'category', 'region', 'spec']);
    // 4 released trades (2 H100, 1 A100, 1 split): 2x2.5 + 4x2.4 + 10x1.9 + 2 (the split's seller amount) = 35.6
    expect(levels.base).toMatchObject({ trades: '4', volume: String(parseAmount('35.6')) });
    for (const l of ['all', 'category', 'region', 'spec']) expect(levels[l], l).toEqual(levels.base);
    const hourActives = await sql<{ n: string }>`SELECT count(*)::text AS n FROM analytics_actives WHERE granularity = 'hour' AND category = '' AND region = '' AND spec_class = ''`.execute(t.db.database.db);
    expect(Number(hourActives.rows[0]!.n)).toBeGreaterThan(0);
  });

  it('rebuilt from scratch are identical to the incremental ones', async () => {
    // a spec class with the characters an array literal must escape
    const odd = await listing(t, s1, { gpuModel: 'X "1\\,{2}', price: '1' });
    await trade(t, { buyer: b1, seller: s1, listing: odd, quantity: 1, price: '1' });
    await t.app.services.analytics.sync();
    const before = await dump();
    expect(before.analytics_rollups!.some((r) => r.includes('"spec_class":"X \\"1\\\\,{2}"'))).toBe(true);
    expect(before.analytics_rollups!.length).toBeGreaterThan(0);
    await t.app.services.analytics.rebuild();
    expect(await dump()).toEqual(before);
  });
});

describe('each event counted once', () => {
  it('across re-syncs, a fresh projector re-reading the window, and a duplicated outbox row', async () => {
    const before = await dump();
    await t.app.services.analytics.sync();
    expect(await dump()).toEqual(before);
    // a retry that wrote the settlement event twice
    await sql`INSERT INTO outbox_events (type, agent_ids, data, at)
      SELECT type, agent_ids, data, at FROM outbox_events WHERE type = 'agreement.settled' ORDER BY seq LIMIT 1`.execute(t.db.database.db);
    const fresh = new MarketProjection(t.app.services.analytics.deps);
    await fresh.sync();
    expect(fresh.stats.factsStored).toBe(0);
    expect(fresh.stats.factsSeenBefore).toBeGreaterThan(0);
    await t.app.services.analytics.sync();
    expect(await dump()).toEqual(before);
  });

  it('with two projectors on two connection pools projecting the same new events at once', async () => {
    const h = (await dayRow('eu-west', 'H100'))!;
    for (let i = 0; i < 3; i++) await trade(t, { buyer: b2, seller: s1, listing: h100, quantity: 1, price: '2.5' });
    const second = t.db.url ? await createDatabase({ url: t.db.url, poolSize: 4 }) : null;
    try {
      const deps = t.app.services.analytics.deps;
      const p1 = new MarketProjection(deps);
      const p2 = new MarketProjection(second ? { ...deps, database: second } : deps);
      await Promise.all([p1.sync(), p2.sync(), p1.sync(), p2.sync()]);
      // 3 x (request, agreement, trade), each stored by one of them
      expect(p1.stats.factsStored + p2.stats.factsStored).toBe(9);
    } finally {
      await second?.close();
    }
    const after = (await dayRow('eu-west', 'H100'))!;
    expect(after.trades - h.trades).toBe(3n);
    expect(after.agreements - h.agreements).toBe(3n);
    expect(BigInt(after.volume) - BigInt(h.volume)).toBe(parseAmount('7.5'));
    const before = await dump();
    await t.app.services.analytics.rebuild();
    expect(await dump()).toEqual(before);
  });
});
