/**
 * Negotiations, the cases that work: by hand with signed offers (the accepted offer is proof of the agreement),
 * delegated on both sides, a manual buyer against a delegated seller, withdrawing, and listing my negotiations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, units, type TestApp } from '../helpers/test-app.js';
import { acceptPayload, offerPayload, signWith } from '../helpers/signing.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

/** A seller that delegates its negotiation (H100 at 2.5, never below 2), and a funded buyer with a request for 10 units. */
async function delegatingSeller(request: Record<string, unknown> = {}) {
  const seller = await t.newAgent({ type: 'provider' });
  const buyer = await t.fundedBuyer();
  const listing = await t.listing(seller, {
    spec: { gpuModel: 'H100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2.5', sla: { availability: 0.999, maxLatencyMs: 50 },
    negotiation: { strategy: 'balanced', reservationPrice: '2' },
  });
  const r = await t.tradeRequest(buyer, request);
  return { seller, buyer, listing, request: r };
}

describe('negotiations', () => {
  it('by hand with signed offers: the accepted offer and its acceptance are the agreement\'s proof', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const a100 = await t.listing(seller, { spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', region: 'us-east', capacity: 50 });
    const request = await t.tradeRequest(buyer);
    const id = randomUUID();
    const sla = { availability: 0.99, maxLatencyMs: 200 };
    const open = { pricePerUnit: '1.6', quantity: 10, sla };
    const r = await t.post('/v1/negotiations', buyer.auth, {
      id, listingId: a100.id, requestId: request.id, maxRounds: 6,
      offer: { pricePerUnit: '1.6', sla, signature: signWith(buyer.key, offerPayload(id, 0, buyer.id, open)) },
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ status: 'open', turn: 'seller', roundsLeft: 5, delegated: { buyer: false, seller: false } });
    expect(r.json().offers[0].terms).toMatchObject({ pricePerUnit: '1.6', quantity: 10 });

    const counter = { pricePerUnit: '1.9', quantity: 10, sla };
    const goodSig = signWith(seller.key, offerPayload(id, 1, seller.id, counter));
    const ok = await t.post(`/v1/negotiations/${id}/offers`, seller.auth, { pricePerUnit: '1.9', signature: goodSig });
    expect(ok.statusCode, ok.body).toBe(200);

    const accSig = signWith(buyer.key, acceptPayload(id, 1, buyer.id, offerPayload(id, 1, seller.id, counter)));
    const acc = await t.post(`/v1/negotiations/${id}/accept`, buyer.auth, { signature: accSig });
    expect(acc.statusCode, acc.body).toBe(200);
    const { negotiation, agreement } = acc.json();
    expect(negotiation).toMatchObject({ status: 'agreed', acceptedSeq: 1, endedBy: 'buyer' });
    expect(agreement).toMatchObject({ state: 'pending_funding', amount: '19', terms: { pricePerUnit: '1.9', quantity: 10 } });
    expect(agreement.proof.offer.signature).toBe(goodSig);
    expect(agreement.proof.accept.signature).toBe(accSig);
    // capacity reserved, request agreed (not fulfilled before it settles)
    expect((await t.get(`/v1/listings/${a100.id}`, buyer.auth)).json().capacity).toEqual({ model: 'concurrent', total: 50, reserved: 10, consumed: 0, available: 40 });
    expect((await t.get(`/v1/trade-requests/${request.id}`, buyer.auth)).json()).toMatchObject({ state: 'agreed', agreementId: agreement.id });
  });

  it('delegated on both sides: the service agrees within both reservation prices', async () => {
    const { buyer, listing, request } = await delegatingSeller();
    const n = await t.post('/v1/negotiations', buyer.auth, {
      listingId: listing.id, requestId: request.id, maxRounds: 8,
      delegate: { strategy: 'cooperative', targetPrice: '1.8', reservationPrice: '2.4' },
    });
    expect(n.statusCode, n.body).toBe(201);
    const neg = n.json();
    expect(neg.status).toBe('agreed');
    expect(neg.delegated).toEqual({ buyer: true, seller: true });
    expect(neg.offers.every((o: { delegated: boolean }) => o.delegated)).toBe(true);
    const agreed = units(neg.offers[neg.acceptedSeq].terms.pricePerUnit);
    expect(agreed >= units('2') && agreed <= units('2.4')).toBe(true);
    const a = (await t.get(`/v1/agreements/${neg.agreementId}`, buyer.auth)).json();
    expect(a.state).toBe('pending_funding');
    expect(units(a.amount)).toBe(agreed * 10n);
    const before = units(await t.balance(buyer));
    expect((await t.post(`/v1/agreements/${a.id}/fund`, buyer.auth)).statusCode).toBe(200);
    expect(units(await t.balance(buyer))).toBe(before - agreed * 10n);
    expect((await t.get(`/v1/listings/${listing.id}`, buyer.auth)).json().capacity.reserved).toBe(10);
  });

  it('a manual buyer against a delegated seller: the service counters, never below the reservation, and accepts a good enough offer', async () => {
    const { buyer, listing, request } = await delegatingSeller({ deadline: t.iso(10 * 3600_000), quantity: 2 });
    const n = await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, requestId: request.id, reviewWindowSeconds: 600, offer: { pricePerUnit: '1.5' } });
    expect(n.statusCode, n.body).toBe(201);
    const v = n.json();
    expect(v.offers).toHaveLength(2);
    expect(v.offers[1]).toMatchObject({ by: 'seller', delegated: true });
    const counter = units(v.offers[1].terms.pricePerUnit);
    expect(counter < units('2.5') && counter >= units('2')).toBe(true);
    expect(v.turn).toBe('buyer');
    // an offer below the seller's reservation gets another counter, never below 2
    const low = (await t.post(`/v1/negotiations/${v.id}/offers`, buyer.auth, { pricePerUnit: '1.9' })).json();
    expect(low.status).toBe('open');
    expect(units(low.offers[3].terms.pricePerUnit) >= units('2')).toBe(true);
    // an offer at least as good as its next counter is accepted at once
    const good = (await t.post(`/v1/negotiations/${v.id}/offers`, buyer.auth, { pricePerUnit: '2.45' })).json();
    expect(good).toMatchObject({ status: 'agreed', endedBy: 'seller', acceptedSeq: 4 });
    const a = (await t.get(`/v1/agreements/${good.agreementId}`, buyer.auth)).json();
    expect(a).toMatchObject({ amount: '4.9', reviewWindowSeconds: 600 });
  });

  it('the buyer withdraws, with a reason', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const l = await t.listing(seller, { pricePerUnit: '2' });
    const n = (await t.post('/v1/negotiations', buyer.auth, { listingId: l.id, offer: { pricePerUnit: '1', quantity: 1 } })).json();
    const w = await t.post(`/v1/negotiations/${n.id}/withdraw`, buyer.auth, { reason: 'too expensive' });
    expect(w.statusCode, w.body).toBe(200);
    expect(w.json()).toMatchObject({ status: 'withdrawn', endReason: 'too expensive' });
  });

  it('lists my negotiations by status, with their offers', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const l = await t.listing(seller, { pricePerUnit: '2' });
    const agreed = [await t.agreement(buyer, seller, l.id, { quantity: 1 }), await t.agreement(buyer, seller, l.id, { quantity: 1 })];
    const open = (await t.post('/v1/negotiations', buyer.auth, { listingId: l.id, offer: { pricePerUnit: '1', quantity: 1 } })).json();
    const negs = (await t.get('/v1/negotiations?status=agreed', seller.auth)).json();
    expect(negs.data).toHaveLength(2);
    expect(negs.data.map((n: { agreementId: string }) => n.agreementId).sort()).toEqual(agreed.map((a) => a.id).sort());
    expect(negs.data[0].offers).toHaveLength(1);
    expect((await t.get('/v1/negotiations?status=open', seller.auth)).json().data.map((n: { id: string }) => n.id)).toEqual([open.id]);
  });
});
