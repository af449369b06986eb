/** Agreements, the moves the state machine refuses: a 4xx problem with its code, and no money moves. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, units, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('agreements', () => {
  it('once settled cannot be confirmed or disputed again (409)', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({ pricePerUnit: '1.9', fund: true });
    await t.settle(agreement, buyer, seller, { usage: 10 });
    const balances = [await t.balance(buyer), await t.balance(seller)];
    const again = await t.post(`/v1/agreements/${agreement.id}/confirm`, buyer.auth);
    expect(again.statusCode).toBe(409);
    expect(problem(again).code).toBe('invalid_transition');
    const dispute = await t.post(`/v1/agreements/${agreement.id}/dispute`, buyer.auth, { reason: 'late' });
    expect(dispute.statusCode).toBe(409);
    expect(problem(dispute).code).toBe('invalid_transition');
    expect([await t.balance(buyer), await t.balance(seller)]).toEqual(balances);
  });

  it('a milestone release above what remains is validation_failed, and releases nothing', async () => {
    const { seller, buyer, agreement } = await t.tradeToAgreement({ settlementType: 'milestone', quantity: 4, pricePerUnit: '2', fund: true });
    expect((await t.post(`/v1/agreements/${agreement.id}/confirm`, buyer.auth, { amount: '2', note: 'first half' })).statusCode).toBe(200);
    const seller0 = units(await t.balance(seller));
    const tooMuch = await t.post(`/v1/agreements/${agreement.id}/confirm`, buyer.auth, { amount: '6.5' }); // 6 remain
    expect(tooMuch.statusCode).toBe(400);
    expect(problem(tooMuch).code).toBe('validation_failed');
    expect(units(await t.balance(seller))).toBe(seller0);
    expect((await t.get(`/v1/agreements/${agreement.id}`, buyer.auth)).json()).toMatchObject({ state: 'funded', released: '2' });
  });
});
