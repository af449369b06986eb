/**
 * Rewards end to end over the API: the pool's fee share and royalties as linked legs of each release,
 * an epoch closed, previewed and distributed (paid exactly once, the pool debited by exactly what the
 * statements say), statements for the agent and the operator only, same-owner trades earning nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, DAY, units, type Json, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';

let t: TestApp;
beforeEach(async () => { t = await buildTestApp(); });
afterEach(async () => { await t.close(); });

const put = (url: string, who: Record<string, string>, payload: unknown) => t.app.inject({ method: 'PUT', url, headers: who, payload: payload as object });
const balance = async (id: string) => units((await t.get(`/v1/agents/${id}/balance`, t.admin)).json().balance);
/** The open epoch (the rewards.epochs job opens it; here the test runs that step). */
const openEpoch = async (): Promise<Json> => {
  await t.app.services.rewards.ensureOpen('default');
  return (await t.get('/v1/rewards/epochs')).json().data.find((e: Json) => e.status === 'open');
};
const pool = async (id: string) => units((await t.get(`/v1/rewards/epochs/${id}`)).json().poolBalanceNow);

async function market(): Promise<{ sellers: Party[]; buyers: Party[]; listings: SeedListing[] }> {
  const sellers = [await party(t), await party(t)];
  const buyers = [await party(t), await party(t), await party(t)];
  for (const b of buyers) await mint(t, b, '10000');
  const listings = [await listing(t, sellers[0]!, { gpuModel: 'H100', price: '10' }), await listing(t, sellers[1]!, { gpuModel: 'A100', price: '10' })];
  return { sellers, buyers, listings };
}

