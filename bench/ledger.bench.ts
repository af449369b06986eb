/**
 * Ledger benchmark: `npm run bench:ledger`.
 *
 * Measures LedgerService.execute (single posted transfers, sequential and with concurrent clients, a hot
 * payer account, batches of 1,000 and 10,000) and EscrowService create -> release, on PGlite (in memory)
 * and on PostgreSQL, each beside a naive baseline run in the same process on the same database: one
 * transaction per transfer of `UPDATE balance - x; UPDATE balance + x; INSERT transfer` on plain tables.
 * Variants run in interleaved rounds so that load from other work falls on all of them alike.
 * Then it profiles one call of each kind (round trips, database wait, EXPLAIN ANALYZE of each statement
 * on PostgreSQL, CPU per operation of Node and of the PostgreSQL processes) and measures two proposed
 * changes: named prepared statements (simulated by wrapping pg.Client#query) and a bench-only executeIn
 * prototype (bench/lib/ledger-fused-prototype.ts). The ledger audit must pass at the end of each backend.
 *
 * Environment:
 *   BENCH_SCALE=1           multiplies every operation count (0.1 for a quick look, 3 for steadier numbers)
 *   BENCH_BACKENDS=pglite,postgres
 *   BENCH_DATABASE_URL=postgres://ae:ae@127.0.0.1:5432/ae_bench   (a private schema is created and dropped;
 *                           PostgreSQL is skipped with a message when unreachable)
 *   BENCH_PGLITE_DIR=<dir>  run PGlite on disk instead of in memory
 *   BENCH_AGENTS=500        funded wallets to pay between
 *   BENCH_CLIENTS=16,32     concurrent clients on PostgreSQL (PGlite uses the first value)
 *   BENCH_ROUNDS=3          interleaved rounds per scenario
 *   BENCH_PROTOTYPE=1       also run the bench-only prototype variants (slower)
 * Progress goes to stderr; the markdown results go to stdout. A full run (BENCH_SCALE >= 1, both
 * backends) rewrites the "Ledger (bench:ledger)" section of docs/benchmarks.md; --no-write prevents it.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { createServices, type Services } from '../src/app.js';
import { systemClock } from '../src/platform/clock.js';
import { createDatabase, type Database } from '../src/database.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import type { TransferInput } from '../src/modules/ledger/ledger.engine.js';
import { uuidv7 } from '../src/platform/ids.js';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runStamp, writeSection } from './lib/report.js';
import { QueryProfiler, fmtMs, fmtRate, fmtRatio, percentile, rng, runClients, type RunResult } from './lib/ledger-bench-util.js';
import { fusedExecutePosted } from './lib/ledger-fused-prototype.js';

const SCALE = Number(process.env.BENCH_SCALE ?? '1') || 1;
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
const PG_URL = process.env.BENCH_DATABASE_URL || 'postgres://ae:ae@127.0.0.1:5432/ae_bench';
const AGENTS = Number(process.env.BENCH_AGENTS ?? '500') || 500;
const CLIENTS = (process.env.BENCH_CLIENTS ?? '16,32').split(',').map(Number).filter((n) => n > 0);
const PROTOTYPE = process.env.BENCH_PROTOTYPE === '1';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? '3') || 3);
/** Full runs rewrite this benchmark's section of docs/benchmarks.md. */
const WRITE_DOC = !process.argv.includes('--no-write') && SCALE >= 1 && BACKENDS.includes('pglite') && BACKENDS.includes('postgres');
const n = (base: number, min = 1) => Math.max(min, Math.round(base * SCALE));

const log = (msg: string) => process.stderr.write(`[bench:ledger] ${msg}\n`);

// --- results --------------------------------------------------------------------------------------

interface Measured {
  ops: number;
  /** Units moved per op (1 for a single transfer, 1,000 for a batch call). */
  unitsPerOp: number;
  p50: number;
  p99: number;
  /** Units per second over the wall time. */
  rate: number;
  errors: number;
  /** Transactions run again after a deadlock or serialization failure (PostgreSQL). */
  retries: number;
  /** CPU ms per op: this Node process (PGlite included), and PostgreSQL backends + background writers. */
  nodeCpu: number;
  pgCpu: number;
}

interface Row {
  backend: string;
  scenario: string;
  clients: number;
  unit: string;
  ours: Measured;
  naive?: Measured;
}

const rows: Row[] = [];
/** Current executeIn vs the proposed changes (prepared statements; the bench-only prototype). */
const protoRows: { backend: string; scenario: string; clients: number; unit: string; current: Measured; prepared?: Measured; proto?: Measured }[] = [];

