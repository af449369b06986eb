/**
 * A seller's reward tier limits its open agreements (issue 16, "higher concurrent-agreement limits"): an
 * agreement made or funded while the seller holds its tier's maximum of open agreements (funded, delivered,
 * disputed: the buyer's money in escrow) is refused with 409 tier_limit naming the limit, and changes nothing.
 * Unfunded agreements do not count, so an agent cannot block a seller with agreements it never pays for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, problem, type Json, type TestAgent, type TestApp } from '../helpers/test-app.js';
import { uuidv7 } from '../../src/platform/ids.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); }, 120_000);
afterAll(async () => { await t?.close(); });

/** The default program's limits (rewards.program.ts): bronze 10, silver 25. */
const BRONZE = 10;

/** The buyer offers 1 unit at 2 AITBC; the seller accepts: the negotiation and the accept response. */
async function offerAndAccept(buyer: TestAgent, seller: TestAgent, listingId: string) {
  const n = await t.post('/v1/negotiations', buyer.auth, { listingId, offer: { pricePerUnit: '2', quantity: 1, settlementType: 'escrow' } });
  expect(n.statusCode, n.body).toBe(201);
  const acc = await t.post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
  return { negotiationId: n.json().id as string, acc };
}
const fund = (buyer: TestAgent, a: Json) => t.post(`/v1/agreements/${a.id}/fund`, buyer.auth);
async function fundedAgreements(buyer: TestAgent, seller: TestAgent, listingId: string, n: number): Promise<Json[]> {
  const out: Json[] = [];
  for (let i = 0; i < n; i++) out.push(await t.agreement(buyer, seller, listingId, { quantity: 1, fund: true }));
  return out;
}
const reserved = async (listingId: string) => (await t.get(`/v1/listings/${listingId}`)).json().capacity.reserved as number;
const count = async (sellerId: string) => {
  const r = await sql<{ state: string; n: string }>`SELECT state, count(*) AS n FROM agreements WHERE seller_id = ${sellerId} GROUP BY state`.execute(t.db.database.db);
  return Object.fromEntries(r.rows.map((x) => [x.state, Number(x.n)]));
};
/** The tier row an epoch close stores for the seller (rewards_agent_tiers), as if its trust had reached `tier`. */
const setTier = (agentId: string, tier: string, trust: number) => t.db.database.transaction((tx) => sql`
  INSERT INTO rewards_agent_tiers (agent_id, tier, trust, epoch_id, updated_at) VALUES (${agentId}, ${tier}, ${trust}, ${uuidv7()}, ${t.clock.now()})
  ON CONFLICT (agent_id) DO UPDATE SET tier = excluded.tier, trust = excluded.trust`.execute(tx));

