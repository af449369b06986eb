/**
 * Badges awarded from a seeded trade history (real trades through the API) and partnership programs:
 * apply, the operator's decisions, who may see the terms, and the revenue shares an active partnership
 * yields for settlement (the rewards module's SplitSource).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, DAY, type Json, type TestAgent, type TestApp } from './helpers/test-app.js';
import { uuidv7 } from '../src/platform/ids.js';

let t: TestApp;

beforeAll(async () => { t = await buildTestApp(); }, 120_000);
afterAll(async () => t.close());

async function sell(s: TestAgent, listingId: string) {
  const b = await t.fundedBuyer('100');
  const a = await t.agreement(b, s, listingId, { quantity: 1, fund: true });
  expect((await t.post(`/v1/agreements/${a.id}/deliver`, s.auth, {})).statusCode).toBe(200);
  expect((await t.post(`/v1/agreements/${a.id}/confirm`, b.auth, { measurements: { accuracy: 1 } })).statusCode).toBe(200);
}

describe('badges', () => {
  it('are awarded by the job from the record, each with what earned it and when, once', async () => {
    const s = await t.newAgent({ type: 'provider' });
    const listing = await t.listing(s, { capacity: 1000 });
    expect((await t.get(`/v1/agents/${s.id}/badges`)).json().badges).toEqual([]);
    const first = t.clock.now().toISOString();
    await sell(s, listing.id);
    // one sale a day for six more days: a 7-day streak
    for (let d = 1; d < 7; d++) {
      t.clock.advance(DAY);
      await sell(s, listing.id);
    }
    const run = await t.app.services.certification.badges.award();
    expect(run.awarded).toBeGreaterThanOrEqual(2);
    const b = (await t.get(`/v1/agents/${s.id}/badges`)).json();
    const by = new Map<string, Json>(b.badges.map((x: Json) => [x.badge, x]));
    expect([...by.keys()].sort()).toEqual(['first_trade', 'streak_7d']);
    expect(by.get('first_trade')).toMatchObject({ earnedAt: first, title: 'First trade' });
    expect(by.get('first_trade')!.because).toContain('first successful sale');
    expect(by.get('streak_7d')!.earnedAt).toBe(t.clock.now().toISOString());
    // the stream announced each once; a second run awards nothing
    expect((await t.app.services.certification.badges.award()).awarded).toBe(0);
    const ev = await sql<{ type: string; data: Json }>`SELECT type, data FROM outbox_events WHERE type = 'badge.earned' AND ${s.id} = ANY(agent_ids)`.execute(t.db.database.db);
    expect(ev.rows.map((r) => r.data.badge).sort()).toEqual(['first_trade', 'streak_7d']);
    // the profile shows them
    const p = (await t.get(`/v1/agents/${s.id}/profile`)).json();
    expect(p.certification.badges.map((x: Json) => x.badge).sort()).toEqual(['first_trade', 'streak_7d']);
    expect((await t.get(`/v1/agents/${uuidv7()}/badges`)).statusCode).toBe(404);
  }, 120_000);

  it('the job starts from its stored marker (a restart or a new leader), not from a marker held in memory', async () => {
    const s = await t.newAgent({ type: 'provider' });
    const listing = await t.listing(s, { capacity: 1000 });
    await sell(s, listing.id);
    const before = t.clock.now().getTime();
    expect((await t.app.services.certification.badges.award()).agents).toBeGreaterThanOrEqual(1);
    const marker = async () => (await sql<{ marker: Date }>`SELECT marker FROM certification_job_markers WHERE job = 'certification.badges'`.execute(t.db.database.db)).rows[0]?.marker;
    // stored: the run's start less a minute of overlap
    expect((await marker())!.getTime()).toBe(before - 60_000);
    // the job reads only what is after the stored marker: moved past a new sale, the job does not see it
    t.clock.advance(DAY);
    const other = await t.newAgent({ type: 'provider' });
    await sell(other, (await t.listing(other, { capacity: 1000 })).id);
    await sql`UPDATE certification_job_markers SET marker = ${new Date(t.clock.now().getTime() + DAY)}`.execute(t.db.database.db);
    expect(await t.app.services.certification.badges.award()).toEqual({ agents: 0, awarded: 0 });
    // from a marker before the sale it awards the new seller's badge, once, and nothing again for the first
    await sql`UPDATE certification_job_markers SET marker = ${new Date(before)}`.execute(t.db.database.db);
    const run = await t.app.services.certification.badges.award();
    expect(run.awarded).toBe(1);
    expect((await t.get(`/v1/agents/${other.id}/badges`)).json().badges.map((x: Json) => x.badge)).toEqual(['first_trade']);
    expect((await t.app.services.certification.badges.award()).awarded).toBe(0);
  }, 120_000);
});

describe('partnerships', () => {
  let seller: TestAgent;
  let partner: TestAgent;
  let stranger: TestAgent;
  beforeAll(async () => {
    seller = await t.newAgent({ type: 'provider' });
    partner = await t.newAgent();
    stranger = await t.newAgent();
  });
  const shares = () => t.app.services.certification.partnerships.sharesFor({ sellerId: seller.id });

  it('apply, approve, suspend, resume, end: shares only while active', async () => {
    const r = await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'reseller', partnerId: partner.id, revenueShareBps: 1500, terms: { description: 'EU resale' } });
    expect(r.statusCode, r.body).toBe(201);
    const p = r.json();
    expect(p).toMatchObject({ status: 'pending', revenueShareBps: 1500, partnerId: partner.id });
    expect(await shares()).toEqual([]);
    // the parties and the operator see it, nobody else
    expect((await t.get(`/v1/partnerships/${p.id}`, partner.auth)).statusCode).toBe(200);
    expect((await t.get(`/v1/partnerships/${p.id}`, stranger.auth)).statusCode).toBe(403);
    expect((await t.get(`/v1/partnerships/${p.id}`)).statusCode).toBe(401);
    // the operator decides; an agent may not
    expect((await t.post(`/v1/admin/partnerships/${p.id}/approve`, seller.auth, {})).statusCode).toBe(403);
    const ok = await t.post(`/v1/admin/partnerships/${p.id}/approve`, t.admin, { reason: 'checked' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await shares()).toEqual([{ agentId: partner.id, bps: 1500, reason: `partnership ${p.id} (reseller)` }]);
    expect((await t.post(`/v1/admin/partnerships/${p.id}/approve`, t.admin, {})).statusCode).toBe(409);
    expect((await t.post(`/v1/admin/partnerships/${p.id}/suspend`, t.admin, { reason: 'late reports' })).json().status).toBe('suspended');
    expect(await shares()).toEqual([]);
    expect((await t.post(`/v1/admin/partnerships/${p.id}/resume`, t.admin, {})).json().status).toBe('active');
    expect(await shares()).toHaveLength(1);
    const ended = (await t.post(`/v1/admin/partnerships/${p.id}/end`, t.admin, {})).json();
    expect(ended.status).toBe('ended');
    expect(ended.history.map((h: Json) => h.action)).toEqual(['applied', 'approve', 'suspend', 'resume', 'end']);
    expect(await shares()).toEqual([]);
    expect((await t.post(`/v1/admin/partnerships/${p.id}/resume`, t.admin, {})).statusCode).toBe(409);
  });

  it('a seller\'s active shares are capped together; bad applications are 400/403/404 and store nothing', async () => {
    const a = (await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'affiliate', partnerId: partner.id, revenueShareBps: 4000, terms: { description: 'a' } })).json();
    const b = (await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'affiliate', partnerId: stranger.id, revenueShareBps: 2000, terms: { description: 'b' } })).json();
    expect((await t.post(`/v1/admin/partnerships/${a.id}/approve`, t.admin, {})).statusCode).toBe(200);
    const over = await t.post(`/v1/admin/partnerships/${b.id}/approve`, t.admin, {});
    expect(over.statusCode).toBe(409);
    expect(over.json().detail).toContain('6000 bps');
    expect((await t.get(`/v1/partnerships/${b.id}`, t.admin)).json().status).toBe('pending');
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM certification_partnerships`.execute(t.db.database.db)).rows[0]!.n);
    const before = await count();
    expect((await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'reseller', terms: { description: 'x' } })).statusCode).toBe(400);
    expect((await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'technology', partnerId: seller.id, terms: { description: 'x' } })).statusCode).toBe(400);
    expect((await t.post('/v1/partnerships', stranger.auth, { agentId: seller.id, program: 'technology', terms: { description: 'x' } })).statusCode).toBe(403);
    expect((await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'service', partnerId: uuidv7(), revenueShareBps: 10, terms: { description: 'x' } })).statusCode).toBe(404);
    expect((await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'service', revenueShareBps: 9000, terms: { description: 'x' } })).statusCode).toBe(400);
    expect(await count()).toBe(before);
    // a technology partnership without a partner and share is fine
    expect((await t.post('/v1/partnerships', seller.auth, { agentId: seller.id, program: 'technology', terms: { description: 'SDK integration' } })).statusCode).toBe(201);
  });
});