/** CPU time (ns) of the PostgreSQL processes serving this database, from /proc/<pid>/schedstat. */
async function pgCpuNs(database: Database): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  if (database.kind !== 'postgres') return m;
  const pids = (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`.execute(database.db)).rows;
  for (const { pid } of pids) {
    try {
      m.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      /* not on this machine (remote server) or gone */
    }
  }
  return m;
}

interface Variant {
  key: 'ours' | 'naive' | 'prepared' | 'proto';
  ops: number;
  unitsPerOp: number;
  op: (i: number) => Promise<void>;
  /** Send short statements as named prepared statements (PostgreSQL only). */
  prepare?: boolean;
}

/**
 * Runs each variant's operations in ROUNDS interleaved rounds (ours, naive, ... , ours, naive, ...), so
 * that load from other work on this shared machine falls on all variants alike, and collects latency,
 * throughput over the summed wall time, retries and CPU per operation.
 */
async function measureVariants(ctx: Ctx, clients: number, variants: Variant[]): Promise<Partial<Record<Variant['key'], Measured>>> {
  const acc = new Map<Variant['key'], { latencies: number[]; wallMs: number; errors: number; firstError?: unknown; retries: number; nodeUs: number; pgNs: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const from = Math.floor((v.ops * r) / ROUNDS);
      const part = Math.floor((v.ops * (r + 1)) / ROUNDS) - from;
      if (part <= 0) continue;
      const a = acc.get(v.key) ?? { latencies: [], wallMs: 0, errors: 0, retries: 0, nodeUs: 0, pgNs: 0 };
      acc.set(v.key, a);
      ctx.profiler.autoPrepareMaxChars = v.prepare && ctx.database.kind === 'postgres' ? 8000 : 0;
      const calls0 = ctx.tx.calls;
      const attempts0 = ctx.tx.attempts;
      const pg0 = await pgCpuNs(ctx.database);
      const cpu0 = process.cpuUsage();
      const res: RunResult = await runClients(clients, part, (i) => v.op(from + i));
      const cpu = process.cpuUsage(cpu0);
      const pg1 = await pgCpuNs(ctx.database);
      ctx.profiler.autoPrepareMaxChars = 0;
      for (const [pid, ns] of pg1) a.pgNs += ns - (pg0.get(pid) ?? 0);
      a.nodeUs += cpu.user + cpu.system;
      a.latencies.push(...res.latencies);
      a.wallMs += res.wallMs;
      a.errors += res.errors;
      a.firstError ??= res.firstError;
      a.retries += (ctx.tx.attempts - attempts0) - (ctx.tx.calls - calls0);
    }
  }
  const out: Partial<Record<Variant['key'], Measured>> = {};
  for (const v of variants) {
    const a = acc.get(v.key);
    if (!a) continue;
    if (a.errors) log(`  ${v.key}: ${a.errors} errors, first: ${String((a.firstError as Error)?.message ?? a.firstError)}`);
    const ok = a.latencies.length;
    out[v.key] = {
      ops: ok, unitsPerOp: v.unitsPerOp, p50: percentile(a.latencies, 50), p99: percentile(a.latencies, 99),
      rate: (ok * v.unitsPerOp) / (a.wallMs / 1000), errors: a.errors, retries: a.retries,
      nodeCpu: a.nodeUs / 1000 / Math.max(1, ok), pgCpu: a.pgNs / 1e6 / Math.max(1, ok),
    };
  }
  return out;
}

function addRow(row: Row): void {
  rows.push(row);
  const o = row.ours;
  const nv = row.naive;
  log(`  ${row.backend} | ${row.scenario} | c=${row.clients} | ours p50 ${fmtMs(o.p50)} p99 ${fmtMs(o.p99)} ${fmtRate(o.rate)} ${row.unit}` +
    (nv ? ` | naive p50 ${fmtMs(nv.p50)} p99 ${fmtMs(nv.p99)} ${fmtRate(nv.rate)} | ratio ${fmtRatio(o.rate / nv.rate)}` : ''));
}

// --- the naive baseline ---------------------------------------------------------------------------

async function createNaiveTables(database: Database, walletIds: string[], balance: bigint): Promise<void> {
  const db = database.db;
  for (const t of ['naive_escrows', 'naive_transfers', 'naive_balances']) await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  await sql`CREATE TABLE naive_balances (id uuid PRIMARY KEY, balance bigint NOT NULL)`.execute(db);
  await sql`CREATE TABLE naive_transfers (id uuid PRIMARY KEY, debit_id uuid NOT NULL, credit_id uuid NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL)`.execute(db);
  await sql`CREATE TABLE naive_escrows (id uuid PRIMARY KEY, payer_id uuid NOT NULL, payee_id uuid NOT NULL, amount bigint NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL)`.execute(db);
  const ids = [...walletIds, SYSTEM_ACCOUNTS.fees];
  await sql`INSERT INTO naive_balances (id, balance) VALUES ${sql.join(ids.map((id) => sql`(${id}::uuid, ${id === SYSTEM_ACCOUNTS.fees ? 0n : balance}::int8)`))}`.execute(db);
}

class Naive {
  constructor(private readonly database: Database) {}

  transfer(id: string, from: string, to: string, amount: bigint): Promise<void> {
    return this.database.transaction(async (tx) => {
      await sql`UPDATE naive_balances SET balance = balance - ${amount}::int8 WHERE id = ${from}::uuid`.execute(tx);
      await sql`UPDATE naive_balances SET balance = balance + ${amount}::int8 WHERE id = ${to}::uuid`.execute(tx);
      await sql`INSERT INTO naive_transfers (id, debit_id, credit_id, amount, created_at) VALUES (${id}::uuid, ${from}::uuid, ${to}::uuid, ${amount}::int8, ${new Date()})`.execute(tx);
    });
  }

  /** Escrow the plain way: debit the payer into an escrow row; release credits payee and fees. */
  async escrow(id: string, payer: string, payee: string, amount: bigint, feeBps: number): Promise<void> {
    await this.database.transaction(async (tx) => {
      await sql`UPDATE naive_balances SET balance = balance - ${amount}::int8 WHERE id = ${payer}::uuid`.execute(tx);
      await sql`INSERT INTO naive_escrows (id, payer_id, payee_id, amount, state, created_at) VALUES (${id}::uuid, ${payer}::uuid, ${payee}::uuid, ${amount}::int8, 'held', ${new Date()})`.execute(tx);
      await sql`INSERT INTO naive_transfers (id, debit_id, credit_id, amount, created_at) VALUES (${uuidv7()}::uuid, ${payer}::uuid, ${id}::uuid, ${amount}::int8, ${new Date()})`.execute(tx);
    });
    await this.database.transaction(async (tx) => {
      const row = (await sql<{ payee_id: string; amount: bigint; state: string }>`SELECT payee_id, amount, state FROM naive_escrows WHERE id = ${id}::uuid FOR UPDATE`.execute(tx)).rows[0];
      if (!row || row.state !== 'held') throw new Error('naive escrow not held');
      const fee = (BigInt(row.amount) * BigInt(feeBps)) / 10_000n;
      const net = BigInt(row.amount) - fee;
      await sql`UPDATE naive_balances SET balance = balance + ${net}::int8 WHERE id = ${row.payee_id}::uuid`.execute(tx);
      await sql`UPDATE naive_balances SET balance = balance + ${fee}::int8 WHERE id = ${SYSTEM_ACCOUNTS.fees}::uuid`.execute(tx);
      await sql`UPDATE naive_escrows SET state = 'released' WHERE id = ${id}::uuid`.execute(tx);
      await sql`INSERT INTO naive_transfers (id, debit_id, credit_id, amount, created_at) VALUES
        (${uuidv7()}::uuid, ${id}::uuid, ${row.payee_id}::uuid, ${net}::int8, ${new Date()}),
        (${uuidv7()}::uuid, ${id}::uuid, ${SYSTEM_ACCOUNTS.fees}::uuid, ${fee}::int8, ${new Date()})`.execute(tx);
    });
  }
}

// --- one backend ----------------------------------------------------------------------------------

interface Ctx {
  backend: string;
  database: Database;
  services: Services;
  naive: Naive;
  agentIds: string[];
  walletIds: string[];
  /** Payer of the hot-account scenario (not used as a payer elsewhere). */
  hotWallet: string;
  profiler: QueryProfiler;
  /** Transactions started and attempts made (retries = attempts - calls). */
  tx: { calls: number; attempts: number };
}

const FUNDING = 10n ** 15n; // 10 million AITBC per wallet: no scenario runs out
const FEE_BPS = 250;

async function setup(backend: string, database: Database, profiler: QueryProfiler): Promise<Ctx> {
  // Count transaction attempts: Database.transaction retries deadlocks and serialization failures.
  const tx = { calls: 0, attempts: 0 };
  const run = database.transaction.bind(database);
  (database as { transaction: Database['transaction'] }).transaction = (fn, opts) => {
    tx.calls++;
    return run((t) => { tx.attempts++; return fn(t); }, opts);
  };
  let t0 = performance.now();
  await migrateToLatest(database.db);
  log(`${backend}: migrated in ${fmtMs(performance.now() - t0)} ms`);
  const services = createServices({ database, clock: systemClock });
  t0 = performance.now();
  const agentIds: string[] = [];
  const reg = await runClients(database.kind === 'postgres' ? 8 : 1, AGENTS, async (i) => {
    const { agent } = await services.agents.register({ displayName: `bench-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] });
    agentIds.push(agent.id);
  });
  if (reg.errors) throw reg.firstError;
  const walletIds = agentIds.map(walletAccountId);
  const mint = await services.ledger.execute(walletIds.map((w) => ({
    id: uuidv7(), kind: 'posted' as const, debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: w, amount: FUNDING, code: 'mint',
  })));
  if (mint.some((o) => o.status !== 'created')) throw new Error('funding failed');
  await createNaiveTables(database, walletIds, FUNDING);
  log(`${backend}: ${AGENTS} agents registered, wallets funded, naive tables created in ${fmtMs(performance.now() - t0)} ms`);
  return { backend, database, services, naive: new Naive(database), agentIds, walletIds, hotWallet: walletIds[0]!, profiler, tx };
}

