/**
 * Agreements, the cases that work: funding, delivery, confirmation with exact balances and fees; a refund on a
 * missed deadline; release after the review window; immediate and milestone settlement; a dispute resolved
 * with a split; an escrow moved directly; and listing my agreements. Each trade records its outcome as
 * reputation evidence (the real one, read back from the evidence log).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, DAY, HOUR, problem, units, type TestAgent, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
// Some tests count what the timers did: leave nothing of a test pending for the next.
afterEach(async () => { t.clock.advance(365 * DAY); await t.runTimers(); });
afterAll(async () => { await t?.close(); });

describe('an escrow agreement', () => {
  it('funds, delivers, confirms: the seller is paid minus the fee, exactly', async () => {
    const { seller, buyer, listing, agreement } = await t.tradeToAgreement({ pricePerUnit: '1.9', quantity: 10, listing: { pricePerUnit: '2', capacity: 50, sla: { availability: 0.99, maxLatencyMs: 200 } } });
    const fees0 = await t.feesCollected();
    const f = await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth);
    expect(f.statusCode, f.body).toBe(200);
    expect(f.json().state).toBe('funded');
    expect(await t.balance(buyer)).toBe('981');
    const d = await t.post(`/v1/agreements/${agreement.id}/deliver`, seller.auth, { usage: 10, latencyMs: 120, availability: 0.995 });
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json()).toMatchObject({ state: 'delivered', delivery: { usage: 10, latencyMs: 120 } });
    const c = await t.post(`/v1/agreements/${agreement.id}/confirm`, buyer.auth);
    expect(c.statusCode, c.body).toBe(200);
    expect(c.json()).toMatchObject({ state: 'settled', released: '19' });
    // 2.5 % fee on 19 = 0.475
    expect(await t.balance(seller)).toBe('18.525');
    expect(await t.balance(buyer)).toBe('981');
    expect((await t.feesCollected()) - fees0).toBe(47_500_000n);
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(0);
    expect(await t.tradeEvidence(agreement.id)).toEqual({
      subjectId: seller.id, producerId: buyer.id, data: expect.objectContaining({ success: true, amount: '1900000000', latencyMs: 120, slaMet: true }),
    });
    const full = (await t.get(`/v1/agreements/${agreement.id}`, seller.auth)).json();
    expect(full.escrow).toMatchObject({ state: 'released', fees: '0.475' });
    expect(full.events.map((e: { action: string }) => e.action)).toEqual(['create', 'fund', 'deliver', 'confirm']);
  });

  it('refunds the buyer when nothing is delivered by the deadline', async () => {
    const { seller, buyer, listing, agreement } = await t.tradeToAgreement({ pricePerUnit: '2.2', request: { deadline: t.iso(2 * HOUR) } });
    const before = await t.balance(buyer);
    expect((await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth)).statusCode).toBe(200);
    expect(units(await t.balance(buyer))).toBe(units(before) - units('22'));
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(10);
    t.clock.advance(3 * HOUR);
    const late = await t.post(`/v1/agreements/${agreement.id}/deliver`, seller.auth);
    expect(late.statusCode).toBe(409);
    expect(problem(late).code).toBe('invalid_transition');
    const timers = await t.runTimers();
    expect(timers.refunded).toBe(1);
    const after = (await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json();
    expect(after.state).toBe('refunded');
    expect(after.escrow.state).toBe('expired');
    expect(await t.balance(buyer)).toBe(before);
    expect(await t.balance(seller)).toBe('0');
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(0);
    expect(await t.tradeEvidence(agreement.id)).toEqual({ subjectId: seller.id, producerId: buyer.id, data: expect.objectContaining({ success: false, amount: '0' }) });
  });

  it('an agreement not funded within the funding window is cancelled and its listing units return', async () => {
    const { buyer, listing, agreement } = await t.tradeToAgreement({ pricePerUnit: '2', request: { deadline: t.iso(2 * DAY) } });
    // 15 minutes (FUNDING_WINDOW_SECONDS' default), not the delivery deadline two days away
    expect(Date.parse(agreement.fundingDeadline) - t.clock.now().getTime()).toBe(15 * 60_000);
    expect(Date.parse(agreement.deliveryDeadline)).toBeGreaterThan(Date.parse(agreement.fundingDeadline));
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(10);
    const before = await t.balance(buyer);
    t.clock.advance(15 * 60_000 - 1);
    expect((await t.runTimers()).cancelled).toBe(0);
    t.clock.advance(1);
    // at the deadline funding is refused, even before the timers have run, and nothing moves
    const late = await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth);
    expect(late.statusCode).toBe(409);
    expect(problem(late)).toMatchObject({ code: 'invalid_transition', detail: expect.stringContaining('funding deadline') });
    expect(await t.balance(buyer)).toBe(before);
    expect((await t.runTimers()).cancelled).toBe(1);
    expect((await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json().state).toBe('cancelled');
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(0);
  });

  it('the funding window is configurable and never runs past the delivery deadline', async () => {
    const wide = await buildTestApp({ fundingWindowSeconds: 6 * 3600 });
    try {
      const a = await wide.tradeToAgreement({ pricePerUnit: '2', request: { deadline: wide.iso(2 * DAY) } });
      expect(Date.parse(a.agreement.fundingDeadline) - wide.clock.now().getTime()).toBe(6 * HOUR);
      const b = await wide.tradeToAgreement({ pricePerUnit: '2', request: { deadline: wide.iso(2 * HOUR) } });
      expect(b.agreement.fundingDeadline).toBe(b.agreement.deliveryDeadline);
    } finally {
      await wide.close();
    }
  }, 120_000); // a second app: its own database and migrations

  it('pays out by itself after the review window once delivered; the evidence says whether the SLA was met', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({
      pricePerUnit: '2.45', quantity: 2, reviewWindowSeconds: 600, request: { deadline: t.iso(10 * HOUR) },
      listing: { sla: { availability: 0.999, maxLatencyMs: 50 } },
    });
    expect(agreement).toMatchObject({ amount: '4.9', reviewWindowSeconds: 600 });
    const seller0 = units(await t.balance(seller));
    expect((await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth)).statusCode).toBe(200);
    expect((await t.post(`/v1/agreements/${agreement.id}/deliver`, seller.auth, { latencyMs: 80 })).statusCode).toBe(200);
    t.clock.advance(9 * 60_000);
    expect((await t.runTimers()).settled).toBe(0);
    t.clock.advance(2 * 60_000);
    expect((await t.runTimers()).settled).toBe(1);
    const done = (await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json();
    expect(done).toMatchObject({ state: 'settled', released: '4.9', escrow: { state: 'released', fees: '0.1225' } });
    expect(units(await t.balance(seller)) - seller0).toBe(units('4.7775'));
    // measured 80 ms against a promised 50 ms: the evidence says the SLA was missed
    expect((await t.tradeEvidence(agreement.id))?.data).toMatchObject({ success: true, latencyMs: 80, slaMet: false });
  });

  it('follows its escrow when the escrow is moved directly (reconciled by the timers)', async () => {
    const { buyer, agreement } = await t.tradeToAgreement({ quantity: 1, pricePerUnit: '2', fund: true });
    const rel = await t.post(`/v1/escrows/${agreement.escrowId}/release`, buyer.auth, {});
    expect(rel.statusCode, rel.body).toBe(200);
    const timers = await t.runTimers();
    expect(timers.settled).toBe(1);
    expect((await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json()).toMatchObject({ state: 'settled', released: '2' });
    expect((await t.tradeEvidence(agreement.id))?.data).toMatchObject({ success: true, amount: '200000000' });
  });
});

describe('settlement types', () => {
  async function agree(settlementType: 'immediate' | 'milestone', quantity: number) {
    const { seller, buyer, listing, agreement } = await t.tradeToAgreement({ settlementType, quantity, pricePerUnit: '2', request: { deadline: t.iso(8 * HOUR) } });
    return { seller, buyer, listing, a: agreement as { id: string; amount: string } };
  }

  it('immediate: funding pays the seller at once (minus the fee) and ends the agreement', async () => {
    const { seller, buyer, listing, a } = await agree('immediate', 3);
    const seller0 = units(await t.balance(seller));
    const buyer0 = units(await t.balance(buyer));
    const f = await t.post(`/v1/agreements/${a.id}/fund`, buyer.auth);
    expect(f.statusCode, f.body).toBe(200);
    expect(f.json()).toMatchObject({ state: 'settled', released: '6' });
    expect(buyer0 - units(await t.balance(buyer))).toBe(units('6'));
    expect(units(await t.balance(seller)) - seller0).toBe(units('5.85'));
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(0);
    expect((await t.tradeEvidence(a.id))?.data).toMatchObject({ success: true, amount: '600000000' });
  });

  it('milestone: the buyer releases in parts; the last part settles', async () => {
    const { seller, buyer, a } = await agree('milestone', 4);
    const seller0 = units(await t.balance(seller));
    expect((await t.post(`/v1/agreements/${a.id}/fund`, buyer.auth)).json().state).toBe('funded');
    const m1 = await t.post(`/v1/agreements/${a.id}/confirm`, buyer.auth, { amount: '2', note: 'first half' });
    expect(m1.statusCode, m1.body).toBe(200);
    expect(m1.json()).toMatchObject({ state: 'funded', released: '2' });
    expect(units(await t.balance(seller)) - seller0).toBe(units('1.95'));
    expect((await t.post(`/v1/agreements/${a.id}/deliver`, seller.auth, { usage: 4 })).json().state).toBe('delivered');
    const last = await t.post(`/v1/agreements/${a.id}/confirm`, buyer.auth, {});
    expect(last.json()).toMatchObject({ state: 'settled', released: '8' });
    expect(units(await t.balance(seller)) - seller0).toBe(units('7.8'));
    const events = (await t.get(`/v1/agreements/${a.id}`, buyer.auth)).json().events.map((e: { action: string }) => e.action);
    expect(events).toEqual(['create', 'fund', 'release_part', 'deliver', 'confirm']);
  });
});

describe('a dispute resolved with a split', () => {
  it('either party disputes; the operator splits; both get their part and the outcome is evidence', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const listing = await t.listing(seller, { pricePerUnit: '2', capacity: 50 });
    const history = async (a: TestAgent) => (await t.get(`/v1/agents/${a.id}/profile`, a.auth)).json().economicHistory as { successRate: number | null; transactionCount: number; disputes: { opened: number; won: number; lost: number } };
    // one settled trade first: the seller's success rate then says what the split did to it
    await t.settle(await t.agreement(buyer, seller, listing.id, { quantity: 1, fund: true }), buyer, seller, { usage: 1 });
    const r = await t.tradeRequest(buyer, { deadline: t.iso(4 * HOUR), quantity: 5 });
    const id = (await t.agreement(buyer, seller, listing.id, { requestId: r.id, quantity: 5, pricePerUnit: '2' })).id;
    const buyer0 = units(await t.balance(buyer));
    const seller0 = units(await t.balance(seller));
    expect((await t.post(`/v1/agreements/${id}/fund`, buyer.auth)).statusCode).toBe(200);
    expect((await t.post(`/v1/agreements/${id}/deliver`, seller.auth, { usage: 5 })).statusCode).toBe(200);
    const before = await history(buyer);
    expect(before.disputes).toEqual({ opened: 0, won: 0, lost: 0 });
    const d = await t.post(`/v1/agreements/${id}/dispute`, buyer.auth, { reason: 'half the hours were unusable', evidence: { failedJobs: 12 } });
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json()).toMatchObject({ state: 'disputed', dispute: { filedBy: buyer.id, reason: 'half the hours were unusable' } });
    const res = await t.post(`/v1/agreements/${id}/resolve`, t.admin, { outcome: 'split', sellerAmount: '4', note: 'half delivered' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ state: 'resolved', resolution: { outcome: 'split', toSeller: '4', toBuyer: '6' } }); // AITBC, like every amount
    // seller: 4 minus 2.5 % = 3.9; buyer: 10 paid, 6 back
    expect(units(await t.balance(seller)) - seller0).toBe(390_000_000n);
    expect(buyer0 - units(await t.balance(buyer))).toBe(400_000_000n);
    // the dispute's outcome is evidence for both sides: a split is neither won nor lost
    expect(await t.disputeEvidence(id)).toEqual([seller.id, buyer.id].sort().map((subjectId) => ({
      subjectId, producerId: buyer.id, data: { outcome: 'settled', resolution: 'split', filedBy: buyer.id },
    })));
    // The profile's trade record comes from the agreements: one more dispute opened, a split is neither won nor lost.
    const after = await history(buyer);
    expect(after.disputes).toEqual({ opened: before.disputes.opened + 1, won: before.disputes.won, lost: before.disputes.lost });
    // two finished trades of which one settled in full
    const sellerHistory = await history(seller);
    expect(sellerHistory).toMatchObject({ transactionCount: 2, successRate: 0.5 });
    // the seller delivered: as a trade it succeeded, for what was paid
    expect((await t.tradeEvidence(id))?.data).toMatchObject({ success: true, amount: '400000000' });
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(0);
    const audit = await t.get('/v1/admin/ledger/audit', t.admin);
    expect(audit.json()).toMatchObject({ ok: true, violations: [] });
  });
});

describe('my agreements', () => {
  it('are listed, paginated and by state', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const listing = await t.listing(seller, { pricePerUnit: '2' });
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await t.agreement(buyer, seller, listing.id, { quantity: 1, fund: true }));
    for (const a of made.slice(0, 2)) await t.settle(a, buyer, seller, { usage: 1 });
    const mine = (await t.get('/v1/agreements?role=seller&limit=2', seller.auth)).json();
    expect(mine.data).toHaveLength(2);
    expect(mine.data.every((a: { sellerId: string }) => a.sellerId === seller.id)).toBe(true);
    const next = (await t.get(`/v1/agreements?role=seller&limit=2&cursor=${mine.nextCursor}`, seller.auth)).json();
    expect(next.data).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    expect(next.data.map((a: { id: string }) => a.id)).not.toContain(mine.data[0].id);
    expect([...mine.data, ...next.data].map((a: { id: string }) => a.id).sort()).toEqual(made.map((a) => a.id).sort());
    expect((await t.get('/v1/agreements?role=buyer', seller.auth)).json().data).toEqual([]);
    const settled = (await t.get('/v1/agreements?state=settled', buyer.auth)).json();
    expect(settled.data.map((a: { id: string }) => a.id).sort()).toEqual(made.slice(0, 2).map((a) => a.id).sort());
  });
});