describe('tier limit of open agreements', () => {
  it('a bronze seller holds up to 10; the 11th agreement is refused with 409 tier_limit and changes nothing', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller, { capacity: 1000 });
    await fundedAgreements(buyer, seller, listing.id, BRONZE);
    expect(await count(seller.id)).toEqual({ funded: BRONZE });
    const before = { balance: await t.balance(buyer), reserved: await reserved(listing.id) };
    const { negotiationId, acc } = await offerAndAccept(buyer, seller, listing.id);
    expect(acc.statusCode, acc.body).toBe(409);
    const p = problem(acc) as ReturnType<typeof problem> & Json;
    expect(p.code).toBe('tier_limit');
    expect(p).toMatchObject({ limit: 'maxOpenAgreements', max: BRONZE, open: BRONZE, tier: 'bronze', sellerId: seller.id });
    expect(p.detail).toContain('maxOpenAgreements 10');
    // nothing changed: no agreement, the negotiation still open, no capacity reserved, no money moved
    expect(await count(seller.id)).toEqual({ funded: BRONZE });
    expect((await t.get(`/v1/negotiations/${negotiationId}`, buyer.auth)).json().status).toBe('open');
    expect({ balance: await t.balance(buyer), reserved: await reserved(listing.id) }).toEqual(before);
  }, 120_000);

  it('a delegated seller at its limit: the negotiation that would agree at once is refused whole (409 tier_limit)', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    // the limit is the seller's, over all its listings: ten on one, then a delegated second listing
    const first = await t.listing(seller, { capacity: 1000 });
    await fundedAgreements(buyer, seller, first.id, BRONZE);
    const listing = await t.listing(seller, { capacity: 1000, negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const body = { listingId: listing.id, delegate: { strategy: 'cooperative', targetPrice: '2', reservationPrice: '2.6' } };
    const d = await t.post('/v1/negotiations', buyer.auth, body);
    expect(d.statusCode, d.body).toBe(409);
    expect(problem(d).code).toBe('tier_limit');
    expect(await count(seller.id)).toEqual({ funded: BRONZE });
    const n = await sql<{ n: string }>`SELECT count(*) AS n FROM negotiations WHERE listing_id = ${listing.id}`.execute(t.db.database.db);
    expect(Number(n.rows[0]!.n)).toBe(0);
  }, 120_000);

  it('an agreement that ends frees a place; the one refused before can then be accepted', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller, { capacity: 1000 });
    const open = await fundedAgreements(buyer, seller, listing.id, BRONZE);
    const { negotiationId, acc } = await offerAndAccept(buyer, seller, listing.id);
    expect(problem(acc).code).toBe('tier_limit');
    await t.settle(open[0]!, buyer, seller);
    const again = await t.post(`/v1/negotiations/${negotiationId}/accept`, seller.auth);
    expect(again.statusCode, again.body).toBe(200);
    expect((await fund(buyer, again.json().agreement)).statusCode).toBe(200);
    expect(await count(seller.id)).toEqual({ funded: BRONZE, settled: 1 });
  }, 120_000);

  it('unfunded agreements do not count, but funding past the limit is refused (and the agreement stays unfunded)', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller, { capacity: 1000 });
    await fundedAgreements(buyer, seller, listing.id, BRONZE - 1);
    const a = (await offerAndAccept(buyer, seller, listing.id)).acc.json().agreement;
    const b = (await offerAndAccept(buyer, seller, listing.id)).acc.json().agreement;
    expect((await fund(buyer, a)).statusCode).toBe(200);
    const balance = await t.balance(buyer);
    const r = await fund(buyer, b);
    expect(r.statusCode, r.body).toBe(409);
    expect(problem(r).code).toBe('tier_limit');
    expect((await t.get(`/v1/agreements/${b.id}`, buyer.auth)).json()).toMatchObject({ state: 'pending_funding', escrowId: null });
    expect(await t.balance(buyer)).toBe(balance);
  }, 120_000);

  it('a higher tier allows more: a silver seller takes the 11th agreement, and is refused past 25', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller, { capacity: 1000 });
    await setTier(seller.id, 'silver', 650);
    await fundedAgreements(buyer, seller, listing.id, 25);
    expect(await count(seller.id)).toEqual({ funded: 25 });
    const { acc } = await offerAndAccept(buyer, seller, listing.id);
    expect(acc.statusCode).toBe(409);
    expect(problem(acc) as Json).toMatchObject({ code: 'tier_limit', tier: 'silver', max: 25 });
  }, 240_000);

  it('the operator can lift the limit of a tier (null: no limit)', async () => {
    const tiers = [
      { name: 'bronze', minTrust: 0, multiplier: 1.0, feeDiscountBps: 0, maxOpenAgreements: 10 },
      { name: 'silver', minTrust: 600, multiplier: 1.2, feeDiscountBps: 500, maxOpenAgreements: 25 },
      { name: 'gold', minTrust: 750, multiplier: 1.5, feeDiscountBps: 1000, maxOpenAgreements: null },
      { name: 'platinum', minTrust: 900, multiplier: 2.0, feeDiscountBps: 2000, maxOpenAgreements: 100 },
    ];
    const res = await t.app.inject({ method: 'PUT', url: '/v1/admin/rewards/programs/default', headers: t.admin, payload: { tiers } });
    expect(res.statusCode, res.body).toBe(200);
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const listing = await t.listing(seller, { capacity: 1000 });
    await setTier(seller.id, 'gold', 800);
    await fundedAgreements(buyer, seller, listing.id, 51);
    expect(await count(seller.id)).toEqual({ funded: 51 });
  }, 240_000);

  it('six fundings at once for the last two places: exactly two pass (a per-seller lock on PostgreSQL)', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyers: TestAgent[] = [];
    for (let i = 0; i < 6; i++) buyers.push(await t.fundedBuyer('100'));
    const listing = await t.listing(seller, { capacity: 1000 });
    await fundedAgreements(buyers[0]!, seller, listing.id, BRONZE - 2);
    const pending: Json[] = [];
    for (const b of buyers) pending.push((await offerAndAccept(b, seller, listing.id)).acc.json().agreement);
    const rs = await Promise.all(pending.map((a, i) => fund(buyers[i]!, a)));
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 200, 409, 409, 409, 409]);
    expect(await count(seller.id)).toEqual({ funded: BRONZE, pending_funding: 4 });
  }, 120_000);
});

describe('attack: an agent opens many agreements to block a seller', () => {
  it('unfunded agreements do not take the places of the tier limit; funded ones are paid work', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const attacker = await t.fundedBuyer('1000');
    const honest = await t.fundedBuyer('100');
    const listing = await t.listing(seller, { capacity: 1000 });
    // 30 agreements the attacker never funds: three times the bronze limit
    for (let i = 0; i < 30; i++) expect((await offerAndAccept(attacker, seller, listing.id)).acc.statusCode).toBe(200);
    expect(await count(seller.id)).toEqual({ pending_funding: 30 });
    // the honest buyer still trades
    const h = await t.agreement(honest, seller, listing.id, { quantity: 1, fund: true });
    expect(h.state).toBe('funded');
    // to take the places the attacker must pay: 9 more funded agreements, 2 AITBC each into escrow
    const sellerBefore = await t.balance(seller);
    await fundedAgreements(attacker, seller, listing.id, BRONZE - 1);
    const blocked = await offerAndAccept(honest, seller, listing.id);
    expect(problem(blocked.acc).code).toBe('tier_limit');
    // ... and the seller delivers what it was paid for: the attacker's money becomes the seller's
    const funded = (await sql<{ id: string }>`SELECT id FROM agreements WHERE seller_id = ${seller.id} AND buyer_id = ${attacker.id} AND state = 'funded'`.execute(t.db.database.db)).rows;
    expect(funded).toHaveLength(BRONZE - 1);
    for (const a of funded) await t.settle(a, attacker, seller);
    expect(Number(await t.balance(seller)) - Number(sellerBefore)).toBeCloseTo((BRONZE - 1) * 2 * 0.975, 6);
    const audit = await t.get('/v1/admin/ledger/audit', t.admin);
    expect(audit.json().ok).toBe(true);
  }, 240_000);
});
