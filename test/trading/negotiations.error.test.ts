/**
 * Negotiations, the moves the protocol refuses: out of turn, after agreement, past the round limit or the
 * deadline, beyond the listing's capacity, and on a paused listing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, DAY, HOUR, problem, type TestApp } from '../helpers/test-app.js';
import { offerPayload, signWith } from '../helpers/signing.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
// The deadline test counts what the timers did: leave nothing of a test pending for the next.
afterEach(async () => { t.clock.advance(365 * DAY); await t.runTimers(); });
afterAll(async () => { await t?.close(); });

async function market(listing: Record<string, unknown> = {}) {
  const seller = await t.newAgent({ type: 'provider' });
  const buyer = await t.fundedBuyer();
  const l = await t.listing(seller, { spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', capacity: 50, ...listing });
  return { seller, buyer, listing: l };
}

describe('negotiations', () => {
  it('refuse a move out of turn, and every move once agreed (409 invalid_transition)', async () => {
    const { seller, buyer, listing } = await market();
    const request = await t.tradeRequest(buyer);
    const id = randomUUID();
    const sla = { availability: 0.99, maxLatencyMs: 200 };
    const n = await t.post('/v1/negotiations', buyer.auth, {
      id, listingId: listing.id, requestId: request.id, maxRounds: 6,
      offer: { pricePerUnit: '1.6', sla, signature: signWith(buyer.key, offerPayload(id, 0, buyer.id, { pricePerUnit: '1.6', quantity: 10, sla })) },
    });
    expect(n.statusCode, n.body).toBe(201);
    // not the buyer's turn
    const early = await t.post(`/v1/negotiations/${id}/offers`, buyer.auth, { pricePerUnit: '1.7' });
    expect(early.statusCode).toBe(409);
    expect(problem(early).code).toBe('invalid_transition');
    expect((await t.post(`/v1/negotiations/${id}/offers`, seller.auth, { pricePerUnit: '1.9' })).statusCode).toBe(200);
    expect((await t.post(`/v1/negotiations/${id}/accept`, buyer.auth)).statusCode).toBe(200);
    // no more moves
    expect(problem(await t.post(`/v1/negotiations/${id}/offers`, seller.auth, { pricePerUnit: '2' })).code).toBe('invalid_transition');
    expect((await t.get(`/v1/negotiations/${id}`, buyer.auth)).json().offers).toHaveLength(2);
  });

  it('end at the round limit', async () => {
    const { seller, buyer, listing } = await market();
    const r = await t.tradeRequest(buyer, { deadline: t.iso(5 * HOUR), quantity: 1 });
    const n = (await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, requestId: r.id, maxRounds: 2, offer: { pricePerUnit: '1' } })).json();
    expect((await t.post(`/v1/negotiations/${n.id}/offers`, seller.auth, { pricePerUnit: '1.9' })).statusCode).toBe(200);
    const over = await t.post(`/v1/negotiations/${n.id}/offers`, buyer.auth, { pricePerUnit: '1.2' });
    expect(over.statusCode).toBe(409);
    expect(problem(over).code).toBe('invalid_transition');
    expect(over.json().reason).toBe('max_rounds');
  });

  it('past their deadline cannot be accepted, and the timers expire them', async () => {
    const { seller, buyer, listing } = await market();
    const r = await t.tradeRequest(buyer, { deadline: t.iso(5 * HOUR), quantity: 1 });
    const n2 = (await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, requestId: r.id, deadline: t.iso(10 * 60_000), offer: { pricePerUnit: '1' } })).json();
    t.clock.advance(11 * 60_000);
    const late = await t.post(`/v1/negotiations/${n2.id}/accept`, seller.auth);
    expect(late.statusCode).toBe(409);
    expect(problem(late).code).toBe('invalid_transition');
    const timers = await t.runTimers();
    expect(timers.negotiations).toBe(1);
    expect((await t.get(`/v1/negotiations/${n2.id}`, buyer.auth)).json().status).toBe('expired');
  });

  it('cannot agree beyond the listing\'s capacity: 400 where an offer can never fit, 409 where it no longer does', async () => {
    // a listing with 3 units; an offer for 5 can never be agreed (400 where it enters); two offers for 2
    // each fit now, but once one is accepted the other's accept is a 409 and its negotiation stays open
    const { seller, buyer, listing: small } = await market({ capacity: 3, sla: { availability: 0.99, maxLatencyMs: 100 } });
    const tooMany = await t.post('/v1/negotiations', buyer.auth, { listingId: small.id, offer: { pricePerUnit: '2', quantity: 5 } });
    expect(tooMany.statusCode).toBe(400);
    expect(problem(tooMany).code).toBe('validation_failed');
    expect(tooMany.json().errors[0]).toMatchObject({ field: 'body.offer.quantity', message: expect.stringContaining('capacity of 3 units') });
    const n3 = (await t.post('/v1/negotiations', buyer.auth, { listingId: small.id, offer: { pricePerUnit: '2', quantity: 2 } })).json();
    const n4 = (await t.post('/v1/negotiations', buyer.auth, { listingId: small.id, offer: { pricePerUnit: '2', quantity: 2 } })).json();
    expect((await t.post(`/v1/negotiations/${n4.id}/accept`, seller.auth)).statusCode).toBe(200);
    const c = await t.post(`/v1/negotiations/${n3.id}/accept`, seller.auth);
    expect(c.statusCode).toBe(409);
    expect(problem(c).code).toBe('conflict');
    expect(c.json().reason).toBe('capacity');
    expect((await t.get(`/v1/negotiations/${n3.id}`, buyer.auth)).json().status).toBe('open');
    // a counter for more than is free now is a 409 at the offer; within what is free it goes through
    const greedy = await t.post(`/v1/negotiations/${n3.id}/offers`, seller.auth, { pricePerUnit: '2', quantity: 2 });
    expect(greedy.statusCode).toBe(409);
    expect(greedy.json()).toMatchObject({ code: 'conflict', reason: 'capacity', available: 1 });
    const counter = await t.post(`/v1/negotiations/${n3.id}/offers`, seller.auth, { pricePerUnit: '2', quantity: 1 });
    expect(counter.statusCode, counter.body).toBe(200);
    expect((await t.post(`/v1/negotiations/${n3.id}/accept`, buyer.auth)).statusCode).toBe(200);
    expect((await t.get(`/v1/listings/${small.id}`, seller.auth)).json().capacity).toMatchObject({ total: 3, reserved: 3, available: 0 });
  });

  it('make no agreement on a paused listing; resumed, they do', async () => {
    const { seller, buyer, listing } = await market({ capacity: 3 });
    const n = (await t.post('/v1/negotiations', buyer.auth, { listingId: listing.id, offer: { pricePerUnit: '1.5', quantity: 1 } })).json();
    expect((await t.post(`/v1/negotiations/${n.id}/offers`, seller.auth, { pricePerUnit: '2', quantity: 1 })).statusCode).toBe(200);
    const pause = await t.patch(`/v1/listings/${listing.id}`, seller.auth, { status: 'paused' });
    expect(pause.json().status).toBe('paused');
    const paused = await t.post(`/v1/negotiations/${n.id}/accept`, buyer.auth);
    expect(paused.statusCode).toBe(409);
    expect(paused.json()).toMatchObject({ code: 'conflict', reason: 'listing_unavailable' });
    expect((await t.patch(`/v1/listings/${listing.id}`, seller.auth, { status: 'active' })).statusCode).toBe(200);
    expect((await t.post(`/v1/negotiations/${n.id}/accept`, buyer.auth)).statusCode).toBe(200);
  });
});
