/** Negotiations, proof of who said what: a signature that does not match the offer, or the agent's key, is refused. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';
import { offerPayload, signWith } from '../helpers/signing.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

const sla = { availability: 0.99, maxLatencyMs: 200 };

/** A signed opening offer of 1.6 for 10 units; the seller's turn. */
async function openNegotiation() {
  const seller = await t.newAgent({ type: 'provider' });
  const buyer = await t.fundedBuyer();
  const listing = await t.listing(seller, { spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', capacity: 50 });
  const id = randomUUID();
  const r = await t.post('/v1/negotiations', buyer.auth, {
    id, listingId: listing.id, maxRounds: 6,
    offer: { pricePerUnit: '1.6', quantity: 10, sla, signature: signWith(buyer.key, offerPayload(id, 0, buyer.id, { pricePerUnit: '1.6', quantity: 10, sla })) },
  });
  expect(r.statusCode, r.body).toBe(201);
  return { seller, buyer, id };
}

describe('signed offers', () => {
  it('a signature made for other terms is rejected (422 bad_signature) and changes nothing', async () => {
    const { seller, buyer, id } = await openNegotiation();
    const goodSig = signWith(seller.key, offerPayload(id, 1, seller.id, { pricePerUnit: '1.9', quantity: 10, sla }));
    // tampered: the signature of 1.9 sent with a price of 1.95
    const tampered = await t.post(`/v1/negotiations/${id}/offers`, seller.auth, { pricePerUnit: '1.95', signature: goodSig });
    expect(tampered.statusCode).toBe(422);
    expect(problem(tampered).code).toBe('unprocessable');
    expect(tampered.json().reason).toBe('bad_signature');
    expect((await t.get(`/v1/negotiations/${id}`, buyer.auth)).json()).toMatchObject({ status: 'open', turn: 'seller', offers: [expect.anything()] });
    expect((await t.post(`/v1/negotiations/${id}/offers`, seller.auth, { pricePerUnit: '1.9', signature: goodSig })).statusCode).toBe(200);
  });

  it('a signature with someone else\'s key is rejected', async () => {
    const { seller, buyer, id } = await openNegotiation();
    const forged = await t.post(`/v1/negotiations/${id}/offers`, seller.auth, {
      pricePerUnit: '1.9', signature: signWith(buyer.key, offerPayload(id, 1, seller.id, { pricePerUnit: '1.9', quantity: 10, sla })),
    });
    expect(forged.statusCode).toBe(422);
    expect(forged.json().reason).toBe('bad_signature');
    expect((await t.get(`/v1/negotiations/${id}`, buyer.auth)).json().offers).toHaveLength(1);
  });
});
