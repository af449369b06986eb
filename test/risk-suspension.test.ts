/**
 * A suspended agent finishes what it agreed (deliver, confirm, its payout for delivered work) but starts
 * nothing new: listings, requests, negotiations, payments, escrows, withdrawals and ratings are 409
 * risk_restricted; lifted, they work again. Money is conserved throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type Json, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); }, 60_000);
afterAll(async () => { await t?.close(); });

describe('suspension', () => {
  it('refuses new business and money out, lets open agreements finish and pays delivered work; lifting restores it', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('100');
    const other = await t.newAgent({ type: 'provider' });
    const listing = await t.listing(seller);
    const a = await t.agreement(buyer, seller, listing.id, { pricePerUnit: '2', quantity: 5, fund: true });
    const feesBefore = await t.feesCollected();
    const iv = await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'suspend_agent', target: seller.id, reason: 'suspected spoofing' });
    expect(iv.statusCode).toBe(201);
    const buyerSusp = await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'suspend_agent', target: buyer.id, reason: 'review' });
    expect(buyerSusp.statusCode).toBe(201);

    // new business and money out are refused, with the intervention named
    const refused = [
      await t.post('/v1/listings', seller.auth, { category: 'gpu_compute', spec: { gpuModel: 'A100', vramGb: 80 }, unit: 'gpu_hour', pricePerUnit: '1', capacity: 1, region: 'eu-west', sla: { availability: 0.99, maxLatencyMs: 200 }, validUntil: '2030-01-01T00:00:00Z' }),
      await t.post('/v1/transfers', buyer.auth, { id: crypto.randomUUID(), to: other.id, amount: '1' }),
      await t.post('/v1/escrows', buyer.auth, { payee: other.id, amount: '1', reviewWindowSeconds: 3600 }),
      await t.post('/v1/withdrawals', buyer.auth, { amount: '1', destination: 'x' }),
      await t.post('/v1/trade-requests', buyer.auth, { category: 'gpu_compute', spec: {}, quantity: 1, budget: { max: '3' }, deadline: t.iso(3_600_000) }),
      await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, offer: { pricePerUnit: '2', quantity: 1, settlementType: 'escrow' } }),
      await t.post('/v1/ratings', buyer.auth, { agreementId: a.id, stars: 5 }),
    ];
    for (const r of refused) {
      expect(r.statusCode).toBe(409);
      expect(problem(r).code).toBe('risk_restricted');
      expect((problem(r) as Json).restriction).toBe('suspend_agent');
    }
    expect(await t.balance(buyer)).toBe('90');

    // the open agreement finishes: the seller delivers, the buyer confirms, the seller is paid
    expect((await t.post(`/v1/agreements/${a.id}/deliver`, seller.auth, {})).statusCode).toBe(200);
    expect((await t.post(`/v1/agreements/${a.id}/confirm`, buyer.auth, {})).statusCode).toBe(200);
    const fees = (await t.feesCollected()) - feesBefore;
    expect(BigInt(Math.round(Number(await t.balance(seller)) * 1e8)) + fees).toBe(10n * 10n ** 8n);
    // reads still work
    expect((await t.get(`/v1/agents/${buyer.id}/balance`, buyer.auth)).statusCode).toBe(200);

    // lifted: a payment goes through again
    expect((await t.del(`/v1/admin/risk/interventions/${buyerSusp.json().id}`, t.admin)).statusCode).toBe(200);
    const pay = await t.post('/v1/transfers', buyer.auth, { id: crypto.randomUUID(), to: other.id, amount: '1' });
    expect(pay.statusCode).toBe(201);
    expect(await t.balance(buyer)).toBe('89');
    // an agent not suspended is never affected by another's suspension
    expect((await t.post('/v1/transfers', other.auth, { id: crypto.randomUUID(), to: buyer.id, amount: '1' })).statusCode).toBe(201);
  }, 60_000);
});
