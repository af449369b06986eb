/**
 * Matching benchmark: top-5 over 100,000 listings with the in-memory ListingIndex, beside a naive
 * baseline (filter + sort an array of objects: `matchListings`) measured in the same run, plus delegated
 * negotiation runs. Seeded, so every run measures the same workload. Prints a markdown table.
 *
 *   npm run bench:matching            (BENCH_LISTINGS / BENCH_QUERIES override the sizes)
 *
 * Then the end-to-end settlement latency: from the seller accepting an offer (the agreement is made,
 * capacity reserved) through funding (escrow), delivery report and the buyer's confirmation (payout minus
 * fee in one linked ledger step), over the HTTP API in process (app.inject), on PGlite and, when
 * TEST_DATABASE_URL is set, on PostgreSQL. Sequential, then 8 agreements in flight at once.
 */
import { ListingIndex, matchListings } from '../src/modules/trading/matching.js';
import type { MatchOptions, MatchResult } from '../src/modules/trading/matching.js';
import { MARKET_NOW, generateMarket, generateRequest } from '../src/modules/trading/market-generator.js';
import { PRESETS, runDelegatedNegotiation, strategyFromPreset } from '../src/modules/trading/negotiation.js';
import type { PresetName } from '../src/modules/trading/negotiation.js';
import { mulberry32 } from '../src/platform/rng.js';
import type { Terms } from '../src/modules/trading/trading.types.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';
import { createDatabase, type Database } from '../src/database.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import pg from 'pg';
import { runStamp, writeSection } from './lib/report.js';

// Everything printed is also collected for this benchmark's section of docs/benchmarks.md.
const printed: string[] = [];
const print = console.log.bind(console);
console.log = (...args: unknown[]) => {
  printed.push(args.map(String).join(' '));
  print(...args);
};

const N_LISTINGS = Number(process.env.BENCH_LISTINGS ?? 100_000);
const N_QUERIES = Number(process.env.BENCH_QUERIES ?? 20_000);
const N_BASELINE = Math.min(N_QUERIES, 300);
const N_NEGOTIATIONS = 20_000;

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  qps: number;
}

function stats(samplesNs: number[]): Stats {
  const s = Float64Array.from(samplesNs).sort();
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) / 1e6;
  const total = samplesNs.reduce((a, b) => a + b, 0);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: (s[s.length - 1] ?? 0) / 1e6, mean: total / s.length / 1e6, qps: s.length / (total / 1e9) };
}

function time<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0)];
}

const fmt = (ms: number) => (ms < 0.1 ? ms.toFixed(4) : ms < 10 ? ms.toFixed(3) : ms.toFixed(1));
const row = (name: string, s: Stats, extra = '') =>
  `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${fmt(s.mean)} | ${Math.round(s.qps).toLocaleString('en-US')} | ${extra} |`;

function sameResult(a: MatchResult, b: MatchResult): boolean {
  return (
    // the index may stop counting once no other listing can enter the top 5 (qualifiedExact false)
    (b.qualifiedExact ? a.qualified === b.qualified : b.qualified <= a.qualified && b.qualified >= b.candidates.length) &&
    a.candidates.length === b.candidates.length &&
    a.candidates.every((c, i) => c.listingId === b.candidates[i]?.listingId && c.score === b.candidates[i]?.score) &&
    JSON.stringify(a.diagnostics) === JSON.stringify(b.diagnostics)
  );
}

