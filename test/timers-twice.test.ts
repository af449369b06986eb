/**
 * The window leadership does not close (issue 19): a leader whose PostgreSQL session died keeps running its
 * job until its next tick notices, while another process already leads it. So the timer jobs must do each
 * due item once even when two processes run them at the same moment. Two app instances over one database
 * (on PostgreSQL each with its own pool, as two processes; on PGlite one database, the one process it
 * allows) run `trading.timers` and `escrow.timers` several times at once over agreements that are due:
 * delivered past their review window (auto-release), funded past their delivery deadline (refund) and
 * unfunded past it (cancel). Each is settled, refunded or cancelled exactly once: one release leg or one
 * refund leg per escrow, one agreement event, and the ledger audit is clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { createLogger } from '../src/platform/logger.js';
import type { FastifyInstance } from 'fastify';
import { ADMIN_KEY, buildTestApp, HOUR, units, type Json, type TestApp } from './helpers/test-app.js';

const DELIVERED = 8;
const UNDELIVERED = 4;
const UNFUNDED = 4;

describe('timer jobs run by two processes at once do each due item once', () => {
  let t: TestApp;
  let second: FastifyInstance;
  let secondDb: Database | undefined;
  beforeAll(async () => {
    t = await buildTestApp();
    // a second process: its own pool on PostgreSQL; PGlite has one connection, so the same database
    secondDb = t.db.url ? await createDatabase({ url: t.db.url, poolSize: 4 }) : undefined;
    second = await buildApp({
      config: loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database: secondDb ?? t.db.database,
      clock: t.clock, logger: createLogger('silent'), adminKey: ADMIN_KEY,
    });
    await second.ready();
  });
  afterAll(async () => {
    await second?.close();
    await secondDb?.close();
    await t?.close();
  });

  it('auto-releases, refunds and cancels each agreement once', async () => {
    // two sellers: a new seller's tier allows 10 open agreements
    const sellers = [await t.newAgent({ type: 'provider' }), await t.newAgent({ type: 'provider' })];
    const listings = await Promise.all(sellers.map((s) => t.listing(s, { capacity: 1000 })));
    const buyer = await t.fundedBuyer('10000');
    const deadline = t.iso(2 * HOUR);
    const make = async (fund: boolean, i: 0 | 1) => t.agreement(buyer, sellers[i]!, listings[i]!.id, { quantity: 1, reviewWindowSeconds: 60, deliveryDeadline: deadline, fund });
    const seller = sellers[0]!;
    const delivered = [];
    for (let i = 0; i < DELIVERED; i++) {
      const a = await make(true, 0);
      const d = await t.post(`/v1/agreements/${a.id}/deliver`, seller.auth, { usage: 1 });
      expect(d.statusCode).toBe(200);
      delivered.push(a);
    }
    const undelivered = [];
    for (let i = 0; i < UNDELIVERED; i++) undelivered.push(await make(true, 1));
    const unfunded = [];
    for (let i = 0; i < UNFUNDED; i++) unfunded.push(await make(false, 1));
    t.clock.advance(3 * HOUR); // past every review window and delivery deadline

    const jobs = (app: FastifyInstance) => app.services.jobs.filter((j) => j.name === 'trading.timers' || j.name === 'escrow.timers');
    expect(jobs(t.app)).toHaveLength(2);
    const runs = await Promise.allSettled([0, 1, 2].flatMap(() => [...jobs(t.app), ...jobs(second)].map((j) => j.run())));
    // a run that lost a race may skip an item, never fail the job
    expect(runs.map((r, i) => r.status === 'rejected' ? `${i % 4} ${String((r.reason as Error).message)}` : null).filter(Boolean)).toEqual([]);
    // and what the first runs left (none expected) is picked up by a later tick
    await t.runTimers();

    const db = t.db.database.db;
    const rows = await sql<{ id: string; state: string; release: string; refund: string; events: string }>`
      SELECT g.id, g.state,
        (SELECT count(*) FROM ledger_transfers x WHERE x.code = 'escrow_release' AND x.reference = 'escrow:' || g.escrow_id) AS release,
        (SELECT count(*) FROM ledger_transfers x WHERE x.code = 'escrow_refund' AND x.reference = 'escrow:' || g.escrow_id) AS refund,
        (SELECT count(*) FROM outbox_events o WHERE o.type IN ('agreement.settled', 'agreement.refunded', 'agreement.cancelled') AND o.data->>'agreementId' = g.id::text) AS events
      FROM agreements g`.execute(db);
    const of = (list: Json[]) => rows.rows.filter((r) => list.some((a) => a.id === r.id))
      .map((r) => ({ state: r.state, release: Number(r.release), refund: Number(r.refund), events: Number(r.events) }));
    expect(of(delivered)).toEqual(delivered.map(() => ({ state: 'settled', release: 1, refund: 0, events: 1 })));
    expect(of(undelivered)).toEqual(undelivered.map(() => ({ state: 'refunded', release: 0, refund: 1, events: 1 })));
    expect(of(unfunded)).toEqual(unfunded.map(() => ({ state: 'cancelled', release: 0, refund: 0, events: 1 })));
    const audit = await t.get('/v1/admin/ledger/audit', t.admin);
    expect(audit.json()).toMatchObject({ ok: true, violations: [] });
    // the buyer got every refund back and paid every release once
    const paid = delivered.reduce((s, a) => s + units(a.amount), 0n);
    expect(units((await t.get(`/v1/agents/${buyer.id}/balance`, t.admin)).json().balance)).toBe(units('10000') - paid);
  });
});
