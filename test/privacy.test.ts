/**
 * What is public and what is private (docs/privacy.md), on every route that shows an agent's data: a
 * stranger (anonymous or another agent) sees the published record; the agent itself and the operator
 * see the wallet, budgets, reservation prices and counterparties too. And the profile counts trades,
 * not ledger entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
type A = Awaited<ReturnType<TestApp['registerAgent']>>;
let seller: A;
let buyer: A;
let stranger: A;
let listingId: string;
let requestId: string;
const HOUR = 3600_000;
const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();

async function call(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string> = {}, payload?: object) {
  const r = await t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  return r;
}
/** A call that must succeed: 200 for a read or an action on a resource, 201 for a POST that creates one. */
async function ok(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) {
  const r = await call(method, url, headers, payload);
  const creates = method === 'POST' && !/\/(accept|fund|deliver|confirm)$/.test(url);
  expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(creates ? 201 : 200);
  return r.json();
}

beforeAll(async () => {
  t = await buildTestApp();
  seller = await t.registerAgent({ type: 'provider' });
  buyer = await t.registerAgent({ type: 'consumer' });
  stranger = await t.registerAgent();
  await ok('POST', '/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '100' });
  const l = await ok('POST', '/v1/listings', seller.auth, {
    category: 'gpu_compute', unit: 'gpu_hour', pricePerUnit: '2', capacity: 10, region: 'eu-west', validUntil: iso(30 * 24 * HOUR),
    sla: { availability: 0.99, maxLatencyMs: 200 }, spec: { gpuModel: 'A100', vramGb: 80 }, negotiation: { strategy: 'conceder', reservationPrice: '1.5' },
  });
  listingId = l.id;
  const r = await ok('POST', '/v1/trade-requests', buyer.auth, {
    category: 'gpu_compute', spec: { minVramGb: 40 }, quantity: 5, budget: { min: '1', max: '3' }, deadline: iso(2 * HOUR),
  });
  requestId = r.id;
  const n = await ok('POST', '/v1/negotiations', buyer.auth, { listingId, requestId, offer: { pricePerUnit: '2', settlementType: 'escrow' } });
  const agreementId = (n.agreementId ?? (await ok('POST', `/v1/negotiations/${n.id}/accept`, seller.auth, {})).agreement.id) as string;
  await ok('POST', `/v1/agreements/${agreementId}/fund`, buyer.auth);
  await ok('POST', `/v1/agreements/${agreementId}/deliver`, seller.auth, { usage: 5 });
  await ok('POST', `/v1/agreements/${agreementId}/confirm`, buyer.auth, {});
});
afterAll(async () => t?.close());

describe('the economic profile', () => {
  it('hides the wallet from strangers and shows it to the agent and the operator', async () => {
    for (const who of [{}, stranger.auth]) {
      const p = await ok('GET', `/v1/agents/${buyer.id}/profile`, who);
      expect(p.economicHistory).not.toHaveProperty('balance');
      expect(p.economicHistory).not.toHaveProperty('available');
      // the published record stays public
      expect(p.economicHistory).toMatchObject({ totalSpent: '10', transactionCount: 1, successRate: 1 });
    }
    for (const who of [buyer.auth, t.admin]) {
      const p = await ok('GET', `/v1/agents/${buyer.id}/profile`, who);
      expect(p.economicHistory).toMatchObject({ balance: '90', available: '90' });
    }
  });

  it('counts trades, not ledger entries: one trade is 1 for each side (the mint and the escrow legs are transfers)', async () => {
    const b = (await ok('GET', `/v1/agents/${buyer.id}/profile`, buyer.auth)).economicHistory;
    const s = (await ok('GET', `/v1/agents/${seller.id}/profile`, seller.auth)).economicHistory;
    expect(b).toMatchObject({ transactionCount: 1, transferCount: 2, totalSpent: '10' }); // mint in, escrow fund out
    expect(s).toMatchObject({ transactionCount: 1, transferCount: 1, totalEarnings: '9.75' }); // release in, net of the 2.5 % fee
  });
});

describe('other routes that show an agent', () => {
  it('the balance and the transfer history are the agent\'s and the operator\'s only', async () => {
    for (const url of [`/v1/agents/${buyer.id}/balance`, `/v1/agents/${buyer.id}/transfers`]) {
      expect((await call('GET', url)).statusCode, url).toBe(401);
      expect((await call('GET', url, stranger.auth)).statusCode, url).toBe(403);
      expect((await call('GET', url, buyer.auth)).statusCode, url).toBe(200);
      expect((await call('GET', url, t.admin)).statusCode, url).toBe(200);
    }
  });

  it('a listing\'s reservation price and a request\'s budget are shown to their owner only', async () => {
    expect(await ok('GET', `/v1/listings/${listingId}`, stranger.auth)).not.toHaveProperty('negotiation');
    expect((await ok('GET', `/v1/listings/${listingId}`, seller.auth)).negotiation).toMatchObject({ reservationPrice: '1.5' });
    expect(await ok('GET', `/v1/trade-requests/${requestId}`, stranger.auth)).not.toHaveProperty('budget');
    expect((await ok('GET', `/v1/trade-requests/${requestId}`, buyer.auth)).budget).toEqual({ min: '1', max: '3' });
  });

  it('reputation explanations name counterparties only to the agent and the operator', async () => {
    const counterpartiesOf = (x: { recent: { counterparty?: string | null }[] }) => x.recent.map((r) => r.counterparty ?? null);
    const own = await ok('GET', `/v1/agents/${seller.id}/reputation/explain`, seller.auth);
    const op = await ok('GET', `/v1/agents/${seller.id}/reputation/explain`, t.admin);
    const pub = await ok('GET', `/v1/agents/${seller.id}/reputation/explain`, stranger.auth);
    expect(counterpartiesOf(own)).toContain(buyer.id);
    expect(counterpartiesOf(op)).toContain(buyer.id);
    expect(JSON.stringify(pub)).not.toContain(buyer.id);
  });

  it('availability and maintenance windows are public; a window\'s reason is the agent\'s and the operator\'s', async () => {
    const w = await ok('PUT', `/v1/agents/${seller.id}/maintenance-windows`, seller.auth, { windows: [{ start: iso(2 * HOUR), end: iso(3 * HOUR), reason: 'rack move' }] });
    expect(w.windows[0].reason).toBe('rack move');
    for (const who of [{}, stranger.auth]) {
      const pub = await ok('GET', `/v1/agents/${seller.id}/maintenance-windows`, who);
      expect(pub.windows).toHaveLength(1);
      expect(pub.windows[0]).not.toHaveProperty('reason');
      expect((await ok('GET', `/v1/agents/${seller.id}/availability`, who)).agentId).toBe(seller.id);
    }
    expect((await ok('GET', `/v1/agents/${seller.id}/maintenance-windows`, t.admin)).windows[0].reason).toBe('rack move');
  });

  it('no public read of an agent carries a private field', async () => {
    const urls = [`/v1/agents/${buyer.id}`, `/v1/agents/${buyer.id}/profile`, `/v1/agents/${buyer.id}/reputation`,
      `/v1/agents/${buyer.id}/reputation/history`, `/v1/agents/${seller.id}/availability`, `/v1/agents/${seller.id}/maintenance-windows`,
      `/v1/agents/${seller.id}/certifications`, `/v1/agents/${seller.id}/badges`, '/v1/agents', '/v1/leaderboard', '/v1/listings'];
    for (const url of urls) {
      const body = (await call('GET', url, stranger.auth)).body;
      // ("available" is public on a listing's capacity; the profile's wallet is checked above)
      for (const field of ['"balance"', '"apiKey"', '"api_key', '"reservationPrice"', '"budget"']) {
        expect(body, `${url} shows ${field}`).not.toContain(field);
      }
    }
  });
});
