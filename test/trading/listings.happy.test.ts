/** Listings, the cases that work: what the owner and others see, pages, the market index following changes, the profile's status. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('listings', () => {
  it('show their owner the delegation; everyone sees the public listing', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.newAgent({ type: 'consumer' });
    const l = await t.listing(seller, { negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const mine = (await t.get(`/v1/listings/${l.id}`, seller.auth)).json();
    expect(mine.negotiation).toEqual({ strategy: 'balanced', reservationPrice: '2' });
    const theirs = (await t.get(`/v1/listings/${l.id}`, buyer.auth)).json();
    expect(theirs).toMatchObject({ autoNegotiates: true, pricePerUnit: '2.5', capacity: { total: 100, reserved: 0, available: 100 } });
  });

  it('come in pages', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const ids = [(await t.listing(seller)).id, (await t.listing(seller)).id, (await t.listing(seller)).id];
    const page = (await t.get(`/v1/listings?category=gpu_compute&sellerId=${seller.id}&limit=2`, seller.auth)).json();
    expect(page.data).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = (await t.get(`/v1/listings?category=gpu_compute&sellerId=${seller.id}&limit=2&cursor=${page.nextCursor}`, seller.auth)).json();
    expect(rest.data).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    expect([...page.data, ...rest.data].map((x: { id: string }) => x.id).sort()).toEqual([...ids].sort());
  });

  it('the market index catches up with listing changes between matches (pause, resume, price)', async () => {
    // a region of its own: the request can match this listing only, whatever else the market holds
    const region = 'idx-catch-up';
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const l = await t.listing(seller, { region, pricePerUnit: '2.5' });
    const r = await t.tradeRequest(buyer, { allowedRegions: [region] });
    const ids = async () => (await t.get(`/v1/trade-requests/${r.id}/matches`, buyer.auth)).json().candidates.map((c: { listingId: string; pricePerUnit: string }) => `${c.listingId}@${c.pricePerUnit}`);
    const patch = (body: object) => t.patch(`/v1/listings/${l.id}`, seller.auth, body);
    const before = (await t.get(`/v1/listings/${l.id}`, seller.auth)).json().pricePerUnit;
    expect(before).toBe('2.5');
    expect(await ids()).toEqual([`${l.id}@2.5`]);
    expect((await patch({ status: 'paused' })).statusCode).toBe(200);
    expect(await ids()).toEqual([]);
    expect((await patch({ status: 'active', pricePerUnit: '2.1' })).statusCode).toBe(200);
    expect(await ids()).toContain(`${l.id}@2.1`);
    expect((await patch({ pricePerUnit: before })).statusCode).toBe(200);
    expect(await ids()).toContain(`${l.id}@${before}`);
    expect(await ids()).toEqual([`${l.id}@2.5`]);
  });

  it('make the profile\'s status section, which comes from trading', async () => {
    // a category no other test here lists in: the price tier compares with the category's mean price
    const seller = await t.newAgent({ type: 'provider', categories: ['data_services'] });
    await t.listing(seller, { category: 'data_services', unit: 'job', spec: {}, capacity: 50, sla: { availability: 0.99, maxLatencyMs: 200 } });
    const gone = await t.listing(seller, { category: 'data_services', unit: 'job', spec: {}, capacity: 7, sla: { availability: 0.999, maxLatencyMs: 10 } });
    expect((await t.del(`/v1/listings/${gone.id}`, seller.auth)).statusCode).toBe(200);
    const p = await t.get(`/v1/agents/${seller.id}/profile`, seller.auth);
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json().sections.status).toBe('live');
    expect(p.json().status).toMatchObject({ activeListings: 1, availableCapacity: 50, priceTier: null, priceTierReason: expect.any(String), sla: { availability: 0.99, maxLatencyMs: 200 } });
  });
});