/** A random pair of distinct wallets (never the hot wallet as payer unless asked). */
function pairs(ctx: Ctx, seed: number) {
  const r = rng(seed);
  const m = ctx.walletIds.length;
  return (): [string, string, bigint] => {
    const a = 1 + Math.floor(r() * (m - 1));
    let b = Math.floor(r() * m);
    if (b === a) b = (b + 1) % m;
    return [ctx.walletIds[a]!, ctx.walletIds[b]!, BigInt(1 + Math.floor(r() * 1000))];
  };
}

function single(ctx: Ctx, from: string, to: string, amount: bigint): Promise<void> {
  return ctx.services.ledger.execute([{ id: uuidv7(), kind: 'posted', debitAccountId: from, creditAccountId: to, amount, code: 'payment' }])
    .then(([o]) => { if (o?.status !== 'created') throw new Error(`transfer ${o?.status}: ${o && 'code' in o ? o.code : ''}`); });
}

async function scenarioSingles(ctx: Ctx, clients: number, ops: number, hot: boolean): Promise<void> {
  const name = hot ? 'hot account (all clients pay from one wallet)' : clients === 1 ? 'single transfer, sequential' : 'single transfer, concurrent';
  const draw = (pick: ReturnType<typeof pairs>): [string, string, bigint] => {
    const p = pick();
    return hot ? [ctx.hotWallet, p[0], p[2]] : p;
  };
  const pick = {
    ours: pairs(ctx, 11 + clients), naive: pairs(ctx, 11 + clients), prepared: pairs(ctx, 11 + clients), proto: pairs(ctx, 11 + clients),
  };
  const variants: Variant[] = [
    { key: 'ours', ops, unitsPerOp: 1, op: () => { const [a, b, x] = draw(pick.ours); return single(ctx, a, b, x); } },
    { key: 'naive', ops, unitsPerOp: 1, op: () => { const [a, b, x] = draw(pick.naive); return ctx.naive.transfer(uuidv7(), a, b, x); } },
  ];
  if (PROTOTYPE && ctx.database.kind === 'postgres') {
    variants.push({ key: 'prepared', ops, unitsPerOp: 1, prepare: true, op: () => { const [a, b, x] = draw(pick.prepared); return single(ctx, a, b, x); } });
  }
  if (PROTOTYPE) {
    variants.push({
      key: 'proto', ops, unitsPerOp: 1, prepare: true, op: async () => {
        const [a, b, x] = draw(pick.proto);
        const r = await fusedExecutePosted(ctx.database, [{ id: uuidv7(), kind: 'posted', debitAccountId: a, creditAccountId: b, amount: x, code: 'payment' }]);
        if (r.created !== 1) throw new Error('prototype transfer not created');
      },
    });
  }
  const m = await measureVariants(ctx, clients, variants);
  addRow({ backend: ctx.backend, scenario: name, clients, unit: 'transfers/s', ours: m.ours!, naive: m.naive! });
  if (m.prepared || m.proto) addProto(ctx, name, clients, 'transfers/s', m.ours!, m.prepared, m.proto);
}

function batchInputs(ctx: Ctx, size: number, seed: number): TransferInput[] {
  const pick = pairs(ctx, seed);
  return Array.from({ length: size }, () => {
    const [a, b, x] = pick();
    return { id: uuidv7(), kind: 'posted' as const, debitAccountId: a, creditAccountId: b, amount: x, code: 'batch' };
  });
}

async function scenarioBatch(ctx: Ctx, size: number, reps: number, naiveReps: number): Promise<void> {
  let seed = 1000 + size;
  // Inputs are built before the clock starts: the measurement is execute() itself.
  const prepared = Array.from({ length: reps }, () => batchInputs(ctx, size, seed++));
  const naiveInputs = Array.from({ length: naiveReps }, () => batchInputs(ctx, size, seed++));
  const protoInputs = Array.from({ length: PROTOTYPE ? reps : 0 }, () => batchInputs(ctx, size, seed++));
  const variants: Variant[] = [
    {
      key: 'ours', ops: reps, unitsPerOp: size, op: async (i) => {
        const out = await ctx.services.ledger.execute(prepared[i]!, { batchId: uuidv7() });
        if (out.some((o) => o.status !== 'created')) throw new Error('batch transfer rejected');
      },
    },
    {
      key: 'naive', ops: naiveReps, unitsPerOp: size, op: async (i) => {
        for (const t of naiveInputs[i]!) await ctx.naive.transfer(t.id, t.debitAccountId!, t.creditAccountId!, t.amount!);
      },
    },
  ];
  if (PROTOTYPE) {
    variants.push({
      key: 'proto', ops: reps, unitsPerOp: size, prepare: true, op: async (i) => {
        const r = await fusedExecutePosted(ctx.database, protoInputs[i]!, uuidv7());
        if (r.created !== size) throw new Error('prototype batch transfer rejected');
      },
    });
  }
  const m = await measureVariants(ctx, 1, variants);
  const name = `batch of ${size.toLocaleString('en-US')} in one execute() (naive: loop of per-transfer transactions)`;
  addRow({ backend: ctx.backend, scenario: name, clients: 1, unit: 'transfers/s', ours: m.ours!, naive: m.naive! });
  if (m.proto) addProto(ctx, `batch of ${size.toLocaleString('en-US')}`, 1, 'transfers/s', m.ours!, undefined, m.proto);
}

