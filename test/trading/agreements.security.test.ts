/** Agreements, who may do what: the buyer funds and confirms, the parties read, the operator resolves and lists anyone's. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('agreements', () => {
  it('are funded and confirmed by their buyer only, and read by their parties only', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({ pricePerUnit: '1.9' });
    const stranger = await t.newAgent();
    const fund = await t.post(`/v1/agreements/${agreement.id}/fund`, seller.auth);
    expect(fund.statusCode).toBe(403);
    expect(problem(fund).code).toBe('forbidden');
    expect(await t.balance(buyer)).toBe('1000');
    expect((await t.post(`/v1/agreements/${agreement.id}/fund`, buyer.auth)).statusCode).toBe(200);
    expect(problem(await t.post(`/v1/agreements/${agreement.id}/confirm`, seller.auth)).code).toBe('forbidden');
    expect((await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json().state).toBe('funded');
    expect(problem(await t.get(`/v1/agreements/${agreement.id}`, stranger.auth)).code).toBe('forbidden');
  });

  it('a dispute is resolved by the operator only', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({ pricePerUnit: '2', quantity: 5, fund: true });
    expect((await t.post(`/v1/agreements/${agreement.id}/dispute`, buyer.auth, { reason: 'unusable' })).statusCode).toBe(200);
    for (const who of [buyer, seller]) {
      const r = await t.post(`/v1/agreements/${agreement.id}/resolve`, who.auth, { outcome: 'refund' });
      expect(r.statusCode).toBe(403);
      expect(problem(r).code).toBe('forbidden');
    }
    expect((await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json().state).toBe('disputed');
  });

  it('an agent lists its own agreements only; the operator lists anyone\'s', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({ pricePerUnit: '2', quantity: 1 });
    const other = await t.tradeToAgreement({ pricePerUnit: '2', quantity: 1 });
    const denied = await t.get(`/v1/agreements?agentId=${seller.id}`, buyer.auth);
    expect(denied.statusCode).toBe(403);
    expect(problem(denied).code).toBe('forbidden');
    const forSeller = (await t.get(`/v1/agreements?agentId=${seller.id}`, t.admin)).json();
    expect(forSeller.data.every((a: { sellerId: string; buyerId: string }) => a.sellerId === seller.id || a.buyerId === seller.id)).toBe(true);
    expect(forSeller.data.map((a: { id: string }) => a.id)).toEqual([agreement.id]);
    expect((await t.get('/v1/agreements', other.buyer.auth)).json().data.map((a: { id: string }) => a.id)).toEqual([other.agreement.id]);
  });
});