function main(): void {
  const now = MARKET_NOW;
  const [listings, genNs] = time(() => generateMarket(mulberry32(1), N_LISTINGS, now));
  const [index, buildNs] = time(() => ListingIndex.from(listings));
  const requests = Array.from({ length: N_QUERIES }, (_, i) => generateRequest(mulberry32(1000 + i), i, now));
  const opts: MatchOptions = { now };
  const active = listings.filter((l) => l.status === 'active').length;

  // warm-up (JIT)
  for (let i = 0; i < 2000; i++) index.match(requests[i % requests.length]!, opts);
  for (let i = 0; i < 20; i++) matchListings(requests[i]!, listings, opts);

  // index
  const idxNs: number[] = [];
  const fewNs: number[] = [];
  const fullNs: number[] = [];
  let withDiagnostics = 0;
  let totalQualified = 0;
  for (const r of requests) {
    const [res, ns] = time(() => index.match(r, opts));
    idxNs.push(ns);
    totalQualified += res.qualified;
    if (res.diagnostics) {
      withDiagnostics++;
      fewNs.push(ns);
    } else fullNs.push(ns);
  }

  // the same, each request run 3 times back to back, keeping the fastest: the query's own cost without
  // the scheduler's preemptions (the machine is shared; single-shot percentiles include time spent waiting
  // for a core)
  const minNs: number[] = [];
  for (const r of requests) {
    let best = Infinity;
    for (let k = 0; k < 3; k++) best = Math.min(best, time(() => index.match(r, opts))[1]);
    minNs.push(best);
  }

  // index with exploration
  const rng = mulberry32(7);
  const exploreOpts: MatchOptions = { now, explorationShare: 0.1, rng };
  const expNs: number[] = [];
  let explored = 0;
  for (const r of requests) {
    const [res, ns] = time(() => index.match(r, exploreOpts));
    expNs.push(ns);
    if (res.exploration.listingId) explored++;
  }

  // naive baseline on a subset, same run; results must be identical
  const baseNs: number[] = [];
  const idxSubsetNs: number[] = [];
  let mismatches = 0;
  for (let i = 0; i < N_BASELINE; i++) {
    const r = requests[i]!;
    const [a, ns] = time(() => matchListings(r, listings, opts));
    baseNs.push(ns);
    const [b, ns2] = time(() => index.match(r, opts));
    idxSubsetNs.push(ns2);
    if (!sameResult(a, b)) mismatches++;
  }

  // updates (capacity reservation / price change), as the service does on every listing change
  const updNs: number[] = [];
  const urng = mulberry32(9);
  for (let i = 0; i < 20_000; i++) {
    const l = listings[Math.floor(urng() * listings.length)]!;
    const changed = { ...l, capacityReserved: Math.min(l.capacityTotal, l.capacityReserved + 1) };
    const [, ns] = time(() => index.upsert(changed));
    updNs.push(ns);
  }

  const sIdx = stats(idxNs);
  const sBase = stats(baseNs);
  const sIdxSubset = stats(idxSubsetNs);
  console.log(`\n## Matching: top-5 over ${N_LISTINGS.toLocaleString('en-US')} listings (${active.toLocaleString('en-US')} active)\n`);
  console.log(`Node ${process.version}; market generated in ${fmt(genNs / 1e6)} ms, index built in ${fmt(buildNs / 1e6)} ms; `
    + `mean qualified per request: ${Math.round(totalQualified / requests.length)}; `
    + `${withDiagnostics} of ${requests.length} requests had fewer than 5 matches (diagnostics computed).\n`);
  console.log('| operation | runs | p50 ms | p99 ms | max ms | mean ms | ops/s | notes |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  console.log(row('ListingIndex.match (all requests)', sIdx, sIdx.p99 < 1 ? 'p99 < 1 ms: yes' : 'p99 < 1 ms: NO'));
  const sMin = stats(minNs);
  console.log(row('ListingIndex.match, fastest of 3 runs per request', sMin, sMin.p99 < 1 ? 'p99 < 1 ms: yes (without preemption)' : 'p99 < 1 ms: NO'));
  console.log(row('  of which >= 5 matches', stats(fullNs)));
  console.log(row('  of which < 5 matches (+ diagnostics pass)', stats(fewNs)));
  console.log(row('ListingIndex.match, exploration 0.1', stats(expNs), `${explored} slots given by exploration`));
  console.log(row('naive baseline: matchListings (filter + sort array)', sBase, `first ${N_BASELINE} requests`));
  console.log(row('ListingIndex.match, same requests', sIdxSubset, `mean ${(sBase.mean / sIdxSubset.mean).toFixed(0)}x faster, p99 ${(sBase.p99 / sIdxSubset.p99).toFixed(0)}x; ${mismatches} result mismatches`));
  console.log(row('ListingIndex.upsert (listing change)', stats(updNs)));

  // delegated negotiation
  const presets = Object.keys(PRESETS) as PresetName[];
  const negNs: number[] = [];
  let agreed = 0;
  let rounds = 0;
  const nrng = mulberry32(11);
  const terms: Omit<Terms, 'pricePerUnit'> = { quantity: 10, sla: { availability: 0.99, maxLatencyMs: 100 }, settlementType: 'escrow' };
  for (let i = 0; i < N_NEGOTIATIONS; i++) {
    const fair = 100_000_000n + BigInt(Math.floor(nrng() * 100_000_000));
    const spread = BigInt(Math.floor(nrng() * 40_000_000));
    const buyer = strategyFromPreset('buyer', presets[i % 3]!, { target: fair - spread, reservation: fair + spread / 2n });
    const seller = strategyFromPreset('seller', presets[Math.floor(i / 3) % 3]!, { target: fair + spread, reservation: fair - spread / 2n - BigInt(Math.floor(nrng() * 20_000_000)) + 10_000_000n });
    const [res, ns] = time(() =>
      runDelegatedNegotiation(buyer, seller, { id: `n${i}`, buyerId: 'b', sellerId: 's', startAt: now, deadline: now + 3_600_000, maxRounds: 20, stepMs: 60_000, terms }),
    );
    negNs.push(ns);
    rounds += res.state.offers.length;
    if (res.outcome === 'agreed') agreed++;
  }
  console.log(row('runDelegatedNegotiation (20 rounds max)', stats(negNs), `${((100 * agreed) / N_NEGOTIATIONS).toFixed(1)}% agreed, mean ${(rounds / N_NEGOTIATIONS).toFixed(1)} offers`));
  console.log('');
}

const N_SETTLE = Number(process.env.BENCH_SETTLEMENTS ?? 200);

/** A fresh database: in-memory PGlite, or a private schema on the PostgreSQL server at `url`. */
async function freshDatabase(url?: string): Promise<{ database: Database; cleanup(): Promise<void> }> {
  if (!url) {
    const database = await createDatabase({});
    await migrateToLatest(database.db);
    return { database, cleanup: () => database.close() };
  }
  const schema = `bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const database = await createDatabase({ url: u.toString(), poolSize: 10 });
  await migrateToLatest(database.db);
  return {
    database,
    async cleanup() {
      await database.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

async function settlement(label: string, inFlight: number, url?: string): Promise<void> {
  const db = await freshDatabase(url);
  const ADMIN = 'bench-admin-key-0123456789';
  const app = await buildApp({
    config: loadConfig({ ADMIN_KEY: ADMIN, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database: db.database, clock: systemClock,
    logger: createLogger('silent'), adminKey: ADMIN,
  });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN}` };
  const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: object) => {
    const r = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const agent = async (i: number) => {
    const r = await call('POST', '/v1/agents', {}, { displayName: `bench-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] });
    return { id: r.agent.id as string, auth: { authorization: `Bearer ${r.apiKey}` } };
  };
  const seller = await agent(0);
  const buyers = await Promise.all(Array.from({ length: inFlight }, (_, i) => agent(i + 1)));
  for (const b of buyers) await call('POST', '/v1/admin/mint', admin, { agentId: b.id, amount: '1000000' });
  const listing = await call('POST', '/v1/listings', seller.auth, {
    category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80 }, pricePerUnit: '2.5', capacity: 1_000_000, region: 'eu-west',
    sla: { availability: 0.999, maxLatencyMs: 50 }, validUntil: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const open = async (b: { auth: Record<string, string> }) =>
    (await call('POST', '/v1/negotiations', b.auth, { listingId: listing.id, offer: { pricePerUnit: '2.4', quantity: 4 } })).id as string;
  const samples: number[] = [];
  const one = async (b: { auth: Record<string, string> }) => {
    const nid = await open(b);
    const t0 = process.hrtime.bigint();
    const acc = await call('POST', `/v1/negotiations/${nid}/accept`, seller.auth, {});
    const id = acc.agreement.id as string;
    await call('POST', `/v1/agreements/${id}/fund`, b.auth);
    await call('POST', `/v1/agreements/${id}/deliver`, seller.auth, { usage: 4, latencyMs: 30 });
    const done = await call('POST', `/v1/agreements/${id}/confirm`, b.auth, {});
    samples.push(Number(process.hrtime.bigint() - t0));
    if (done.state !== 'settled') throw new Error(`agreement ${id} is ${done.state}`);
  };
  for (let i = 0; i < 10; i++) await one(buyers[0]!); // warm-up
  samples.length = 0;
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(buyers.map(async (b) => {
    while (next < N_SETTLE) {
      next++;
      await one(b);
    }
  }));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const audit = await call('GET', '/v1/admin/ledger/audit', admin);
  const s = stats(samples);
  console.log(row(`${label}: accept -> fund -> deliver -> confirm, ${inFlight} in flight`, s,
    `${(N_SETTLE / wallS).toFixed(0)} agreements/s settled; p99 < 1 s: ${s.p99 < 1000 ? 'yes' : 'NO'}; ledger audit ${audit.ok ? 'ok' : 'FAILED'}`));
  await app.close();
  await db.cleanup();
}

async function settlements(): Promise<void> {
  console.log(`\n## Agreement to payout (${N_SETTLE} agreements per row)\n`);
  console.log('| operation | runs | p50 ms | p99 ms | max ms | mean ms | ops/s | notes |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  await settlement('PGlite', 1);
  await settlement('PGlite', 8);
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://ae:ae@127.0.0.1:5432/ae_bench';
  const reachable = await (async () => {
    const c = new pg.Client({ connectionString: url });
    try { await c.connect(); await c.end(); return true; } catch { return false; }
  })();
  if (reachable) {
    await settlement('PostgreSQL', 1, url);
    await settlement('PostgreSQL', 8, url);
  } else {
    console.log(`\n(PostgreSQL rows skipped: ${url} is not reachable; set BENCH_DATABASE_URL)`);
  }
  console.log('');
}

main();
await settlements();
if (!process.argv.includes('--no-write')) {
  const body = printed.join('\n').replace(/^\n*## Matching[^\n]*\n/, '').replace(/^## /gm, '### ');
  writeSection('Matching (bench:matching)', `${runStamp()}

Workload: a seeded market of listings (5 categories, 8 regions, 10 GPU models, 8 model names; prices,
capacities, SLAs, trust and validity spread out) and seeded buyer requests (category, 0 to 3 specification
constraints, budget, quantity, allowed/excluded regions, max latency, min trust). Each query returns the top 5
with score breakdowns, and diagnostics when fewer than 5 qualify. The naive baseline is \`matchListings\`:
filter and sort the array of listing objects, in the same process on the same requests. Agreement to payout
runs over the HTTP API in process: accept, fund (escrow), deliver, confirm (payout minus fee in one linked
ledger step). Target: top-5 over 100,000 listings p99 < 1 ms; agreement to payout p99 < 1 s on PostgreSQL.

${body}`);
}
