/**
 * Risk management over HTTP: interventions (hold, freeze, circuit breaker) and their lifting, the review
 * queue with decisions, appeals and the audit log, spend mandates refusing payments by name, detection
 * of a wash ring from real trades (alerted once, acted on by the policy). On PostgreSQL (TEST_DATABASE_URL):
 * concurrent payments against one mandate never exceed it; a hold taken while an agreement settles leaves
 * the money settled or in escrow, never lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type Json, type TestAgent, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); }, 60_000);
afterAll(async () => { await t?.close(); });

const price = '2';
async function pending(buyer: TestAgent, seller: TestAgent, listingId: string, quantity = 5): Promise<Json> {
  return t.agreement(buyer, seller, listingId, { pricePerUnit: price, quantity });
}
async function outboxTypes(agentId: string): Promise<{ type: string; data: Json }[]> {
  const rows = await t.db.database.db.selectFrom('outbox_events').select(['type', 'data', 'agent_ids']).orderBy('seq').execute();
  return rows.filter((r) => (r.agent_ids as string[]).includes(agentId)).map((r) => ({ type: r.type, data: r.data as Json }));
}

describe('interventions', () => {
  it('a hold keeps a settlement in escrow (buyer, auto-release and escrow API alike) until lifted; money is conserved', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('100');
    const listing = await t.listing(seller);
    const a = await t.agreement(buyer, seller, listing.id, { pricePerUnit: price, quantity: 5, fund: true, reviewWindowSeconds: 60 });
    expect((await t.post(`/v1/agreements/${a.id}/deliver`, seller.auth, {})).statusCode).toBe(200);
    const feesBefore = await t.feesCollected();
    const hold = await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: seller.id, reason: 'review' });
    expect(hold.statusCode).toBe(201);
    expect(await t.app.services.risk.isHeld(seller.id)).toBe(true);
    const c = await t.post(`/v1/agreements/${a.id}/confirm`, buyer.auth, {});
    expect(c.statusCode).toBe(409);
    expect(problem(c).code).toBe('risk_restricted');
    // the review window passes: neither the trading timer nor the escrow's own timer releases it
    t.clock.advance(120_000);
    await t.runTimers();
    await t.app.services.escrow.runDue();
    const g = await t.get(`/v1/agreements/${a.id}`, buyer.auth);
    expect(g.json().state).toBe('delivered');
    expect(await t.balance(seller)).toBe('0');
    expect(await t.balance(buyer)).toBe('90');
    const lift = await t.del(`/v1/admin/risk/interventions/${hold.json().id}`, t.admin);
    expect(lift.statusCode).toBe(200);
    expect(lift.json().liftedAt).not.toBeNull();
    expect((await t.del(`/v1/admin/risk/interventions/${hold.json().id}`, t.admin)).statusCode).toBe(409);
    await t.runTimers();
    expect((await t.get(`/v1/agreements/${a.id}`, buyer.auth)).json().state).toBe('settled');
    const fees = (await t.feesCollected()) - feesBefore;
    expect(BigInt(Math.round(Number(await t.balance(seller)) * 1e8)) + fees).toBe(10n * 10n ** 8n);
    const audit = (await t.get(`/v1/admin/risk/audit`, t.admin)).json().data.map((e: Json) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['intervention.created', 'intervention.lifted']));
  });

  it('a frozen listing and a paused cell refuse new agreements (409, nothing changes); lifted, they are accepted', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('100');
    const listing = await t.listing(seller);
    for (const [kind, target] of [['freeze_listing', listing.id], ['pause_cell', `${listing.category}|${listing.region}`]] as const) {
      const iv = await t.post('/v1/admin/risk/interventions', t.admin, { kind, target, reason: 'test', expiresAt: t.iso(3_600_000) });
      expect(iv.statusCode).toBe(201);
      const n = await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, offer: { pricePerUnit: price, quantity: 1, settlementType: 'escrow' } });
      const acc = await t.post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
      expect(acc.statusCode).toBe(409);
      expect(problem(acc).code).toBe('risk_restricted');
      expect((await t.get(`/v1/negotiations/${n.json().id}`, buyer.auth)).json().state).not.toBe('accepted');
      const ind = (await t.get('/v1/risk/indicators')).json();
      if (kind === 'pause_cell') expect(ind.pausedCells).toContain(target);
      await t.del(`/v1/admin/risk/interventions/${iv.json().id}`, t.admin);
    }
    expect((await pending(buyer, seller, listing.id, 1)).state).toBe('pending_funding');
  });

  it('an expired intervention is no longer in force; bad targets are 400', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: seller.id, reason: 'short', expiresAt: t.iso(60_000) });
    expect(await t.app.services.risk.isHeld(seller.id)).toBe(true);
    t.clock.advance(61_000);
    expect(await t.app.services.risk.isHeld(seller.id)).toBe(false);
    const bad = await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'pause_cell', target: 'nocell', reason: 'x' });
    expect(bad.statusCode).toBe(400);
    const past = await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: seller.id, reason: 'x', expiresAt: t.iso(-1000) });
    expect(past.statusCode).toBe(400);
    const agent = await t.post('/v1/admin/risk/interventions', seller.auth, { kind: 'hold_settlements', target: seller.id, reason: 'x' });
    expect(agent.statusCode).toBe(403);
  });
});

describe('spend mandates', () => {
  it('refuse a payment by the limit it breaks, count what was paid, and announce near and reached limits', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller);
    const put = await t.app.inject({ method: 'PUT', url: `/v1/agents/${buyer.id}/mandate`, headers: buyer.auth, payload: { perDay: '25', perTrade: '10', categories: ['gpu_compute'] } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ perDay: '25', perTrade: '10', spentToday: '0' });
    // 6 x 2 = 12 > perTrade 10
    const big = await pending(buyer, seller, listing.id, 6);
    const r = await t.post(`/v1/agreements/${big.id}/fund`, buyer.auth);
    expect(r.statusCode).toBe(409);
    expect(problem(r).code).toBe('mandate_exceeded');
    expect((problem(r) as Json).limit).toBe('perTrade');
    expect(await t.balance(buyer)).toBe('1000');
    expect((await t.get(`/v1/agreements/${big.id}`, buyer.auth)).json().state).toBe('pending_funding');
    const paid: string[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await pending(buyer, seller, listing.id, 5); // 10 each
      const f = await t.post(`/v1/agreements/${a.id}/fund`, buyer.auth);
      if (i < 2) { expect(f.statusCode).toBe(200); paid.push(a.id); } else {
        expect(f.statusCode).toBe(409);
        expect((problem(f) as Json).limit).toBe('perDay');
      }
    }
    expect(await t.balance(buyer)).toBe('980');
    const g = await t.get(`/v1/agents/${buyer.id}/mandate`, buyer.auth);
    expect(g.json().spentToday).toBe('20');
    expect((await t.get(`/v1/agents/${buyer.id}/mandate`, seller.auth)).statusCode).toBe(403);
    await new Promise((res) => setTimeout(res, 50));
    const types = (await outboxTypes(buyer.id)).map((e) => e.type);
    expect(types).toContain('mandate.near_limit');
    expect(types).toContain('mandate.limit_reached');
    // a new day: the budget is fresh
    t.clock.advance(86_400_000);
    const a = await pending(buyer, seller, listing.id, 5);
    expect((await t.post(`/v1/agents/${buyer.id}/mandate`, buyer.auth)).statusCode).toBe(404);
    expect((await t.post(`/v1/agreements/${a.id}/fund`, buyer.auth)).statusCode).toBe(200);
  });

  it('maxOpenAgreements, minSellerTrust and expiry are enforced; another agent cannot set it; unknown agents are 404', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller);
    const put = (payload: Json, who = buyer.auth, id = buyer.id) => t.app.inject({ method: 'PUT', url: `/v1/agents/${id}/mandate`, headers: who, payload });
    expect((await put({ maxOpenAgreements: 1 })).statusCode).toBe(200);
    const a1 = await pending(buyer, seller, listing.id, 1);
    const a2 = await pending(buyer, seller, listing.id, 1);
    expect((await t.post(`/v1/agreements/${a1.id}/fund`, buyer.auth)).statusCode).toBe(200);
    const f2 = await t.post(`/v1/agreements/${a2.id}/fund`, buyer.auth);
    expect((problem(f2) as Json).limit).toBe('maxOpenAgreements');
    expect((await put({ minSellerTrust: 1000 })).statusCode).toBe(200);
    expect((problem(await t.post(`/v1/agreements/${a2.id}/fund`, buyer.auth)) as Json).limit).toBe('minSellerTrust');
    expect((await put({ expiresAt: t.iso(1000) })).statusCode).toBe(200);
    t.clock.advance(2000);
    expect((problem(await t.post(`/v1/agreements/${a2.id}/fund`, buyer.auth)) as Json).limit).toBe('expiresAt');
    expect((await put({ perDay: '1' }, seller.auth)).statusCode).toBe(403);
    expect((await put({ perDay: '1' }, t.admin, '0190a1b2-0000-7000-8000-000000000000')).statusCode).toBe(404);
  });
});

describe('detection and review', () => {
  it('a wash ring trading the same amount around is alerted once, held by policy, decided, appealed once', async () => {
    const w = [await t.fundedBuyer('500', { type: 'both' }), await t.fundedBuyer('500', { type: 'both' }), await t.fundedBuyer('500', { type: 'both' })];
    const listings = [];
    for (const a of w) listings.push(await t.listing(a));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        const buyer = w[i]!, seller = w[(i + 1) % 3]!;
        const a = await t.agreement(buyer, seller, listings[(i + 1) % 3]!.id, { pricePerUnit: price, quantity: 5, fund: true });
        await t.settle(a, buyer, seller);
        t.clock.advance(60_000);
      }
    }
    const risk = t.app.services.risk;
    await risk.sync();
    await risk.sync();
    const ids = w.map((a) => a.id).sort();
    const list = (await t.get('/v1/admin/risk/alerts?kind=wash', t.admin)).json().data;
    const mine = list.filter((a: Json) => JSON.stringify(a.agents) === JSON.stringify(ids));
    expect(mine).toHaveLength(1);
    expect(mine[0].evidence.figures.loopTrades).toBeGreaterThanOrEqual(2);
    for (const a of w) expect(await risk.isHeld(a.id)).toBe(true);
    const detail = (await t.get(`/v1/admin/risk/alerts/${mine[0].id}`, t.admin)).json();
    expect(detail.interventions.map((i: Json) => i.kind).sort()).toEqual(['discount_evidence', 'discount_evidence', 'discount_evidence', 'hold_settlements', 'hold_settlements', 'hold_settlements']);
    // the agent sees the outcome, not the evidence; an open alert cannot be appealed
    const own = (await t.get('/v1/risk/alerts', w[0]!.auth)).json().data.find((a: Json) => a.id === mine[0].id);
    expect(own).toMatchObject({ kind: 'wash', status: 'open', canAppeal: false });
    expect(own.evidence).toBeUndefined();
    expect((await t.post(`/v1/risk/alerts/${mine[0].id}/appeal`, w[0]!.auth, { reason: 'we are real' })).statusCode).toBe(409);
    expect((await t.get('/v1/admin/risk/alerts', w[0]!.auth)).statusCode).toBe(403);
    const conf = await t.post(`/v1/admin/risk/alerts/${mine[0].id}/decision`, t.admin, { decision: 'confirm', note: 'a ring' });
    expect(conf.json().status).toBe('confirmed');
    expect((await t.post(`/v1/admin/risk/alerts/${mine[0].id}/decision`, t.admin, { decision: 'dismiss' })).statusCode).toBe(409);
    const ap = await t.post(`/v1/risk/alerts/${mine[0].id}/appeal`, w[1]!.auth, { reason: 'we are real' });
    expect(ap.statusCode).toBe(200);
    expect(ap.json().status).toBe('escalated');
    expect((await t.post(`/v1/risk/alerts/${mine[0].id}/appeal`, w[2]!.auth, { reason: 'again' })).statusCode).toBe(409);
    const outsider = await t.newAgent();
    expect((await t.post(`/v1/risk/alerts/${mine[0].id}/appeal`, outsider.auth, { reason: 'x' })).statusCode).toBe(404);
    // on appeal the reviewer dismisses: the holds are lifted
    expect((await t.post(`/v1/admin/risk/alerts/${mine[0].id}/decision`, t.admin, { decision: 'dismiss', note: 'appeal upheld' })).statusCode).toBe(200);
    for (const a of w) expect(await risk.isHeld(a.id)).toBe(false);
    const actions = (await t.get(`/v1/admin/risk/audit?alertId=${mine[0].id}`, t.admin)).json().data.map((e: Json) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['alert.raised', 'alert.confirm', 'alert.appealed', 'alert.dismiss', 'intervention.lifted']));
    // the audit log is append-only
    await expect(t.db.database.db.deleteFrom('risk_audit').execute()).rejects.toThrow(/append-only/);
  }, 120_000);

  it('honest repeat trading (a loyal customer) raises no wash alert', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('500');
    const listing = await t.listing(seller);
    for (let i = 0; i < 5; i++) {
      const a = await t.agreement(buyer, seller, listing.id, { pricePerUnit: price, quantity: 5, fund: true });
      await t.settle(a, buyer, seller);
    }
    await t.app.services.risk.sync();
    const alerts = (await t.get(`/v1/admin/risk/alerts?agentId=${buyer.id}`, t.admin)).json().data;
    expect(alerts.filter((a: Json) => a.kind === 'wash' || a.kind === 'sybil')).toEqual([]);
    // buyers' exposure to one seller is measured (the loyal customer has all its spend with one seller)
    const exp = (await t.get('/v1/risk/indicators')).json().buyerExposure;
    expect(exp.buyers).toBeGreaterThanOrEqual(1);
    expect(exp.over50).toBeGreaterThanOrEqual(1);
    expect(exp.median).toBeGreaterThan(0.5);
  }, 120_000);
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('races (PostgreSQL)', () => {
  it('concurrent payments against one mandate never exceed it', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller);
    await t.app.inject({ method: 'PUT', url: `/v1/agents/${buyer.id}/mandate`, headers: buyer.auth, payload: { perDay: '30' } });
    const agreements = [];
    for (let i = 0; i < 10; i++) agreements.push(await pending(buyer, seller, listing.id, 5)); // 10 each
    const res = await Promise.all(agreements.map((a) => t.post(`/v1/agreements/${a.id}/fund`, buyer.auth)));
    const codes = res.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(3);
    expect(codes.filter((c) => c !== 200 && c !== 409)).toEqual([]);
    expect(await t.balance(buyer)).toBe('970');
    expect((await t.get(`/v1/agents/${buyer.id}/mandate`, buyer.auth)).json().spentToday).toBe('30');
  });

  it('a hold taken while agreements settle leaves each settled or held in escrow, never lost', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller);
    const agreements = [];
    for (let i = 0; i < 6; i++) {
      const a = await t.agreement(buyer, seller, listing.id, { pricePerUnit: price, quantity: 5, fund: true });
      await t.post(`/v1/agreements/${a.id}/deliver`, seller.auth, {});
      agreements.push(a);
    }
    const feesBefore = await t.feesCollected();
    const [hold, ...confirms] = await Promise.all([
      t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: seller.id, reason: 'race' }),
      ...agreements.map((a) => t.post(`/v1/agreements/${a.id}/confirm`, buyer.auth, {})),
    ]);
    expect(hold!.statusCode).toBe(201);
    let settled = 0, held = 0;
    for (const [i, c] of confirms.entries()) {
      const state = (await t.get(`/v1/agreements/${agreements[i]!.id}`, buyer.auth)).json().state;
      if (c.statusCode === 200) { expect(state).toBe('settled'); settled++; } else { expect(problem(c).code).toBe('risk_restricted'); expect(state).toBe('delivered'); held++; }
    }
    expect(settled + held).toBe(6);
    expect(await t.balance(buyer)).toBe('940');
    const escrowed = BigInt(held) * 10n * 10n ** 8n;
    const sellerUnits = BigInt(Math.round(Number(await t.balance(seller)) * 1e8));
    // every unit the buyer paid is with the seller, the fee account or still in escrow
    const fees = (await t.feesCollected()) - feesBefore;
    expect(sellerUnits + escrowed + fees).toBe(60n * 10n ** 8n);
  });
});
