/**
 * bench:api — mixed read/write HTTP load on the real server (a child process, as in production) on
 * PGlite and on PostgreSQL, beside a bare Fastify server answering a constant on the same machine in
 * the same run: our ratio to the machine's HTTP limit.
 *
 * Mix per connection, repeated: 4 reads of an agent, 2 balance reads, 1 profile read, 3 payments
 * (POST /v1/transfers with a fresh id) between random agents. autocannon drives it from this process.
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32), BENCH_DATABASE_URL (a PostgreSQL
 * database in which a private schema is created and dropped; default postgres://ae:ae@127.0.0.1:5432/ae_bench;
 * skipped when unreachable).
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runStamp, writeSection } from './lib/report.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://ae:ae@127.0.0.1:5432/ae_bench';
const SCHEMA = `apibench_${process.pid}`;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const AGENTS = 50;

interface Row { name: string; rps: number; p50: number; p99: number; errors: number; non2xx: number }

function waitReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (child.exitCode !== null) return reject(new Error(`server exited with ${child.exitCode}`));
      try {
        const r = await fetch(url);
        if (r.ok) return resolve();
      } catch { /* not yet */ }
      if (Date.now() - started > timeoutMs) return reject(new Error(`not ready after ${timeoutMs} ms`));
      setTimeout(tick, 100);
    };
    void tick();
  });
}

function startBare(port: number): ChildProcess {
  const code = `
    const app = require('fastify')({ logger: false });
    app.get('/', async () => ({ ok: true }));
    app.listen({ port: ${port}, host: '127.0.0.1' });`;
  return spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
}

function startServer(port: number, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_KEY, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

function load(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

const row = (name: string, r: autocannon.Result): Row => ({
  name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx,
});

async function seed(base: string): Promise<Array<{ id: string; key: string }>> {
  const agents: Array<{ id: string; key: string }> = [];
  for (let i = 0; i < AGENTS; i++) {
    const r = await fetch(`${base}/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: `bench-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] }),
    });
    const body = await r.json() as { agent: { id: string }; apiKey: string };
    agents.push({ id: body.agent.id, key: body.apiKey });
    await fetch(`${base}/v1/admin/mint`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ agentId: body.agent.id, amount: '1000000' }),
    });
  }
  return agents;
}

function mixed(base: string, agents: Array<{ id: string; key: string }>): autocannon.Options {
  let n = 0;
  const pick = () => agents[Math.floor(Math.random() * agents.length)]!;
  const read = (url: (a: { id: string }) => string) => ({
    method: 'GET' as const,
    setupRequest: (req: autocannon.Request) => {
      const a = pick();
      return { ...req, path: url(a), headers: { authorization: `Bearer ${a.key}` } };
    },
  });
  const pay = {
    method: 'POST' as const,
    setupRequest: (req: autocannon.Request) => {
      const a = pick();
      let b = pick();
      while (b.id === a.id) b = pick();
      n++;
      return {
        ...req, path: '/v1/transfers',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: randomUUID(), to: b.id, amount: `0.${String(1 + (n % 9))}` }),
      };
    },
  };
  const agentRead = read((a) => `/v1/agents/${a.id}`);
  const balanceRead = read((a) => `/v1/agents/${a.id}/balance`);
  const profileRead = read((a) => `/v1/agents/${a.id}/profile`);
  return {
    url: base, connections: CONNECTIONS, duration: DURATION,
    requests: [agentRead, pay, agentRead, balanceRead, pay, agentRead, profileRead, agentRead, pay, balanceRead],
  };
}

async function benchServer(label: string, port: number, env: Record<string, string>): Promise<Row[]> {
  const child = startServer(port, env);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}/readyz`, child, 120_000);
    const agents = await seed(base);
    const out: Row[] = [];
    out.push(row(`${label}: GET /healthz (framework + middleware)`, await load({ url: `${base}/healthz`, connections: CONNECTIONS, duration: DURATION })));
    out.push(row(`${label}: GET /v1/agents/{id} (read)`, await load({
      ...mixed(base, agents), requests: [mixed(base, agents).requests![0]!],
    })));
    out.push(row(`${label}: POST /v1/transfers (write)`, await load({
      ...mixed(base, agents), requests: [mixed(base, agents).requests![1]!],
    })));
    out.push(row(`${label}: mixed 70% read / 30% write`, await load(mixed(base, agents))));
    const audit = await (await fetch(`${base}/v1/admin/ledger/audit`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json() as { ok: boolean; transfers: number };
    if (!audit.ok) throw new Error(`ledger audit failed after ${label} load`);
    console.error(`${label}: ledger audit ok after ${audit.transfers} transfers`);
    return out;
  } finally {
    await stop(child);
  }
}

/** A private schema in the benchmark database; the server reaches it through search_path. */
async function freshPgSchema(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
  } catch (err) {
    console.error(`PostgreSQL unreachable at ${PG_URL} (${(err as Error).message}); skipping the PostgreSQL runs`);
    return undefined;
  }
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await c.end();
    },
  };
}

async function main() {
  const rows: Row[] = [];
  const bare = startBare(18100);
  try {
    await waitReady('http://127.0.0.1:18100/', bare);
    rows.push(row('baseline: bare Fastify, constant JSON', await load({ url: 'http://127.0.0.1:18100/', connections: CONNECTIONS, duration: DURATION })));
  } finally {
    await stop(bare);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ae-bench-api-'));
  try {
    rows.push(...await benchServer('PGlite', 18101, { DATA_DIR: dataDir, DATABASE_URL: '' }));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const pgSchema = await freshPgSchema();
  if (pgSchema) {
    try {
      rows.push(...await benchServer('PostgreSQL', 18102, { DATABASE_URL: pgSchema.url, DB_POOL_SIZE: '20' }));
    } finally {
      await pgSchema.drop();
    }
  }

  const limit = rows[0]!.rps;
  const table = [
    '| Workload | req/s | p50 ms | p99 ms | vs bare Fastify | errors / non-2xx |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} | ${r.p99} | ${(r.rps / limit).toFixed(2)}x | ${r.errors} / ${r.non2xx} |`),
  ].join('\n');
  console.log(table);
  writeSection('API (bench:api)', `${runStamp()} ${CONNECTIONS} connections, ${DURATION} s per workload, autocannon in the benchmark
process, each server in its own process, all on the same machine. The baseline is a bare Fastify server
answering a constant: the machine's HTTP limit. Writes are real payments through the ledger (each a
transaction locking two accounts); the ledger audit is checked after each server's run.

${table}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
