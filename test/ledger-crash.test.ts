/**
 * Crash safety of the ledger through the real server process: `agent-economy serve` runs under load
 * (client loops paying between agents with client-chosen transfer ids) and is killed with SIGKILL three
 * times and restarted on the same data. Afterwards every transfer whose 201/200 answer a client received
 * is stored, no refused one is, the audit is clean, and every wallet holds exactly its mints plus and
 * minus the transfers that are stored. Requests cut off by a kill are retried with the same id after the
 * restart (a 200 then proves the transfer was committed before the kill). On PGlite (a data directory)
 * always, and on PostgreSQL (a private schema) when TEST_DATABASE_URL is set.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './helpers/net.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { formatAmount, parseAmount } from '../src/platform/money.js';

const ADMIN_KEY = 'crash-test-admin-key-0123456789abcdef';
const ROOT = path.resolve(import.meta.dirname, '..');
const KILLS = 3;
const CLIENTS = 4;
const AGENTS = 6;
const MINT = 1_000n * 100_000_000n; // 1,000 AITBC each

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent { id: string; from: number; to: number; units: bigint; state: 'acked' | 'refused' | 'unknown'; status?: number }

class Server {
  child: ChildProcess | undefined;
  log = '';
  starts = 0;
  startMs: number[] = [];
  constructor(readonly port: number, readonly env: Record<string, string>) {}
  get base() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    this.starts++;
    const t0 = Date.now();
    const env: Record<string, string | undefined> = { ...process.env, ...this.env };
    if (!this.env.DATABASE_URL) delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (b: Buffer) => { this.log = (this.log + b.toString()).slice(-20_000); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} during start ${this.starts}:\n${this.log}`);
      try {
        const res = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) { this.startMs.push(Date.now() - t0); return; }
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`server not ready after 60 s (start ${this.starts}):\n${this.log}`);
      await sleep(100);
    }
  }

  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }
}

const backends = [
  { name: 'PGlite', postgres: false },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'PostgreSQL', postgres: true }] : []),
];

describe.each(backends)('ledger survives SIGKILL under load ($name)', ({ postgres }) => {
  let server: Server | undefined;
  let dataDir: string | undefined;
  let pgSchema: TestDatabase | undefined;

  afterAll(async () => {
    await server?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await pgSchema?.cleanup();
  });

  it(`keeps every acknowledged transfer through ${KILLS} kills, and the books balance`, async () => {
    const started = Date.now();
    dataDir = mkdtempSync(path.join(tmpdir(), 'ae-crash-'));
    const env: Record<string, string> = {
      PORT: String(await freePort()), HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_KEY, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0',
    };
    if (postgres) {
      // a private schema; the server migrates it on start
      pgSchema = await createTestDatabase({ migrate: false, poolSize: 1 });
      env.DATABASE_URL = pgSchema.url!;
      env.DB_POOL_SIZE = '8';
    }
    const srv = new Server(Number(env.PORT), env);
    server = srv;
    await srv.start();
    const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

    // agents, funded by the operator
    const agents: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < AGENTS; i++) {
      const res = await fetch(`${srv.base}/v1/agents`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: `crash-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] }),
      });
      expect(res.status).toBe(201);
      const body = await res.json() as { agent: { id: string }; apiKey: string };
      agents.push({ id: body.agent.id, key: body.apiKey });
      const mint = await fetch(`${srv.base}/v1/admin/mint`, { method: 'POST', headers: admin, body: JSON.stringify({ id: randomUUID(), agentId: body.agent.id, amount: formatAmount(MINT) }) });
      expect(mint.status).toBe(201);
    }

    // load: client loops paying each other; a request cut off by a kill is retried with the same id later
    const sent = new Map<string, Sent>();
    const retry: Sent[] = [];
    const unexpected: string[] = [];
    let stop = false;
    let cutOff = 0;
    const attempt = async (t: Sent): Promise<void> => {
      try {
        const res = await fetch(`${srv.base}/v1/transfers`, {
          method: 'POST', signal: AbortSignal.timeout(10_000),
          headers: { authorization: `Bearer ${agents[t.from]!.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: t.id, to: agents[t.to]!.id, amount: formatAmount(t.units), memo: 'crash-test' }),
        });
        const body = await res.json().catch(() => null) as { id?: string; code?: string } | null;
        if (res.status === 201 || res.status === 200) {
          if (body?.id !== t.id) unexpected.push(`${t.id}: ${res.status} for another id ${body?.id}`);
          t.state = 'acked';
          t.status = res.status;
        } else if (res.status === 422 && body?.code === 'insufficient_funds') {
          t.state = 'refused';
        } else if (res.status >= 500) {
          retry.push(t); // e.g. 503 while the database is starting: unknown, try again
        } else {
          unexpected.push(`${t.id}: ${res.status} ${JSON.stringify(body)}`);
          t.state = 'refused';
        }
      } catch {
        cutOff++;
        retry.push(t); // killed mid-request or not listening: the outcome is unknown
        await sleep(50);
      }
    };
    const loop = async (c: number) => {
      let n = 0;
      while (!stop) {
        const again = retry.shift();
        if (again) { await attempt(again); continue; }
        const from = (c + n) % AGENTS;
        const to = (from + 1 + Math.floor(Math.random() * (AGENTS - 1))) % AGENTS;
        // mostly small payments; now and then more than anyone has (refused)
        const units = n % 25 === 7 ? 5_000n * 100_000_000n : BigInt(1 + Math.floor(Math.random() * 2_000_000_000));
        const t: Sent = { id: randomUUID(), from, to, units, state: 'unknown' };
        sent.set(t.id, t);
        n++;
        await attempt(t);
      }
    };
    const loops = Array.from({ length: CLIENTS }, (_, c) => loop(c));

    for (let k = 0; k < KILLS; k++) {
      await sleep(1_200 + Math.floor(Math.random() * 1_300));
      await srv.kill();
      await sleep(100);
      await srv.start();
    }
    await sleep(1_000);
    stop = true;
    await Promise.all(loops);
    // settle every request whose answer was lost
    while (retry.length) await attempt(retry.shift()!);
    expect(unexpected).toEqual([]);
    const all = [...sent.values()];
    expect(all.filter((t) => t.state === 'unknown')).toEqual([]);
    const acked = all.filter((t) => t.state === 'acked');
    const refused = all.filter((t) => t.state === 'refused');
    expect(acked.length).toBeGreaterThan(50);
    expect(refused.length).toBeGreaterThan(0);

    // every acknowledged transfer is stored, with its fields; no refused one is
    for (const t of acked) {
      const res = await fetch(`${srv.base}/v1/transfers/${t.id}`, { headers: admin });
      expect(res.status, `acknowledged transfer ${t.id}`).toBe(200);
      const body = await res.json() as { amount: string; kind: string; code: string };
      expect(body).toMatchObject({ amount: formatAmount(t.units), kind: 'posted', code: 'payment' });
    }
    for (const t of refused) {
      const res = await fetch(`${srv.base}/v1/transfers/${t.id}`, { headers: admin });
      expect(res.status, `refused transfer ${t.id}`).toBe(404);
    }

    // the audit is clean, and the books balance to the unit
    const audit = await (await fetch(`${srv.base}/v1/admin/ledger/audit`, { headers: admin })).json() as { ok: boolean; violations: string[]; supply: string };
    expect(audit.violations).toEqual([]);
    expect(audit.ok).toBe(true);
    expect(parseAmount(audit.supply)).toBe(MINT * BigInt(AGENTS));
    const expected = agents.map(() => MINT);
    for (const t of acked) {
      expected[t.from]! -= t.units;
      expected[t.to]! += t.units;
    }
    let total = 0n;
    for (let i = 0; i < AGENTS; i++) {
      const res = await fetch(`${srv.base}/v1/agents/${agents[i]!.id}/balance`, { headers: admin });
      expect(res.status).toBe(200);
      const b = await res.json() as { balance: string; held: string };
      expect(parseAmount(b.balance), `agent ${i}`).toBe(expected[i]);
      expect(parseAmount(b.held)).toBe(0n);
      total += parseAmount(b.balance);
    }
    expect(total).toBe(MINT * BigInt(AGENTS));
    expect(srv.starts).toBe(KILLS + 1);
    const replayed = acked.filter((t) => t.status === 200).length;
    // eslint-disable-next-line no-console
    console.log(`crash (${postgres ? 'PostgreSQL' : 'PGlite'}): ${KILLS} kills, ${all.length} transfers sent, ${acked.length} acknowledged ` +
      `(${cutOff} requests failed by a kill or while down and were retried; ${replayed} of them committed before a kill and confirmed by a retry), ${refused.length} refused, starts took ${srv.startMs.join('/')} ms, ${Date.now() - started} ms in all`);
  }, 120_000);
});
