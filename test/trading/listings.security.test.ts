/** Listings, who may see and change what: the reservation price is the seller's; only the seller changes its listing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('listings', () => {
  it('hide the seller\'s reservation price from others', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.newAgent({ type: 'consumer' });
    const l = await t.listing(seller, { negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const theirs = (await t.get(`/v1/listings/${l.id}`, buyer.auth)).json();
    expect(theirs.negotiation).toBeUndefined();
    expect(JSON.stringify((await t.get(`/v1/listings?sellerId=${seller.id}`, buyer.auth)).json())).not.toContain('reservationPrice');
  });

  it('are changed by their seller only', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.newAgent({ type: 'consumer' });
    const l = await t.listing(seller);
    const other = await t.patch(`/v1/listings/${l.id}`, buyer.auth, { pricePerUnit: '1' });
    expect(other.statusCode).toBe(403);
    expect(problem(other).code).toBe('forbidden');
    expect(problem(await t.del(`/v1/listings/${l.id}`, buyer.auth)).code).toBe('forbidden');
    expect((await t.get(`/v1/listings/${l.id}`, buyer.auth)).json()).toMatchObject({ pricePerUnit: '2.5', status: 'active' });
  });
});
