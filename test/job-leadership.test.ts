/**
 * Background jobs across processes: one leader per `cluster` job through a PostgreSQL advisory lock, held
 * until the leader stops or its session dies; `process` jobs run everywhere. PostgreSQL only (PGlite is one
 * process and leads everything).
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { JOB_LOCK_KEY, PostgresLeadership, soleLeadership } from '../src/platform/jobs/leadership.js';
import { startJobs } from '../src/server.js';
import { createLogger } from '../src/platform/logger.js';
import type { BackgroundJob } from '../src/modules/module.js';

const url = process.env.TEST_DATABASE_URL;
const logger = createLogger('silent');

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A unique job name per run, so parallel runs on one database do not share locks. */
const name = (s: string) => `test.${s}.${process.pid}.${Math.random().toString(36).slice(2)}`;

describe('soleLeadership (PGlite: one process)', () => {
  it('leads every job', async () => {
    const l = soleLeadership();
    expect(await l.lead('a')).toBe(true);
    expect(await l.lead('b')).toBe(true);
    expect([...l.held].sort()).toEqual(['a', 'b']);
  });
});

describe.skipIf(!url)('PostgresLeadership', () => {
  it('gives a job one leader, keeps it with that leader, and hands it over when the leader stops', async () => {
    const x = name('x');
    const y = name('y');
    const a = new PostgresLeadership({ url: url! });
    const b = new PostgresLeadership({ url: url! });
    try {
      expect(await a.lead(x)).toBe(true);
      expect(await b.lead(x)).toBe(false);
      expect(await b.lead(y)).toBe(true);
      expect(await a.lead(y)).toBe(false);
      // the leader stays the leader (its lock is not stacked: one unlock frees it)
      expect(await a.lead(x)).toBe(true);
      expect(await b.lead(x)).toBe(false);
      await a.close();
      expect(await a.lead(x)).toBe(false);
      expect(await b.lead(x)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a leader whose session dies loses its leads at the next call, and another process takes them', async () => {
    const x = name('x');
    const lost: string[][] = [];
    const a = new PostgresLeadership({ url: url!, onLost: (_err, jobs) => lost.push(jobs) });
    const b = new PostgresLeadership({ url: url! });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      expect(await a.lead(x)).toBe(true);
      expect(await b.lead(x)).toBe(false);
      // kill a's session from outside, as a crashed or partitioned process would lose it
      const r = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND ((classid::int8 << 32) | objid::int8) = ${JOB_LOCK_KEY}`, [x]);
      expect(r.rows).toHaveLength(1);
      await admin.query('SELECT pg_terminate_backend($1)', [r.rows[0]!.pid]);
      await until('b to take the lead', () => b.lead(x));
      expect(await a.lead(x)).toBe(false);
      expect(lost.flat()).toContain(x);
      // a comes back with a new session and is a follower now
      expect(await a.lead(x)).toBe(false);
    } finally {
      await admin.end();
      await a.close();
      await b.close();
    }
  });

  it('deployments in two schemas of one database each elect their own leader (advisory locks are per database)', async () => {
    const x = name('x');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const schemas = [`lead_${process.pid}_a`, `lead_${process.pid}_b`];
    const inSchema = (s: string) => { const u = new URL(url!); u.searchParams.set('options', `-c search_path=${s}`); return u.toString(); };
    const made: PostgresLeadership[] = [];
    try {
      for (const s of schemas) await admin.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      const [a1, a2, b1] = [inSchema(schemas[0]!), inSchema(schemas[0]!), inSchema(schemas[1]!)].map((u) => new PostgresLeadership({ url: u }));
      made.push(a1!, a2!, b1!);
      expect(await a1!.lead(x)).toBe(true);
      // the same schema: one leader; another schema: its own leader, not blocked by the first
      expect(await a2!.lead(x)).toBe(false);
      expect(await b1!.lead(x)).toBe(true);
    } finally {
      for (const l of made) await l.close();
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.end();
    }
  });

  it('startJobs in two processes: a cluster job runs in one, a process job in both; the other takes over on stop', async () => {
    const runs = { cluster: [0, 0], process: [0, 0] };
    const clusterName = name('cluster');
    const processName = name('process');
    const appOf = (i: 0 | 1) => ({
      services: {
        jobs: [
          { name: clusterName, intervalMs: 20, run: async () => { runs.cluster[i]!++; } },
          { name: processName, intervalMs: 20, scope: 'process', run: async () => { runs.process[i]!++; } },
        ] satisfies BackgroundJob[],
      },
    }) as unknown as FastifyInstance;
    const stop0 = startJobs(appOf(0), logger, new PostgresLeadership({ url: url! }));
    const stop1 = startJobs(appOf(1), logger, new PostgresLeadership({ url: url! }));
    let stopped0 = false;
    let stopped1 = false;
    try {
      await until('both processes to run the process job, and the cluster job to run 10 times', () =>
        runs.process[0]! > 3 && runs.process[1]! > 3 && runs.cluster[0]! + runs.cluster[1]! >= 10);
      const leader = runs.cluster[0]! > 0 ? 0 : 1;
      expect(runs.cluster[1 - leader]).toBe(0);
      // the leader stops: it gives up its lead, the other process takes over
      if (leader === 0) { await stop0(); stopped0 = true; } else { await stop1(); stopped1 = true; }
      const before = runs.cluster[leader]!;
      await until('the follower to take over the cluster job', () => runs.cluster[1 - leader]! > 3);
      expect(runs.cluster[leader]).toBe(before);
    } finally {
      if (!stopped0) await stop0();
      if (!stopped1) await stop1();
    }
  });
});