async function scenarioEscrow(ctx: Ctx, clients: number, ops: number): Promise<void> {
  const r = rng(77 + clients);
  const m = ctx.agentIds.length;
  const pick = (): [string, string] => {
    const a = 1 + Math.floor(r() * (m - 1));
    let b = 1 + Math.floor(r() * (m - 1));
    if (b === a) b = a === m - 1 ? 1 : a + 1;
    return [ctx.agentIds[a]!, ctx.agentIds[b]!];
  };
  const timings = { ours: { create: [] as number[], release: [] as number[] }, prepared: { create: [] as number[], release: [] as number[] } };
  const escrow = (t: { create: number[]; release: number[] }) => async () => {
    const [payer, payee] = pick();
    const actor = { kind: 'agent' as const, agentId: payer };
    const t0 = performance.now();
    const e = await ctx.services.escrow.create({ payerAgentId: payer, payeeAgentId: payee, amount: 1_000_000n, feeBps: FEE_BPS }, actor);
    const t1 = performance.now();
    const done = await ctx.services.escrow.act(e.id, 'release', actor);
    t.release.push(performance.now() - t1);
    t.create.push(t1 - t0);
    if (done.state !== 'released') throw new Error(`escrow ended ${done.state}`);
  };
  const variants: Variant[] = [
    { key: 'ours', ops, unitsPerOp: 1, op: escrow(timings.ours) },
    {
      key: 'naive', ops, unitsPerOp: 1, op: () => {
        const [payer, payee] = pick();
        return ctx.naive.escrow(uuidv7(), walletAccountId(payer), walletAccountId(payee), 1_000_000n, FEE_BPS);
      },
    },
  ];
  if (PROTOTYPE && ctx.database.kind === 'postgres') variants.push({ key: 'prepared', ops, unitsPerOp: 1, prepare: true, op: escrow(timings.prepared) });
  const res = await measureVariants(ctx, clients, variants);
  const t = timings.ours;
  escrowDetail.set(`${ctx.backend}:${clients}`, { c50: percentile(t.create, 50), c99: percentile(t.create, 99), r50: percentile(t.release, 50), r99: percentile(t.release, 99) });
  addRow({
    backend: ctx.backend,
    scenario: `escrow create + release (create p50/p99 ${fmtMs(percentile(t.create, 50))}/${fmtMs(percentile(t.create, 99))} ms, release ${fmtMs(percentile(t.release, 50))}/${fmtMs(percentile(t.release, 99))} ms)`,
    clients, unit: 'escrows/s', ours: res.ours!, naive: res.naive!,
  });
  if (res.prepared) addProto(ctx, 'escrow create + release', clients, 'escrows/s', res.ours!, res.prepared, undefined);
}

function addProto(ctx: Ctx, scenario: string, clients: number, unit: string, current: Measured, prepared: Measured | undefined, proto: Measured | undefined): void {
  protoRows.push({ backend: ctx.backend, scenario, clients, unit, current, ...(prepared ? { prepared } : {}), ...(proto ? { proto } : {}) });
  const f = (label: string, m?: Measured) => (m ? ` | ${label} p50 ${fmtMs(m.p50)} p99 ${fmtMs(m.p99)} ${fmtRate(m.rate)} (${fmtRatio(m.rate / current.rate)})` : '');
  log(`  ${ctx.backend} | ${scenario} | c=${clients} | current ${fmtRate(current.rate)}${f('prepared', prepared)}${f('prototype', proto)}`);
}

// --- profile: round trips and where the time goes -------------------------------------------------

interface ProfileLine {
  backend: string;
  operation: string;
  calls: number;
  roundTrips: number;
  dbMs: number;
  totalMs: number;
  statements: { label: string; perCall: number; ms: number }[];
  /** Statement labels in the order they first ran. */
  order: string[];
  captured: Map<string, { text: string; values: unknown[] }>;
}
const profiles: ProfileLine[] = [];

async function profile(ctx: Ctx, operation: string, calls: number, fn: (i: number) => Promise<void>): Promise<void> {
  const p = ctx.profiler;
  p.reset();
  p.captured.clear();
  p.capture = true;
  p.enabled = true;
  const t0 = performance.now();
  try {
    for (let i = 0; i < calls; i++) await fn(i);
  } finally {
    p.enabled = false;
  }
  const totalMs = (performance.now() - t0) / calls;
  const statements = [...p.byStatement].map(([label, s]) => ({ label, perCall: s.n / calls, ms: s.ms / calls })).sort((a, b) => b.ms - a.ms);
  profiles.push({ backend: ctx.backend, operation, calls, roundTrips: p.queries / calls, dbMs: p.ms / calls, totalMs, statements, order: [...p.byStatement.keys()], captured: new Map(p.captured) });
}

// --- inside PostgreSQL: EXPLAIN ANALYZE of the statements the profile captured ---------------------

interface ExplainLine { operation: string; statement: string; rows: string; planningMs: number; executionMs: number; triggerMs: number; triggerCalls: number }
const explains: ExplainLine[] = [];

/**
 * Re-runs each captured statement under EXPLAIN (ANALYZE) in a transaction that is rolled back, with
 * every UUIDv7 parameter (transfer and batch ids; account ids are name-derived v8) replaced by a fresh
 * one, so the inserts really insert. Reports planning time, execution time and the time spent in
 * triggers (the foreign-key checks).
 */
