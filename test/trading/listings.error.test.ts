/** Listings, bad input and illegal changes: a 4xx problem with its code, and nothing changes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, HOUR, problem, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('listings', () => {
  it('without a spec are validation_failed', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const bad = await t.post('/v1/listings', seller.auth, { category: 'gpu_compute', unit: 'gpu_hour', capacity: 1, region: 'eu-west', spec: {}, pricePerUnit: '1', sla: { availability: 0.9, maxLatencyMs: 10 }, validUntil: t.iso(HOUR) });
    expect(bad.statusCode).toBe(400);
    expect(problem(bad).code).toBe('validation_failed');
    expect((await t.get(`/v1/listings?sellerId=${seller.id}`, seller.auth)).json().data).toEqual([]);
  });

  it('cannot shrink below what agreements hold, and once withdrawn cannot come back', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const small = await t.listing(seller, { spec: { gpuModel: 'A100', vramGb: 80 }, pricePerUnit: '2', capacity: 3 });
    await t.agreement(buyer, seller, small.id, { quantity: 2 });
    await t.agreement(buyer, seller, small.id, { quantity: 1 });
    const shrink = await t.patch(`/v1/listings/${small.id}`, seller.auth, { capacity: 2 });
    expect(shrink.statusCode).toBe(409);
    expect(problem(shrink).code).toBe('conflict');
    expect((await t.get(`/v1/listings/${small.id}`, seller.auth)).json().capacity).toMatchObject({ total: 3, reserved: 3, available: 0 });
    const gone = await t.del(`/v1/listings/${small.id}`, seller.auth);
    expect(gone.json()).toMatchObject({ status: 'withdrawn', capacity: { reserved: 3 } });
    const again = await t.patch(`/v1/listings/${small.id}`, seller.auth, { status: 'active' });
    expect(again.statusCode).toBe(409);
    expect(problem(again).code).toBe('invalid_transition');
  });
});
