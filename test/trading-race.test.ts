/**
 * Trading under concurrency on PostgreSQL (runs only with TEST_DATABASE_URL): many buyers accept (and
 * fund in the same step) at once on a listing with capacity for one, through four app instances with
 * their own pools (as four API processes would). Exactly one agreement, no capacity oversold, and no
 * tokens held for the losers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDatabase, type Database } from '../src/database.js';
import { createLogger } from '../src/platform/logger.js';
import { ADMIN_KEY, buildTestApp, type TestApp } from './helpers/test-app.js';

const BUYERS = 16;
const APPS = 4;

describe.skipIf(!process.env.TEST_DATABASE_URL)('trading races (PostgreSQL)', () => {
  let t: TestApp;
  const apps: FastifyInstance[] = [];
  const dbs: Database[] = [];

  beforeAll(async () => {
    t = await buildTestApp();
    const config = loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' });
    for (let i = 0; i < APPS; i++) {
      const database = await createDatabase({ url: t.db.url!, poolSize: 4 });
      dbs.push(database);
      const app = await buildApp({ config, database, clock: t.clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
      await app.ready();
      apps.push(app);
    }
  });

  afterAll(async () => {
    for (const a of apps) await a.close();
    for (const d of dbs) await d.close();
    await t?.close();
  });

  async function scenario(mode: 'buyers-accept' | 'seller-accepts') {
    const seller = await t.registerAgent();
    const buyers = await Promise.all(Array.from({ length: BUYERS }, () => t.registerAgent()));
    for (const b of buyers) {
      const m = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: b.id, amount: '100' } });
      expect(m.statusCode).toBe(201);
    }
    const l = await t.app.inject({
      method: 'POST', url: '/v1/listings', headers: seller.auth,
      payload: {
        category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80 }, pricePerUnit: '2', capacity: 1, region: 'eu-west',
        sla: { availability: 0.99, maxLatencyMs: 100 }, validUntil: new Date(t.clock.now().getTime() + 86_400_000).toISOString(),
      },
    });
    expect(l.statusCode, l.body).toBe(201);
    const listingId = l.json().id as string;
    // every buyer opens; for buyers-accept the seller counters each, so the buyers hold the last offer to accept
    const negotiations: string[] = [];
    for (const b of buyers) {
      const n = await t.app.inject({ method: 'POST', url: '/v1/negotiations', headers: b.auth, payload: { listingId, offer: { pricePerUnit: '1.5', quantity: 1 } } });
      expect(n.statusCode, n.body).toBe(201);
      negotiations.push(n.json().id);
      if (mode === 'buyers-accept') {
        const c = await t.app.inject({ method: 'POST', url: `/v1/negotiations/${n.json().id}/offers`, headers: seller.auth, payload: { pricePerUnit: '2' } });
        expect(c.statusCode, c.body).toBe(200);
      }
    }
    const results = await Promise.all(negotiations.map((id, i) => apps[i % APPS]!.inject({
      method: 'POST', url: `/v1/negotiations/${id}/accept`,
      headers: mode === 'buyers-accept' ? buyers[i]!.auth : seller.auth,
      payload: mode === 'buyers-accept' ? { fund: true } : {},
    })));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(BUYERS - 1);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().code).toBe('conflict');

    const db = t.db.database.db;
    const agreements = await db.selectFrom('agreements').selectAll().where('listing_id', '=', listingId).execute();
    expect(agreements).toHaveLength(1);
    const listing = await db.selectFrom('trading_listings').selectAll().where('id', '=', listingId).executeTakeFirstOrThrow();
    expect(listing.capacity_reserved).toBe(1);
    const winner = agreements[0]!.buyer_id;
    for (const b of buyers) {
      const bal = (await t.app.inject({ method: 'GET', url: `/v1/agents/${b.id}/balance`, headers: b.auth })).json();
      if (b.id === winner && mode === 'buyers-accept') expect(bal).toMatchObject({ balance: '98', available: '98', held: '0' });
      else expect(bal).toMatchObject({ balance: '100', available: '100', held: '0' });
    }
    const escrows = await db.selectFrom('escrows').select('payer_agent_id').where('payee_agent_id', '=', seller.id).execute();
    expect(escrows.map((e) => e.payer_agent_id)).toEqual(mode === 'buyers-accept' ? [winner] : []);
    // losers' negotiations are still open (they may try again elsewhere); the winner's is agreed
    const open = await db.selectFrom('negotiations').select(['status']).where('listing_id', '=', listingId).execute();
    expect(open.filter((n) => n.status === 'agreed')).toHaveLength(1);
    expect(open.filter((n) => n.status === 'open')).toHaveLength(BUYERS - 1);
    const audit = await t.app.inject({ method: 'GET', url: '/v1/admin/ledger/audit', headers: t.admin });
    expect(audit.json()).toMatchObject({ ok: true, violations: [] });
  }

  it(`${BUYERS} buyers accept and fund at once on a listing with capacity for one`, async () => {
    await scenario('buyers-accept');
  });

  it(`the seller accepts ${BUYERS} offers at once with capacity for one`, async () => {
    await scenario('seller-accepts');
  });
});