async function explainCaptured(url: string, backend: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const p of profiles.filter((x) => x.backend === backend && /^(execute|prototype)/.test(x.operation) && !x.operation.includes('prepared'))) {
      const remap = new Map<string, string>();
      const fresh = (v: unknown): unknown => {
        if (typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-7/i.test(v)) {
          let r = remap.get(v);
          if (!r) { r = uuidv7(); remap.set(v, r); }
          return r;
        }
        return Array.isArray(v) ? v.map(fresh) : v;
      };
      for (const [label, c] of p.captured) {
        if (/^(begin|commit|rollback)$/.test(label) || label.startsWith('update naive') || label.startsWith('insert naive')) continue;
        await client.query('BEGIN');
        try {
          const res = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${c.text}`, c.values.map(fresh));
          const plan = (res.rows[0]!['QUERY PLAN'] as { 'Planning Time': number; 'Execution Time': number; Triggers?: { Time: number; Calls: number }[]; Plan: { 'Actual Rows': number } }[])[0]!;
          const trig = plan.Triggers ?? [];
          explains.push({
            operation: p.operation, statement: label, rows: String(plan.Plan['Actual Rows']),
            planningMs: plan['Planning Time'], executionMs: plan['Execution Time'],
            triggerMs: trig.reduce((a, t) => a + t.Time, 0), triggerCalls: trig.reduce((a, t) => a + t.Calls, 0),
          });
        } catch (err) {
          log(`  EXPLAIN of ${label} failed: ${(err as Error).message}`);
        } finally {
          await client.query('ROLLBACK');
        }
      }
    }
  } finally {
    await client.end();
  }
}

async function runProfiles(ctx: Ctx): Promise<void> {
  const pick = pairs(ctx, 99);
  const calls = n(200, 20);
  await profile(ctx, 'execute(1 transfer)', calls, () => { const [a, b, x] = pick(); return single(ctx, a, b, x); });
  await profile(ctx, 'naive transfer', calls, () => { const [a, b, x] = pick(); return ctx.naive.transfer(uuidv7(), a, b, x); });
  if (PROTOTYPE && ctx.database.kind === 'postgres') {
    ctx.profiler.autoPrepareMaxChars = 8000;
    try {
      await profile(ctx, 'execute(1 transfer), prepared', calls, () => { const [a, b, x] = pick(); return single(ctx, a, b, x); });
    } finally {
      ctx.profiler.autoPrepareMaxChars = 0;
    }
  }
  if (PROTOTYPE) {
    await profile(ctx, 'prototype execute(1 transfer)', calls, async () => {
      const [a, b, x] = pick();
      await fusedExecutePosted(ctx.database, [{ id: uuidv7(), kind: 'posted', debitAccountId: a, creditAccountId: b, amount: x, code: 'payment' }]);
    });
  }
  let seed = 5000;
  await profile(ctx, 'execute(1,000 transfers)', 3, async () => { await ctx.services.ledger.execute(batchInputs(ctx, 1000, seed++)); });
  await profile(ctx, 'execute(10,000 transfers)', 1, async () => { await ctx.services.ledger.execute(batchInputs(ctx, 10_000, seed++)); });
  if (PROTOTYPE) await profile(ctx, 'prototype execute(10,000 transfers)', 1, async () => { await fusedExecutePosted(ctx.database, batchInputs(ctx, 10_000, seed++)); });
  const payer = ctx.agentIds[1]!;
  const payee = ctx.agentIds[2]!;
  const actor = { kind: 'agent' as const, agentId: payer };
  const ids: string[] = [];
  await profile(ctx, 'escrow.create', n(100, 10), async () => {
    ids.push((await ctx.services.escrow.create({ payerAgentId: payer, payeeAgentId: payee, amount: 1_000_000n, feeBps: FEE_BPS }, actor)).id);
  });
  await profile(ctx, 'escrow.act(release)', ids.length, async (i) => { await ctx.services.escrow.act(ids[i]!, 'release', actor); });
}

// --- backends -------------------------------------------------------------------------------------

async function runBackend(backend: string, database: Database, profiler: QueryProfiler, explainUrl?: string): Promise<void> {
  const ctx = await setup(backend, database, profiler);
  const clients = database.kind === 'postgres' ? CLIENTS : CLIENTS.slice(0, 1);
  const started = performance.now();

  // Warm-up: JIT, plan caches, pool connections.
  const warm = pairs(ctx, 3);
  await runClients(Math.max(...clients), n(300, 50), () => { const [a, b, x] = warm(); return single(ctx, a, b, x); });
  await runClients(Math.max(...clients), n(300, 50), () => { const [a, b, x] = warm(); return ctx.naive.transfer(uuidv7(), a, b, x); });
  await ctx.services.ledger.execute(batchInputs(ctx, 1000, 4));
  log(`${backend}: warmed up`);

  // Profile first, on a quiet database (sequential calls, instrumented), then the measured scenarios.
  await runProfiles(ctx);
  if (explainUrl) await explainCaptured(explainUrl, backend);
  log(`${backend}: profiled`);
  const pgsql = database.kind === 'postgres';
  await scenarioSingles(ctx, 1, n(1000, 50), false);
  for (const c of clients) await scenarioSingles(ctx, c, n(pgsql ? 2400 : 1000, 100), false);
  for (const c of clients) await scenarioSingles(ctx, c, n(pgsql ? 1500 : 1000, 100), true);
  await scenarioBatch(ctx, 1000, n(6, 2), 1);
  await scenarioBatch(ctx, 10_000, n(3, 1), 1);
  await scenarioEscrow(ctx, 1, n(400, 30));
  if (pgsql) await scenarioEscrow(ctx, clients[0]!, n(500, 50));
  log(`${backend}: scenarios done in ${fmtMs((performance.now() - started) / 1000)} s`);

  const audit = await ctx.services.ledger.audit();
  const naiveSum = (await sql<{ s: bigint }>`SELECT sum(balance)::int8 AS s FROM naive_balances`.execute(database.db)).rows[0]!.s;
  const naiveExpected = FUNDING * BigInt(ctx.walletIds.length);
  log(`${backend}: ledger audit ${audit.ok ? 'ok' : `FAILED: ${audit.violations.join('; ')}`} (${audit.transfers} transfers); naive balances ${BigInt(naiveSum) === naiveExpected ? 'conserved' : 'NOT conserved'}`);
  if (!audit.ok) process.exitCode = 1;
}

async function pglite(profiler: QueryProfiler): Promise<void> {
  const dataDir = process.env.BENCH_PGLITE_DIR || undefined;
  const database = await createDatabase({ dataDir });
  const label = dataDir ? 'PGlite (disk)' : 'PGlite (memory)';
  try {
    await runBackend(label, database, profiler);
  } finally {
    await database.close();
  }
}

async function postgres(profiler: QueryProfiler): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    log(`PostgreSQL at ${PG_URL.replace(/:[^:@/]+@/, ':***@')} is unreachable (${(err as Error).message}); skipping PostgreSQL. ` +
      `Set BENCH_DATABASE_URL, or create the database: psql postgres://ae:ae@127.0.0.1:5432/postgres -c 'create database ae_bench'`);
    return undefined;
  }
  const version = (await admin.query<{ v: string; sc: string }>(`SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS sc`)).rows[0]!;
  const schema = `ledger_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  log(`PostgreSQL ${version.v} (synchronous_commit=${version.sc}): schema ${schema}`);
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const database = await createDatabase({ url: u.toString(), poolSize: Math.max(...CLIENTS) + 4 });
  try {
    await runBackend(`PostgreSQL ${version.v.split(' ')[0]}`, database, profiler, u.toString());
    return version.v.split(' ')[0];
  } finally {
    await database.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

// --- report ---------------------------------------------------------------------------------------

const startLoad = os.loadavg();
const escrowDetail = new Map<string, { c50: number; c99: number; r50: number; r99: number }>();

function resultsTable(): string[] {
  const out = [
    'Latency per call in ms (a batch call moves 1,000 or 10,000 transfers; an escrow is create + release). Throughput over the wall time. ' +
      'Ours/naive = our throughput / the naive baseline\'s.',
    '',
    '| Backend | Scenario | Clients | Ours p50 | Ours p99 | Ours | Naive p50 | Naive p99 | Naive | Ours/naive |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const o = r.ours;
    const nv = r.naive;
    const notes: string[] = [];
    if (o.errors || nv?.errors) notes.push(`errors: ours ${o.errors}, naive ${nv?.errors ?? 0}`);
    if (o.retries || nv?.retries) notes.push(`deadlock retries: ours ${o.retries}, naive ${nv?.retries ?? 0}`);
    out.push(`| ${r.backend} | ${r.scenario}${notes.length ? ` (${notes.join('; ')})` : ''} | ${r.clients} | ${fmtMs(o.p50)} | ${fmtMs(o.p99)} | ${fmtRate(o.rate)} ${r.unit} | ` +
      `${nv ? fmtMs(nv.p50) : '–'} | ${nv ? fmtMs(nv.p99) : '–'} | ${nv ? `${fmtRate(nv.rate)} ${r.unit}` : '–'} | ${nv ? fmtRatio(o.rate / nv.rate) : '–'} |`);
  }
  return out;
}

function targetLines(): string[] {
  const out = ['Targets (PostgreSQL, 2 cores): >= 2,000 single transfers/s with p99 < 50 ms (concurrent clients); >= 20,000 transfers/s in batches; escrow hold-to-release p99 < 20 ms.', ''];
  const pgRows = rows.filter((r) => r.backend.startsWith('PostgreSQL'));
  if (pgRows.length === 0) return [...out, '- PostgreSQL was not measured: targets not evaluated.'];
  const conc = pgRows.filter((r) => r.scenario === 'single transfer, concurrent');
  const best = conc.filter((r) => r.ours.p99 < 50).sort((a, b) => b.ours.rate - a.ours.rate)[0];
  const bestAny = [...conc].sort((a, b) => b.ours.rate - a.ours.rate)[0];
  const t1 = best !== undefined && best.ours.rate >= 2000;
  out.push(`- Single transfers: **${t1 ? 'met' : 'missed'}**: ${best ? `best ${fmtRate(best.ours.rate)}/s at p99 ${fmtMs(best.ours.p99)} ms with ${best.clients} clients` : bestAny ? `none with p99 < 50 ms (best ${fmtRate(bestAny.ours.rate)}/s at p99 ${fmtMs(bestAny.ours.p99)} ms)` : 'not measured'}.`);
  const batches = pgRows.filter((r) => r.scenario.startsWith('batch'));
  // The target is throughput in batches: judged on the largest batch size (a reward run moves thousands).
  const size = (r: { scenario: string }) => Number(/batch of ([\d,]+)/.exec(r.scenario)?.[1]?.replace(/,/g, '') ?? 0);
  const largest = [...batches].sort((a, b) => size(b) - size(a))[0];
  const t2 = largest !== undefined && largest.ours.rate >= 20_000;
  out.push(`- Batches: **${t2 ? 'met' : 'missed'}** (judged on the largest batch): ${batches.map((r) => `${r.scenario.split(' in ')[0]}: ${fmtRate(r.ours.rate)} transfers/s`).join(', ')}.`);
  const esc = pgRows.filter((r) => r.scenario.startsWith('escrow'));
  const seq = esc.find((r) => r.clients === 1);
  const t3 = seq !== undefined && seq.ours.p99 < 20;
  out.push(`- Escrow hold-to-release: **${t3 ? 'met' : 'missed'}** (sequential): ${esc.map((r) => `p99 ${fmtMs(r.ours.p99)} ms with ${r.clients} client${r.clients > 1 ? 's' : ''}`).join(', ')}.`);
  return out;
}

function profileTables(): string[] {
  const out = [
    'Round trips and database wait per call (sequential calls, one client, instrumented; PGlite runs BEGIN/COMMIT inside transaction(), not counted).',
    '',
    '| Backend | Operation | Round trips/call | DB wait ms/call | Total ms/call | Statements (count/call, ms/call), slowest first |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const p of profiles) {
    const top = p.statements.slice(0, 6).map((x) => `${x.label} (${+x.perCall.toFixed(2)}, ${fmtMs(x.ms)})`).join('; ');
    out.push(`| ${p.backend} | ${p.operation} | ${p.roundTrips.toFixed(1)} | ${fmtMs(p.dbMs)} | ${fmtMs(p.totalMs)} | ${top} |`);
  }
  if (explains.length) {
    out.push('', 'Inside PostgreSQL: each statement of one profiled call re-run under EXPLAIN ANALYZE (fresh transfer ids, rolled back). ' +
      'FK = time in the foreign-key triggers (one check per referencing row and constraint).', '',
      '| Operation | Statement | Planning ms | Execution ms | of which FK ms (checks) |', '| --- | --- | ---: | ---: | ---: |');
    for (const e of explains) out.push(`| ${e.operation} | ${e.statement} | ${fmtMs(e.planningMs)} | ${fmtMs(e.executionMs)} | ${fmtMs(e.triggerMs)} (${e.triggerCalls}) |`);
  }
  out.push('', 'CPU per operation in ms (Node: this process, which also runs PGlite; PostgreSQL: the server processes of the benchmark database ' +
    'and the shared background writers, from /proc/<pid>/schedstat).', '',
    '| Backend | Scenario | Clients | Ours Node | Ours PostgreSQL | Naive Node | Naive PostgreSQL |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const pgOnly = r.backend.startsWith('PostgreSQL');
    const cell = (m: Measured | undefined, v: (m: Measured) => number) => (m ? fmtMs(v(m)) : '–');
    out.push(`| ${r.backend} | ${r.scenario.split(' (')[0]} | ${r.clients} | ${cell(r.ours, (m) => m.nodeCpu)} | ${pgOnly ? cell(r.ours, (m) => m.pgCpu) : '–'} | ` +
      `${cell(r.naive, (m) => m.nodeCpu)} | ${pgOnly ? cell(r.naive, (m) => m.pgCpu) : '–'} |`);
  }
  return out;
}

function protoTable(): string[] {
  if (!protoRows.length) return [];
  const out = [
    'Measured in the same run, interleaved with the rows above. **Prepared**: the current executeIn, with node-postgres sending every statement ' +
      'shorter than 8,000 characters as a named prepared statement (simulated by the benchmark; the change would be in src/platform/db/database.ts). ' +
      '**Prototype**: bench/lib/ledger-fused-prototype.ts, a bench-only executeIn for posted transfers with the same steps and lock order, the account ' +
      'and advisory locks in one statement, and the write as one statement over unnest() arrays (two dozen parameters whatever the batch size); prepared on PostgreSQL. ' +
      'On this shared machine, differences under about 1.3× between variants are within run-to-run noise; the batch gains are well outside it.',
    '',
    '| Backend | Scenario | Clients | Current p99 | Current | Prepared p99 | Prepared | Prototype p99 | Prototype |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of protoRows) {
    const cell = (m?: Measured) => (m ? `${fmtMs(m.p99)} | ${fmtRate(m.rate)} ${r.unit} (${fmtRatio(m.rate / r.current.rate)})` : '– | –');
    out.push(`| ${r.backend} | ${r.scenario} | ${r.clients} | ${fmtMs(r.current.p99)} | ${fmtRate(r.current.rate)} ${r.unit} | ${cell(r.prepared)} | ${cell(r.proto)} |`);
  }
  return out;
}

/** Findings computed from this run's numbers (PostgreSQL). */
function findings(): string[] {
  const pgName = rows.find((r) => r.backend.startsWith('PostgreSQL'))?.backend;
  if (!pgName) return ['PostgreSQL was not measured in this run.'];
  const row = (scenario: string, clients: number) => rows.find((r) => r.backend === pgName && r.scenario.startsWith(scenario) && r.clients === clients);
  const prof = (op: string) => profiles.find((p) => p.backend === pgName && p.operation === op);
  const out: string[] = [];
  const c0 = CLIENTS[0]!;
  const conc = row('single transfer, concurrent', c0);
  const one = prof('execute(1 transfer)');
  const naive1 = prof('naive transfer');
  if (conc && one && naive1) {
    const cpu = conc.ours.nodeCpu + conc.ours.pgCpu;
    const ncpu = conc.naive ? conc.naive.nodeCpu + conc.naive.pgCpu : NaN;
    const stmts = one.order.filter((x) => !/^(begin|commit)$/.test(x));
    out.push(`- **Single transfers are CPU-bound, not round-trip-bound.** One execute() makes ${one.roundTrips.toFixed(0)} round trips ` +
      `(BEGIN, ${stmts.length} statements: ${stmts.join('; ')}; COMMIT), the naive transaction ${naive1.roundTrips.toFixed(0)} (BEGIN, 2 UPDATEs, INSERT, COMMIT). With ${c0} clients a transfer costs ` +
      `${fmtMs(cpu)} ms of CPU (Node ${fmtMs(conc.ours.nodeCpu)} + PostgreSQL ${fmtMs(conc.ours.pgCpu)}), the naive one ${fmtMs(ncpu)} ms. Two cores give ` +
      `2,000 CPU-ms per second, so the ceiling is about ${fmtRate(2000 / cpu)} transfers/s on an otherwise idle machine (naive: ${fmtRate(2000 / ncpu)}/s); ` +
      `2,000/s needs at most 1.0 ms per transfer, client and server together. Measured: ${fmtRate(conc.ours.rate)}/s (naive ${fmtRate(conc.naive?.rate ?? NaN)}/s) ` +
      'on cores shared with other work.');
  }
  const ex1 = explains.filter((e) => e.operation === 'execute(1 transfer)');
  if (ex1.length) {
    const plan = ex1.reduce((a, e) => a + e.planningMs, 0);
    const exec = ex1.reduce((a, e) => a + e.executionMs, 0);
    const fk = ex1.reduce((a, e) => a + e.triggerMs, 0);
    const prepared = protoRows.find((r) => r.backend === pgName && r.scenario === 'single transfer, concurrent' && r.clients === c0)?.prepared;
    out.push(`- **PostgreSQL plans every statement on every call.** Kysely's queries go out as unnamed statements, so each call is parsed and planned ` +
      `again: for one transfer, ${fmtMs(plan)} ms planning against ${fmtMs(exec)} ms execution (of which ${fmtMs(fk)} ms in ${ex1.reduce((a, e) => a + e.triggerCalls, 0)} foreign-key checks). ` +
      (prepared && conc ? `Sending them as named prepared statements (simulated) gave ${fmtRate(prepared.rate)}/s at p99 ${fmtMs(prepared.p99)} ms with ${c0} clients (current ${fmtRate(conc.ours.rate)}/s, ${fmtRatio(prepared.rate / conc.ours.rate)}).` : ''));
  }
  const b10 = prof('execute(10,000 transfers)');
  const p10 = prof('prototype execute(10,000 transfers)');
  const exB = explains.filter((e) => e.operation === 'execute(10,000 transfers)' && e.statement.startsWith('CTE[insert'));
  if (b10 && exB.length) {
    const writes = b10.statements.filter((x) => x.label.startsWith('CTE[insert'));
    const chunks = writes.reduce((a, x) => a + x.perCall, 0);
    const wallPerChunk = writes.reduce((a, x) => a + x.ms, 0) / Math.max(1, chunks);
    const e = exB[0]!;
    out.push(`- **Batches.** execute() with 10,000 transfers took ${fmtMs(b10.totalMs)} ms: ${fmtMs(b10.totalMs - b10.dbMs)} ms in Node ` +
      `(engine, hashing, building ${chunks.toFixed(0)} write statement over one array per column) and ${fmtMs(b10.dbMs)} ms waiting on PostgreSQL, ` +
      `whose planning (${fmtMs(e.planningMs)} ms) and execution (${fmtMs(e.executionMs)} ms, of which ${fmtMs(e.triggerMs)} ms in ${e.triggerCalls} ` +
      `foreign-key checks, ${(e.triggerCalls / 10_000).toFixed(0)} per transfer) account for most of it; the rest is sending and binding the arrays.` +
      (p10 ? ` The bench-only prototype did the same 10,000 in ${fmtMs(p10.totalMs)} ms (${fmtRate(10_000 / (p10.totalMs / 1000))} transfers/s).` : ''));
  }
  const exP = explains.find((e) => e.operation === 'prototype execute(10,000 transfers)' && e.statement.startsWith('CTE[insert'));
  if (exP) {
    out.push(`- **Foreign-key checks are the largest cost left in a batch write.** In the prototype's 10,000-transfer write, ${fmtMs(exP.triggerMs)} ms of ` +
      `${fmtMs(exP.executionMs)} ms execution are ${exP.triggerCalls} foreign-key checks (7 per transfer: transfers→accounts ×2, transfers.pending_id, ` +
      'entries→transfers and entries→accounts for each of the 2 entries).');
  }
  const hot = row('hot account', c0);
  if (hot && one) {
    out.push(`- **A hot account serialises on its row lock**, held from the locking statement to COMMIT: ${fmtRate(hot.ours.rate)}/s at p99 ${fmtMs(hot.ours.p99)} ms ` +
      `with ${c0} clients (naive, which holds it for one UPDATE, one INSERT and COMMIT: ${fmtRate(hot.naive?.rate ?? NaN)}/s). Each statement between the ` +
      'lock and COMMIT (and the commit flush) adds to the time every other payer of that account waits.');
  }
  const esc1 = escrowDetail.get(`${pgName}:1`);
  const escC = escrowDetail.get(`${pgName}:${c0}`);
  const pc = prof('escrow.create');
  const pr = prof('escrow.act(release)');
  if (esc1 && pc && pr) {
    out.push(`- **Escrow**: create ${fmtMs(esc1.c50)}/${fmtMs(esc1.c99)} ms and release ${fmtMs(esc1.r50)}/${fmtMs(esc1.r99)} ms (p50/p99) sequentially, ` +
      `${pc.roundTrips.toFixed(0)} + ${pr.roundTrips.toFixed(0)} round trips.` +
      (escC ? ` With ${c0} concurrent escrows, release p50 is ${fmtMs(escC.r50)} ms against create ${fmtMs(escC.c50)} ms: every release credits the one platform ` +
        'fee account (SYSTEM_ACCOUNTS.fees), a hot account as above.' : ''));
  }
  const naiveDeadlocks = rows.filter((r) => r.backend === pgName && (r.naive?.retries ?? 0) > 0);
  if (naiveDeadlocks.length) {
    out.push(`- The naive baseline updates the two balances in argument order and deadlocked ${naiveDeadlocks.reduce((a, r) => a + r.naive!.retries, 0)} times ` +
      `(each waits deadlock_timeout, 1 s, before PostgreSQL aborts it); the ledger, which locks in sorted order, ${rows.filter((r) => r.backend === pgName).reduce((a, r) => a + r.ours.retries, 0)} times.`);
  }
  return out;
}

