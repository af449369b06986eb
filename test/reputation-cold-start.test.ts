/**
 * Issue 13, cold start: on a fresh install with the default configuration (no probe agents), honest trades
 * and ratings raise the seller's trust. The seed is value brought in from outside (bridge deposits,
 * operator mints); the evidence of the first hours counts once an epoch runs (POST
 * /v1/admin/reputation/epoch, or the hourly job), and explain says why. All through the HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

const HOUR = 3_600_000;
let t: TestApp;
type Who = { id: string; auth: Record<string, string> };
let seller: Who;
let other: Who;
let buyers: Who[];
let gifted: Who;

const post = (url: string, who: Record<string, string>, payload?: object) => t.app.inject({ method: 'POST', url, headers: who, ...(payload ? { payload } : {}) });
const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
const reputation = async (id: string) => (await t.app.inject(`/v1/agents/${id}/reputation`)).json();
const explain = async (id: string, who: Who) => (await t.app.inject({ url: `/v1/agents/${id}/reputation/explain`, headers: who.auth })).json();

/** One honest trade through the public API: list, negotiate, accept, fund, deliver, confirm, and a rating. */
async function trade(s: Who, b: Who, stars: number): Promise<string> {
  const l = await post('/v1/listings', s.auth, {
    category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80 }, pricePerUnit: '2.5', capacity: 50, region: 'eu-west',
    sla: { availability: 0.99, maxLatencyMs: 100 }, validUntil: iso(30 * 24 * HOUR),
  });
  expect(l.statusCode, l.body).toBe(201);
  const n = await post('/v1/negotiations', b.auth, { listingId: l.json().id, offer: { pricePerUnit: '2.5', quantity: 4 } });
  expect(n.statusCode, n.body).toBe(201);
  const a = await post(`/v1/negotiations/${n.json().id}/accept`, s.auth);
  expect(a.statusCode, a.body).toBe(200);
  const id = a.json().agreement.id as string;
  expect((await post(`/v1/agreements/${id}/fund`, b.auth)).statusCode).toBe(200);
  expect((await post(`/v1/agreements/${id}/deliver`, s.auth, { usage: 4 })).statusCode).toBe(200);
  expect((await post(`/v1/agreements/${id}/confirm`, b.auth)).json().state).toBe('settled');
  const r = await post('/v1/ratings', b.auth, { tradeId: id, stars });
  expect(r.statusCode, r.body).toBe(201);
  return id;
}

beforeAll(async () => {
  t = await buildTestApp();
  seller = await t.registerAgent({ type: 'provider', displayName: 'honest-gpu' });
  other = await t.registerAgent({ type: 'provider', displayName: 'other-gpu' });
  buyers = [];
  for (let i = 0; i < 3; i++) buyers.push(await t.registerAgent({ type: 'consumer', displayName: `buyer-${i}` }));
  // value from outside: two chain deposits and one operator grant
  for (const [i, b] of buyers.entries()) {
    const r = i < 2
      ? await post('/v1/admin/deposits', t.admin, { chainTxId: `0xdeposit${i}`, agentId: b.id, amount: '500' })
      : await post('/v1/admin/mint', t.admin, { agentId: b.id, amount: '500' });
    expect(r.statusCode, r.body).toBe(201);
  }
  // a buyer whose tokens came from another agent's wallet brought nothing in from outside
  gifted = await t.registerAgent({ type: 'consumer', displayName: 'gifted' });
  expect((await post('/v1/transfers', buyers[0]!.auth, { to: gifted.id, amount: '100' })).statusCode).toBe(201);
});

afterAll(async () => {
  await t?.close();
});

