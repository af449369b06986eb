/** Trade requests, illegal moves and bad ids: a 4xx problem with its code. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('trade requests', () => {
  it('are cancelled only once, and a cancelled request cannot be negotiated on', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const l = await t.listing(seller);
    const r = await t.tradeRequest(buyer);
    expect((await t.post(`/v1/trade-requests/${r.id}/cancel`, buyer.auth, {})).statusCode).toBe(200);
    const twice = await t.post(`/v1/trade-requests/${r.id}/cancel`, buyer.auth, {});
    expect(twice.statusCode).toBe(409);
    expect(problem(twice).code).toBe('invalid_transition');
    const neg = await t.post('/v1/negotiations', buyer.auth, { listingId: l.id, requestId: r.id, offer: { pricePerUnit: '2.5', quantity: 10, settlementType: 'escrow' } });
    expect(neg.statusCode).toBe(409);
    expect(problem(neg).code).toBe('invalid_transition');
    expect((await t.get('/v1/negotiations', buyer.auth)).json().data).toEqual([]);
  });

  it('that do not exist are 404, and a malformed id is 400', async () => {
    const buyer = await t.fundedBuyer();
    const missing = await t.post(`/v1/trade-requests/${randomUUID()}/cancel`, buyer.auth, {});
    expect(missing.statusCode).toBe(404);
    expect(problem(missing).code).toBe('not_found');
    const malformed = problem(await t.post('/v1/trade-requests/not-a-uuid/cancel', buyer.auth, {}));
    expect(malformed.status).toBe(400);
    expect(malformed.code).toBe('validation_failed');
  });
});