const PROPOSALS = [
  'In LedgerService.executeIn (src/modules/ledger/ledger.service.ts) and src/platform/db/database.ts. Measured below: 1 and 3 together as the Prototype, 2 as Prepared.',
  '',
  '1. **Write batches as one statement over arrays.** Build the write CTE from `unnest($1::uuid[], $2::text[], ...)`, one array per column, ' +
    'instead of multi-row VALUES with one parameter per cell. The statement text and its two dozen parameters no longer grow with the batch: no 1,000-transfer ' +
    'chunking, no 65,535-parameter ceiling, no ~28,000-placeholder text for Kysely to compile and PostgreSQL to parse and bind per 1,000 ' +
    'transfers (pass bigints as strings to the int8[] arrays). Pending-transfer columns (pending_id, timeout_at) become two more arrays.',
  '2. **Prepared statements on PostgreSQL.** node-postgres prepares a statement when the query has a `name`; Kysely never sets one, so every ' +
    'statement is parsed and planned on every call. A `pg.Pool({ Client })` subclass in database.ts whose `query(text, values)` adds ' +
    '`name: hash(text)` for texts under a few KB (bounded per connection) has every fixed-shape ledger statement parsed once per connection and its plan cached. Caveat: named ' +
    'statements need session pooling (or PgBouncer >= 1.21 with max_prepared_statements) if a pooler is ever put in front.',
  '3. **One locking statement.** The account locks and the transfer-id advisory locks only lock, so they can be one statement (a one-time filter ' +
    'keeps the current order: every account, then the buckets), which saves a round trip on every call, inside the window in which the payer\'s ' +
    'row is locked. The lookup of earlier outcomes must stay a separate statement after the locks (it needs a snapshot taken after them).',
  '4. **The platform fee account is a hot row.** Every escrow release locks and credits SYSTEM_ACCOUNTS.fees, so concurrent releases queue on ' +
    'one row lock. Spreading fee credits over a few fee accounts (for example fees:0..15 by escrow id, summed for reporting) removes the queue.',
  '5. **Foreign keys on ledger_entries.** 4 of the 7 foreign-key checks per transfer are entries→transfers and entries→accounts; entries are ' +
    'written only by executeIn, in the same statement as their transfer, and audit() verifies them. Dropping those two constraints would cut the ' +
    'largest remaining cost of batch writes; it trades a database-enforced invariant for a checked one, so it is the owner\'s call.',
];

