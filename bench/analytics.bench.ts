/**
 * bench:analytics — the market API's reads over the rollups against a naive GROUP BY over the raw trade
 * facts in the same run, on PostgreSQL; and the full rebuild of the rollups from the fact log.
 *
 * Seeding: N synthetic trade facts (with their agreement and request facts, agents and one supply/demand
 * snapshot an hour) over 30 days, 5 categories x 6 regions x 8 spec classes, 2,000 agents, written straight
 * into analytics_facts (the path from HTTP to facts is covered by test/analytics-*.test.ts); then a full
 * rebuild folds them (timed). Each endpoint is called through app.inject (routing, validation and
 * serialisation included) REPEAT times; the baseline answers the same question with one GROUP BY (and
 * percentile_cont) over the trade facts of the range.
 *
 * Usage: npm run bench:analytics [-- --trades=1000000] [-- --repeat=200] [-- --write]
 * Env: BENCH_DATABASE_URL (a PostgreSQL database in which a private schema is created and dropped;
 * default postgres://ae:ae@127.0.0.1:5432/ae_bench). Results go to docs/benchmarks.md only with --write.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';
import { createDatabase } from '../src/platform/db/database.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { mulberry32 } from '../src/platform/rng.js';
import { percentile, runStamp, writeSection } from './lib/report.js';

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const TRADES = arg('trades', 1_000_000);
const REPEAT = arg('repeat', 200);
const BASELINE_REPEAT = Math.max(3, Math.round(REPEAT / 20));
const WRITE = process.argv.includes('--write');
/** Keeps the bench schema (for EXPLAIN ANALYZE by hand); its name is printed. */
const KEEP = process.argv.includes('--keep');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://ae:ae@127.0.0.1:5432/ae_bench';
const SCHEMA = `anbench_${process.pid}`;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const DAY = 86_400_000;
const END = Date.UTC(2026, 10, 30);
const START = END - 30 * DAY;
const CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'];
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-east'];
const SPECS = ['H100', 'A100', 'L40S', 'RTX4090', 'llama-3-70b', 'mistral-7b', 'sdxl', '*'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'IN', 'JP', 'SG', 'BR'];
const AGENTS = 2_000;

function uuid(i: number): string {
  const h = i.toString(16).padStart(12, '0');
  return `00000000-0000-7000-8000-${h}`;
}

async function seed(client: pg.Client): Promise<void> {
  const rnd = mulberry32(42);
  const agentGeo = Array.from({ length: AGENTS }, (_, i) => ({ country: COUNTRIES[i % COUNTRIES.length]!, region: REGIONS[i % REGIONS.length]! }));
  const CHUNK = 2_000;
  let rows: unknown[][] = [];
  const flush = async () => {
    if (!rows.length) return;
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => `(${r.map((_, j) => `$${i * r.length + j + 1}`).join(',')})`);
    for (const r of rows) values.push(...r);
    await client.query(`INSERT INTO analytics_facts (key, kind, at, category, region, spec_class, data) VALUES ${tuples.join(',')}`, values);
    rows = [];
  };
  const push = async (r: unknown[]) => { rows.push(r); if (rows.length >= CHUNK) await flush(); };
  for (let i = 0; i < AGENTS; i++) {
    await push([`agent:${uuid(i)}`, 'agent', new Date(START + Math.floor(rnd() * 30 * DAY)), null, null, null, JSON.stringify({ agentId: uuid(i), ...agentGeo[i] })]);
  }
  for (let i = 0; i < TRADES; i++) {
    const category = CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]!;
    const region = REGIONS[Math.floor(rnd() * REGIONS.length)]!;
    const specClass = SPECS[Math.floor(rnd() * SPECS.length)]!;
    const at = START + Math.floor(rnd() * 30 * DAY);
    const buyer = Math.floor(rnd() * AGENTS);
    const seller = Math.floor(rnd() * AGENTS);
    const price = BigInt(Math.round((1 + SPECS.indexOf(specClass)) * 50_000_000 * (0.8 + 0.4 * rnd())));
    const quantity = 1 + Math.floor(rnd() * 10);
    const cell = { category, region, specClass };
    const id = uuid(1_000_000_000 + i);
    const agreedAt = at - 600_000;
    await push([`request:${id}`, 'request', new Date(agreedAt - 60_000), category, region, specClass, JSON.stringify({ requestId: id, buyerId: uuid(buyer), quantity })]);
    await push([`agreement:${id}`, 'agreement', new Date(agreedAt), category, region, specClass, JSON.stringify({ agreementId: id, requestId: id, requestCell: cell, timeToAgreementMs: 60_000 + Math.floor(rnd() * 600_000) })]);
    await push([`trade:${id}`, 'trade', new Date(at), category, region, specClass, JSON.stringify({
      agreementId: id, buyerId: uuid(buyer), sellerId: uuid(seller), pricePerUnit: price.toString(), quantity, volume: (price * BigInt(quantity)).toString(),
      settlementMs: 60_000 + Math.floor(rnd() * 3_600_000), buyerCountry: agentGeo[buyer]!.country, buyerRegion: agentGeo[buyer]!.region,
      sellerCountry: agentGeo[seller]!.country, sellerRegion: agentGeo[seller]!.region, outcome: 'settled',
    })]);
  }
  for (let h = START; h < END; h += 3_600_000) {
    const cells = [];
    for (const category of CATEGORIES) for (const region of REGIONS) for (const specClass of SPECS.slice(0, 4)) {
      cells.push({ category, region, specClass, supplyUnits: Math.floor(rnd() * 1000), supplyListings: 1 + Math.floor(rnd() * 20), demandRequests: Math.floor(rnd() * 20), demandUnits: Math.floor(rnd() * 800) });
    }
    await push([`snapshot:${new Date(h).toISOString()}`, 'snapshot', new Date(h), null, null, null, JSON.stringify({ cells })]);
  }
  await flush();
  await client.query('ANALYZE analytics_facts');
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