describe('rewards', () => {
  it('funds the pool from fees, pays an epoch once, and explains each statement', async () => {
    const epoch = await openEpoch();
    expect(epoch.programVersion).toBe(1);
    const { sellers, buyers, listings } = await market();
    for (let i = 0; i < 6; i++) await trade(t, { buyer: buyers[i % 3]!, seller: sellers[i % 2]!, listing: listings[i % 2]!, quantity: 10 });
    // 6 trades of 100 AITBC: fee 2.5 each, 20 % of it (0.5) to the pool
    expect(await pool(epoch.id)).toBe(units('3'));
    await t.post('/v1/admin/rewards/grants', t.admin, { amount: '100' });
    expect(await pool(epoch.id)).toBe(units('103'));

    t.clock.advance(1000); // the last settlement is recorded at the clock's now; the epoch counts [start, end)
    const preview = (await t.post(`/v1/admin/rewards/epochs/${epoch.id}/preview`, t.admin)).json();
    expect(preview.stored).toBe(false);
    expect(preview.trades).toBe(6);
    const closed = await t.post(`/v1/admin/rewards/epochs/${epoch.id}/close`, t.admin);
    expect(closed.statusCode).toBe(200);
    expect(closed.json().status).toBe('closed');
    expect((await t.post(`/v1/admin/rewards/epochs/${epoch.id}/close`, t.admin)).statusCode).toBe(409);
    const next = await openEpoch();
    expect(next.number).toBe(2);
    expect(next.startsAt).toBe(closed.json().endsAt);

    const before = await pool(epoch.id);
    const sellerBefore = await balance(sellers[0]!.id);
    const d = (await t.post(`/v1/admin/rewards/epochs/${epoch.id}/distribute`, t.admin)).json();
    expect(d.created).toBe(5);
    const paid = units(d.paid);
    expect(paid).toBeGreaterThan(0n);
    // the pool was debited by exactly what was paid, which is what the epoch reports
    expect(before - (await pool(epoch.id))).toBe(paid);
    expect(units(d.epoch.paid)).toBe(paid);
    // a second run pays nothing
    const again = (await t.post(`/v1/admin/rewards/epochs/${epoch.id}/distribute`, t.admin)).json();
    expect([again.created, again.paid]).toEqual([0, '0']);
    expect(before - (await pool(epoch.id))).toBe(paid);

    const mine = await t.get(`/v1/agents/${sellers[0]!.id}/rewards`, sellers[0]!.auth);
    expect(mine.statusCode).toBe(200);
    const s = mine.json().statements[0];
    expect(s.status).toBe('paid');
    expect(await balance(sellers[0]!.id) - sellerBefore).toBe(units(s.amount));
    expect(s.detail).toMatchObject({ tier: expect.any(String), multiplier: expect.any(Number), base: '0.9', notes: expect.any(Array) });
    // each seller earned at most 40 % of the fees of its trades (3 x 2.5)
    expect(units(s.amount)).toBeLessThanOrEqual(units('3'));
    // the reward shows in the wallet history as a ledger transfer
    const hist = (await t.get(`/v1/agents/${sellers[0]!.id}/transfers`, sellers[0]!.auth)).json();
    expect(JSON.stringify(hist)).toContain(s.transferId);

    expect((await t.get(`/v1/agents/${sellers[0]!.id}/rewards`, buyers[0]!.auth)).statusCode).toBe(403);
    expect((await t.get(`/v1/agents/${sellers[0]!.id}/rewards`)).statusCode).toBe(401);
    expect((await t.get(`/v1/agents/${sellers[0]!.id}/rewards`, t.admin)).statusCode).toBe(200);

    const detail = (await t.get(`/v1/rewards/epochs/${epoch.id}`)).json();
    expect(detail.status).toBe('distributed');
    expect(detail.tiers.reduce((a: number, x: Json) => a + x.agents, 0)).toBe(5);
    const audit = (await t.get('/v1/admin/ledger/audit', t.admin)).json();
    expect(audit.ok).toBe(true);
  });

  it('pays royalties as linked legs of the release, exact to the unit', async () => {
    const { sellers, buyers, listings } = await market();
    const author = await party(t);
    const res = await put(`/v1/listings/${listings[0]!.id}/royalties`, sellers[0]!.auth, { recipients: [{ agentId: author.id, bps: 1234 }] });
    expect(res.statusCode).toBe(200);
    expect((await put(`/v1/listings/${listings[0]!.id}/royalties`, sellers[1]!.auth, { recipients: [] })).statusCode).toBe(403);
    expect((await put(`/v1/listings/${listings[0]!.id}/royalties`, sellers[0]!.auth, { recipients: [{ agentId: sellers[0]!.id, bps: 100 }] })).statusCode).toBe(400);
    const before = await balance(sellers[0]!.id);
    await trade(t, { buyer: buyers[0]!, seller: sellers[0]!, listing: listings[0]!, quantity: 3, price: '3.33333333' });
    const gross = units('3.33333333') * 3n; // 999999999
    const fee = (gross * 250n) / 10_000n;
    const royalty = ((gross - fee) * 1234n) / 10_000n;
    expect(await balance(author.id)).toBe(royalty);
    expect(await balance(sellers[0]!.id) - before).toBe(gross - fee - royalty);
    expect((await t.get('/v1/admin/ledger/audit', t.admin)).json().ok).toBe(true);
  });

  it('gives same-owner trades nothing and checks operator-only routes', async () => {
    const shared = await t.newAgent({ type: 'provider' });
    const twin = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { displayName: 'twin', type: 'consumer', country: 'DE', region: 'eu-west', categories: ['gpu_compute'], publicKey: shared.publicKey } });
    if (twin.statusCode !== 201) return; // registration refuses a shared key: same-owner trades cannot happen this way
    const tw = twin.json();
    const buyer: Party = { id: tw.agent.id, auth: { authorization: `Bearer ${tw.apiKey}` }, country: 'DE', region: 'eu-west' };
    const seller: Party = { id: shared.id, auth: shared.auth, country: 'DE', region: 'eu-west' };
    await mint(t, buyer, '1000');
    const l = await listing(t, seller, { gpuModel: 'H100', price: '10' });
    for (let i = 0; i < 3; i++) await trade(t, { buyer, seller, listing: l, quantity: 5 });
    const epoch = await openEpoch();
    t.clock.advance(1000);
    const p = (await t.post(`/v1/admin/rewards/epochs/${epoch.id}/preview`, t.admin)).json();
    expect(p.uncounted.same_owner).toBe(3);
    expect(p.statements).toEqual([]);
    expect((await t.post(`/v1/admin/rewards/epochs/${epoch.id}/close`, seller.auth)).statusCode).toBe(403);
  });

  it('uses the program version in force when the epoch opened', async () => {
    const epoch = await openEpoch();
    const r = await put('/v1/admin/rewards/programs/default', t.admin, { funding: { feeShareBps: 5000 }, tiers: [
      { name: 'bronze', minTrust: 0, multiplier: 1, feeDiscountBps: 0, maxOpenAgreements: null },
      { name: 'diamond', minTrust: 950, multiplier: 3, feeDiscountBps: 3000, maxOpenAgreements: null },
    ] });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().version).toBe(2);
    expect((await put('/v1/admin/rewards/programs/default', t.admin, { caps: { feeRebateBps: 6000 } })).statusCode).toBe(400);
    expect((await t.get('/v1/rewards/programs')).json().data[0].version).toBe(2);
    t.clock.advance(DAY);
    await t.post(`/v1/admin/rewards/epochs/${epoch.id}/close`, t.admin);
    const next = await openEpoch();
    expect([epoch.programVersion, next.programVersion]).toEqual([1, 2]);
  });
});
