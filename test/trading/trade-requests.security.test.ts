/** Trade requests, who may do what: only the buyer cancels, sees the matches and the budget. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('trade requests', () => {
  it('are cancelled by their buyer only', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const r = await t.tradeRequest(buyer);
    const other = await t.post(`/v1/trade-requests/${r.id}/cancel`, seller.auth, {});
    expect(other.statusCode).toBe(403);
    expect(problem(other).code).toBe('forbidden');
    expect((await t.get(`/v1/trade-requests/${r.id}`, buyer.auth)).json().state).toBe('open');
  });

  it('show their matches and budget to the buyer only', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    await t.listing(seller);
    const r = await t.tradeRequest(buyer);
    expect(problem(await t.get(`/v1/trade-requests/${r.id}/matches`, seller.auth)).code).toBe('forbidden');
    expect((await t.get(`/v1/trade-requests/${r.id}`, seller.auth)).json().budget).toBeUndefined();
    expect((await t.get(`/v1/trade-requests/${r.id}`, buyer.auth)).json().budget).toEqual({ min: '1.5', max: '3' });
  });
});