async function main() {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const database = await createDatabase({ url: u.toString(), poolSize: 4 });
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await migrateToLatest(database.db);
    const t0 = performance.now();
    await seed(client);
    const seedMs = performance.now() - t0;
    const clock = new ManualClock(END - 1);
    const app = await buildApp({ config: loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database, clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
    await app.ready();
    const t1 = performance.now();
    await app.services.analytics.rebuild();
    const rebuildMs = performance.now() - t1;
    await client.query('ANALYZE');
    console.log(`seeded ${TRADES} trades in ${(seedMs / 1000).toFixed(1)} s; full rebuild ${(rebuildMs / 1000).toFixed(1)} s`);

    const month = `from=${new Date(START).toISOString()}&to=${new Date(END).toISOString()}`;
    const f = { from: new Date(START), to: new Date(END) };
    const trade = sql`FROM analytics_facts WHERE kind = 'trade' AND at >= ${f.from} AND at < ${f.to}`;
    const cases: { name: string; url: string; naive: () => Promise<unknown> }[] = [
      {
        name: 'overview (30 days, by day)', url: `/v1/market/overview?${month}&interval=day`,
        naive: () => sql`SELECT count(*), sum((data->>'volume')::numeric), sum((data->>'pricePerUnit')::numeric * (data->>'quantity')::int) / sum((data->>'quantity')::int),
          percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY (data->>'pricePerUnit')::numeric),
          count(DISTINCT data->>'buyerId'), count(DISTINCT data->>'sellerId') ${trade}`.execute(database.db),
      },
      {
        name: 'prices (30 days by day, one category)', url: `/v1/market/prices?${month}&interval=day&category=gpu_compute`,
        naive: () => sql`SELECT date_trunc('day', at), count(*), sum((data->>'volume')::numeric),
          percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY (data->>'pricePerUnit')::numeric) ${trade} AND category = 'gpu_compute' GROUP BY 1`.execute(database.db),
      },
      {
        name: 'prices (24 h by hour, one cell)', url: `/v1/market/prices?interval=hour&category=gpu_compute&region=eu-west&specClass=H100`,
        naive: () => sql`SELECT date_trunc('hour', at), count(*), sum((data->>'volume')::numeric),
          percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY (data->>'pricePerUnit')::numeric)
          FROM analytics_facts WHERE kind = 'trade' AND at >= ${new Date(END - DAY)} AND category = 'gpu_compute' AND region = 'eu-west' AND spec_class = 'H100' GROUP BY 1`.execute(database.db),
      },
      {
        name: 'supply-demand (30 days by day)', url: `/v1/market/supply-demand?${month}&interval=day`,
        naive: () => sql`SELECT date_trunc('day', at), count(*) FILTER (WHERE kind = 'request'), count(*) FILTER (WHERE kind = 'agreement')
          FROM analytics_facts WHERE kind IN ('request', 'agreement') AND at >= ${f.from} AND at < ${f.to} GROUP BY 1`.execute(database.db),
      },
      {
        name: 'geo (30 days)', url: `/v1/market/geo?${month}&interval=day`,
        naive: () => sql`SELECT data->>'buyerCountry', data->>'buyerRegion', data->>'sellerCountry', data->>'sellerRegion', count(*), sum((data->>'volume')::numeric) ${trade} GROUP BY 1, 2, 3, 4`.execute(database.db),
      },
      {
        name: 'indicators (first 50 cells)', url: `/v1/market/indicators?${month}&interval=day&limit=50`,
        naive: () => sql`SELECT category, spec_class, region, percentile_cont(0.5) WITHIN GROUP (ORDER BY (data->>'pricePerUnit')::numeric), count(*)
          ${trade} AND at >= ${new Date(END - 7 * DAY)} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT 50`.execute(database.db),
      },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      const first = await app.inject({ method: 'GET', url: c.url });
      if (first.statusCode !== 200) throw new Error(`${c.url}: ${first.statusCode} ${first.body}`);
      const ours = await time(REPEAT, () => app.inject({ method: 'GET', url: c.url }));
      const naive = await time(BASELINE_REPEAT, c.naive);
      const line = `| ${c.name} | ${percentile(ours, 50).toFixed(1)} | ${percentile(ours, 99).toFixed(1)} | ${percentile(naive, 50).toFixed(0)} | ${percentile(naive, 99).toFixed(0)} | ${(percentile(naive, 50) / percentile(ours, 50)).toFixed(0)}x |`;
      rows.push(line);
      console.log(line);
    }
    await app.close();
    const body = [
      `${TRADES.toLocaleString('en')} synthetic trades over 30 days on PostgreSQL (5 categories x 6 regions x 8 spec classes, 2,000 agents); ` +
        `full rebuild of the rollups from the fact log: ${(rebuildMs / 1000).toFixed(1)} s. Endpoint times through app.inject (${REPEAT} calls each), ` +
        `baseline: one GROUP BY / percentile_cont over the raw trade facts of the range (${BASELINE_REPEAT} calls each). Freshness under the simulator's load: not measured yet.`,
      '',
      '| endpoint | p50 ms | p99 ms | naive p50 ms | naive p99 ms | p50 ratio |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      runStamp(),
    ].join('\n');
    if (WRITE) writeSection('Market analytics (bench:analytics)', body);
    else console.log(`\n${body}\n(not written to docs/benchmarks.md; pass --write)`);
  } finally {
    await client.end();
    await database.close();
    if (KEEP) console.log(`kept schema ${SCHEMA}`);
    else await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