function ledgerSourceState(): string {
  try {
    const st = execSync('git status --porcelain -- src/modules/ledger src/platform/db', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return st ? ` Uncommitted changes under src/modules/ledger or src/platform/db at run time: ${st.split('\n').map((l) => l.trim().split(/\s+/).pop()).join(', ')} (measured as they were).` : '';
  } catch {
    return '';
  }
}

function report(totalS: number, pgVersion: string | undefined): { stdout: string; doc: string } {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const head = `${runStamp()}${ledgerSourceState()} BENCH_SCALE=${SCALE}, ${AGENTS} funded wallets, ${ROUNDS} interleaved rounds per scenario, ` +
    `total ${totalS.toFixed(0)} s. PGlite in memory; ${pgVersion ? `PostgreSQL ${pgVersion} on the same machine (synchronous_commit=on), a private schema per run` : 'PostgreSQL not reachable, skipped'}. ` +
    `Load average ${load(startLoad)} at the start and ${load(os.loadavg())} at the end (above ~1 the 2 cores were shared with other work, ` +
    'and the numbers are pessimistic); results vary by some 20% from run to run.';
  const what = [
    'What runs: LedgerService.execute with one posted transfer between random wallets (sequential, and with concurrent closed-loop clients: 16 and 32 on ' +
      'PostgreSQL; PGlite serialises transactions); a hot account (every client pays from one wallet); execute() with 1,000 and 10,000 transfers; ' +
      'EscrowService.create then act(id, \'release\', payer). The naive baseline runs in the same process on the same database: one transaction per transfer of ' +
      '`UPDATE balances SET balance = balance - x WHERE id = a; UPDATE ... + x WHERE id = b; INSERT INTO transfers ...` on plain tables (for batches, a loop of ' +
      'those transactions; for escrow, debit payer + insert escrow row, then lock the escrow row + credit payee and fee account + two transfer rows). ' +
      'The ledger audit passes after every run.',
  ];
  const doc = [
    head, '', ...what, '', ...resultsTable(), '', '### Targets', '', ...targetLines(), '', '### Where the time goes', '', ...findings(), '',
    ...profileTables(), '', '### Proposed changes, measured', '', ...PROPOSALS, '', ...protoTable(),
  ].join('\n');
  const stdout = [head, '', ...resultsTable(), '', ...targetLines(), '', ...findings(), '', ...profileTables(), '', ...protoTable()].join('\n');
  return { stdout, doc };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const profiler = new QueryProfiler();
  profiler.install();
  let pgVersion: string | undefined;
  for (const b of BACKENDS) {
    if (b === 'pglite') await pglite(profiler);
    else if (b === 'postgres') pgVersion = await postgres(profiler);
    else log(`unknown backend ${b} (use pglite, postgres)`);
  }
  const { stdout, doc } = report((performance.now() - t0) / 1000, pgVersion);
  process.stdout.write(`${stdout}\n`);
  if (WRITE_DOC) {
    writeSection('Ledger (bench:ledger)', doc);
    log('wrote the Ledger section of docs/benchmarks.md');
  } else {
    log('docs/benchmarks.md not written (BENCH_SCALE < 1, a subset of backends, or --no-write)');
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
