/**
 * One trade end to end against the real app, with the real reputation module (no spy, no stub): a listing, a
 * request and its matches, a negotiation accepted, the escrow funded, delivery, confirmation and a rating.
 * Then the reputation API shows the evidence that trade recorded: the counterparty, the outcome, the amount.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('trading records real reputation evidence', () => {
  it('a settled, rated trade is the seller\'s evidence: counterparty the buyer, a success, for the amount paid', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    // The buyer is one of the operator's probe agents: trust starts from them, so its evidence carries weight
    // (a newcomer's would be recorded too, but discounted as coming from a producer nobody trusts yet).
    const buyer = await t.fundedBuyer('100');
    expect((await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${buyer.id}`, headers: t.admin })).statusCode).toBe(201);
    const listing = await t.listing(seller, { pricePerUnit: '2', capacity: 20, sla: { availability: 0.99, maxLatencyMs: 200 } });
    const request = await t.tradeRequest(buyer, { quantity: 10, budget: { max: '2' } });
    const matches = (await t.get(`/v1/trade-requests/${request.id}/matches`, buyer.auth)).json();
    expect(matches.candidates.map((c: { listingId: string }) => c.listingId)).toEqual([listing.id]);
    const n = await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, requestId: request.id, offer: { pricePerUnit: '1.9', quantity: 10 } });
    expect(n.statusCode, n.body).toBe(201);
    const acc = await t.post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
    expect(acc.statusCode, acc.body).toBe(200);
    const agreement = acc.json().agreement;
    expect(agreement.amount).toBe('19');

    const explainOf = async (id: string, who = t.admin) => (await t.get(`/v1/agents/${id}/reputation/explain`, who)).json();
    // nothing is evidence before the trade ends
    expect((await explainOf(seller.id)).counts).toBeNull();

    expect((await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth)).statusCode).toBe(200);
    const settled = await t.settle(agreement, buyer, seller, { usage: 10, latencyMs: 120, availability: 0.995 });
    expect(settled).toMatchObject({ state: 'settled', released: '19' });
    const rating = await t.post('/v1/ratings', buyer.auth, { tradeId: agreement.id, stars: 4, comment: 'as promised' });
    expect(rating.statusCode, rating.body).toBe(201);

    // the seller's explanation (as the seller sees it, counterparties shown): one trade and one rating, both
    // from this buyer, both counted in full
    const x = await explainOf(seller.id, seller.auth);
    expect(x.counts).toMatchObject({ tradesAsSeller: 1, tradesAsBuyer: 0, ratingsReceived: 1, disputes: 0 });
    expect(x.discounted).toEqual({});
    expect(x.recent).toEqual([
      { at: t.clock.now().toISOString(), type: 'trade', counterparty: buyer.id, weight: expect.any(Number), weightNow: 1, discounts: [] },
      { at: t.clock.now().toISOString(), type: 'rating', counterparty: buyer.id, weight: 1, weightNow: 1, discounts: [] },
    ]);
    const [trade] = x.recent;
    expect(trade.weight).toBeGreaterThan(0);
    const component = (name: string) => x.components.find((c: { name: string }) => c.name === name).channels;
    // the outcome: a success; the amount: the recent-trades window weighs each trade by the AITBC at stake times the
    // buyer's trust (a probe's is full): 19 here
    expect(component('transactions').success).toMatchObject({ mass: trade.weight, mean: 1 });
    expect(component('transactions').recent).toMatchObject({ mass: 19, successRate: 1 });
    // the measured latency (120 ms) is performance evidence of the same weight; 4 stars is (4 - 1) / 4 = 0.75 of the scale
    expect(component('performance').latency.mass).toBe(trade.weight);
    expect(component('community').ratings).toMatchObject({ mass: 1 });
    // the buyer's side: one trade as buyer, one rating given
    expect((await explainOf(buyer.id, buyer.auth)).counts).toMatchObject({ tradesAsSeller: 0, tradesAsBuyer: 1, ratingsGiven: 1 });
    // the published reputation counts both observations
    const rep = (await t.get(`/v1/agents/${seller.id}/reputation`)).json();
    expect(rep).toMatchObject({ observations: 2, performanceRating: { observations: 1 }, communityRating: { observations: 1 } });
    expect(rep.trustScore).toBeGreaterThan(0);
    // and the stored evidence is this trade's, exactly: subject the seller, producer the buyer, success, 19 AITBC, 120 ms, SLA met
    expect(await t.tradeEvidence(agreement.id)).toEqual({
      subjectId: seller.id, producerId: buyer.id,
      data: {
        success: true, amount: '1900000000', category: 'gpu_compute', slaMet: true,
        // the seller claimed 120 ms and the buyer did not contradict it; the buyer's confirmation is its acceptance (accuracy 1)
        latencyMs: 120, accuracy: 1,
        measuredBy: { accuracy: 'buyer', availability: 'seller', latencyMs: 'seller', slaMet: 'platform', unitsDelivered: 'seller' },
        unmeasured: [], disputed: [],
        sellerClaim: { availability: 0.995, latencyMs: 120, usage: 10 },
        buyer: { accepted: true, accuracy: null, latencyMs: null, unitsDelivered: null },
        // the test clock does not move between funding and delivery
        platform: { deadlineMet: true, deliveryMs: 0 },
      },
    });
  });
});