describe('cold start with no probe agents', () => {
  it('no probes are configured: the default installation', async () => {
    expect((await t.app.inject('/v1/reputation/probes')).json().data).toEqual([]);
  });

  it('before an epoch, the first trades have weight 0 and explain says an epoch will weigh them again', async () => {
    for (const b of buyers) await trade(seller, b, 5);
    const r = await reputation(seller.id);
    expect(r.trustScore).toBe(0);
    const x = await explain(seller.id, seller);
    const trades = x.recent.filter((i: { type: string }) => i.type === 'trade');
    expect(trades).toHaveLength(3);
    expect(trades.every((i: { weight: number; discounts: string[] }) => i.weight === 0 && i.discounts.includes('low_trust_producer'))).toBe(true);
    expect(x.notes.some((n: string) => n.includes('next epoch'))).toBe(true);
  });

  it('the epoch endpoint is the operator\'s', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/v1/admin/reputation/epoch' })).statusCode).toBe(401);
    expect((await post('/v1/admin/reputation/epoch', seller.auth)).statusCode).toBe(403);
  });

  it('POST /v1/admin/reputation/epoch seeds trust with the funded value and weighs the earlier evidence again', async () => {
    const res = await post('/v1/admin/reputation/epoch', t.admin);
    expect(res.statusCode, res.body).toBe(201);
    const e = res.json();
    // three buyers brought 500 AITBC each; the gift moved 100 between wallets and is nobody's external value
    expect(e).toMatchObject({ computed: true, seed: { preTrusted: 0, funded: 3, fundedAitbc: '1500' } });
    expect(e.fundingReports).toBe(3);
    expect(e.trustedAgents).toBeGreaterThanOrEqual(4);
    expect(e.trustReference).toBeGreaterThan(0);
    // the same trades now count: the seller's trust rose the moment the epoch ran (gain cap: 75 a day)
    const r = await reputation(seller.id);
    expect(r.trustScore).toBeGreaterThan(0);
    expect(r.raw).toBeGreaterThan(r.trustScore);
    expect(r.gainCapped).toBe(true);
    const x = await explain(seller.id, seller);
    const trades = x.recent.filter((i: { type: string }) => i.type === 'trade');
    expect(trades.every((i: { weightNow: number }) => i.weightNow > 0)).toBe(true);
    const ratings = x.recent.filter((i: { type: string }) => i.type === 'rating');
    expect(ratings.length).toBe(3);
    expect(ratings.every((i: { weightNow: number }) => i.weightNow > 0)).toBe(true);
    expect(x.components.find((c: { name: string }) => c.name === 'transactions').channels.success.mass).toBeGreaterThan(0);
    expect(x.notes.some((n: string) => n.includes('daily gain cap'))).toBe(true);
    // explain says where the buyers' trust comes from
    const bx = await explain(buyers[0]!.id, buyers[0]!);
    expect(bx.globalTrust.fundedAitbc).toBe(500);
    expect(bx.globalTrust.weight).toBeGreaterThan(0);
    expect((await explain(gifted.id, gifted)).globalTrust).toMatchObject({ fundedAitbc: 0, trust: 0 });
    // nothing new: a second epoch computes nothing
    expect((await post('/v1/admin/reputation/epoch', t.admin)).json().computed).toBe(false);
  });

  it('the next day the seller keeps rising; a seller whose only buyer brought nothing in stays at 0', async () => {
    const before = (await reputation(seller.id)).trustScore;
    t.clock.advance(24 * HOUR);
    await trade(seller, buyers[1]!, 5);
    const after = await reputation(seller.id);
    expect(after.trustScore).toBeGreaterThan(before);
    // the gifted buyer is trusted by nobody: its purchases from `other` give `other` no weight
    await trade(other, gifted, 5);
    const ran = await t.app.services.reputation.scheduledEpoch(); // the hourly background job
    expect(ran).toBe(true);
    const ox = await explain(other.id, other);
    expect(ox.recent.filter((i: { type: string }) => i.type === 'trade').every((i: { weightNow: number }) => i.weightNow === 0)).toBe(true);
    expect((await reputation(other.id)).trustScore).toBe(0);
  });

  it('a full recompute replays the recorded funding and epochs to the same scores', async () => {
    const ids = [seller.id, other.id, ...buyers.map((b) => b.id)];
    const rep = t.app.services.reputation;
    const before = await rep.trustScores(ids);
    await rep.recompute();
    expect(await rep.trustScores(ids)).toEqual(before);
  });
});
