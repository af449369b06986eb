/**
 * GET /v1/stream: amounts are decimal AITBC strings equal to the REST resources'; payments, escrows and
 * ratings reach the agents they concern; reconnecting with Last-Event-ID replays exactly what was missed,
 * then continues live; an id older than the retention gets a stream.reset first.
 * Every test makes its own agents and money with the factories of test/helpers/test-app.ts (`parties`)
 * and looks only at events naming them. The Last-Event-ID tests, which count subscribers, move the clock
 * and prune the whole outbox, each build their own app (database, port); the others share one. So each
 * test runs alone and in any order.
 */
import { randomUUID } from 'node:crypto';
import { readSse, type SseEvent } from './helpers/sse.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestAgent, type TestApp } from './helpers/test-app.js';
import { EVENT_RETENTION_MS } from '../src/platform/events/outbox.js';

type Received = SseEvent;
const HOUR = 3600_000;

let t: TestApp;
let address: string;

const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
const post = (url: string, who: Record<string, string>, payload: unknown = {}) => t.app.inject({ method: 'POST', url, headers: who, payload: payload as object });
const get = (url: string, who: Record<string, string>) => t.app.inject({ method: 'GET', url, headers: who });
async function ok(r: Promise<{ statusCode: number; body: string; json: () => any }>, status = 201) {
  const res = await r;
  expect(res.statusCode, res.body).toBe(status);
  return res.json();
}

async function openStream(who: Record<string, string>, opts: { lastEventId?: string; query?: string } = {}) {
  const ctrl = new AbortController();
  const headers: Record<string, string> = { ...who, ...(opts.lastEventId !== undefined ? { 'last-event-id': opts.lastEventId } : {}) };
  const res = await fetch(`${address}/v1/stream${opts.query ?? ''}`, { headers, signal: ctrl.signal });
  expect(res.status).toBe(200);
  return readSse(res, ctrl);
}
type Stream = Awaited<ReturnType<typeof openStream>>;

const until = async (cond: () => boolean) => { for (let i = 0; i < 250 && !cond(); i++) await new Promise((x) => setTimeout(x, 20)); };
const find = (s: Stream, event: string, pred: (d: Record<string, unknown>) => boolean = () => true) => s.received.find((e) => e.event === event && pred(e.data));
async function waitFor(s: Stream, event: string, pred: (d: Record<string, unknown>) => boolean = () => true): Promise<Received> {
  await until(() => find(s, event, pred) !== undefined);
  const e = find(s, event, pred);
  expect(e, `${event} not received; got ${s.received.map((x) => x.event).join(', ')}`).toBeDefined();
  return e!;
}

async function start(): Promise<{ t: TestApp; address: string }> {
  const app = await buildTestApp();
  return { t: app, address: await app.app.listen({ port: 0, host: '127.0.0.1' }) };
}

let shared: { t: TestApp; address: string };
beforeAll(async () => {
  shared = await start();
  ({ t, address } = shared);
});

afterAll(async () => {
  await shared?.t.close();
});

/** Each test its own three agents: a seller, a buyer holding 1000 AITBC, and an agent with no money yet. */
async function parties(): Promise<{ seller: TestAgent; buyer: TestAgent; other: TestAgent }> {
  return { seller: await t.newAgent(), buyer: await t.fundedBuyer('1000', { type: 'both' }), other: await t.newAgent() };
}

/** A funded agreement for 10 units at 1.80000616 (18.0000616 AITBC): listing, request, offer, accept, fund. */
async function fundedAgreement(seller: TestAgent, buyer: TestAgent) {
  const listing = await ok(post('/v1/listings', seller.auth, {
    category: 'gpu_compute', unit: 'gpu_hour', capacity: 100, region: 'eu-west', validUntil: iso(30 * 24 * HOUR),
    spec: { gpuModel: 'H100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '1.80000616', sla: { availability: 0.99, maxLatencyMs: 100 },
  }));
  const request = await ok(post('/v1/trade-requests', buyer.auth, {
    category: 'gpu_compute', spec: { minVramGb: 80 }, quantity: 10, budget: { min: '1.5', max: '3.25' }, deadline: iso(4 * HOUR),
  }));
  const n = await ok(post('/v1/negotiations', buyer.auth, { listingId: listing.id, requestId: request.id, offer: { pricePerUnit: '1.80000616', quantity: 10 } }));
  const acc = await ok(post(`/v1/negotiations/${n.id}/accept`, seller.auth), 200);
  const agreementId = (acc.agreementId ?? acc.agreement?.id) as string;
  expect(agreementId).toBeDefined();
  await ok(post(`/v1/agreements/${agreementId}/fund`, buyer.auth), 200);
  return { listing, request, negotiation: n, agreementId };
}

describe('amounts in the stream', () => {
  it('are decimal AITBC strings equal to the REST values (trade request, negotiation, agreement)', async () => {
    const { seller, buyer } = await parties();
    const s = await openStream(seller.auth);
    const b = await openStream(buyer.auth);
    const { listing, request, negotiation: n, agreementId } = await fundedAgreement(seller, buyer);

    // REST
    const restListing = await ok(get(`/v1/listings/${listing.id}`, seller.auth), 200);
    const restRequest = await ok(get(`/v1/trade-requests/${request.id}`, buyer.auth), 200);
    const restNegotiation = await ok(get(`/v1/negotiations/${n.id}`, buyer.auth), 200);
    const restAgreement = await ok(get(`/v1/agreements/${agreementId}`, buyer.auth), 200);
    expect(restListing.pricePerUnit).toBe('1.80000616');
    expect(restAgreement.amount).toBe('18.0000616');

    // the stream, on both sides
    const sellerRequest = await waitFor(s, 'trade_request.created', (d) => d.requestId === request.id);
    expect(sellerRequest.data.pricePerUnit).toBe(restListing.pricePerUnit);
    const buyerRequest = await waitFor(b, 'trade_request.created', (d) => d.requestId === request.id);
    expect(buyerRequest.data.budget).toEqual(restRequest.budget);
    const listingCreated = await waitFor(s, 'listing.created', (d) => d.listingId === listing.id);
    expect(listingCreated.data.pricePerUnit).toBe(restListing.pricePerUnit);
    for (const x of [s, b]) {
      const offer = await waitFor(x, 'negotiation.offer', (d) => d.negotiationId === n.id);
      expect(offer.data.pricePerUnit).toBe(restNegotiation.offers[0].terms.pricePerUnit);
      expect(offer.data.terms).toEqual(restNegotiation.offers[0].terms);
      const created = await waitFor(x, 'agreement.created', (d) => d.agreementId === agreementId);
      expect(created.data.amount).toBe(restAgreement.amount);
      expect(created.data.terms).toEqual(restAgreement.terms);
      const funded = await waitFor(x, 'agreement.funded', (d) => d.agreementId === agreementId);
      expect(funded.data).toMatchObject({ amount: restAgreement.amount, released: restAgreement.released, escrowId: restAgreement.escrowId, state: 'funded' });
    }
    await s.close();
    await b.close();
  });
});

describe('events that concern the agent', () => {
  it('a transfer, a mint and an escrow reach the payee, and the sender side the payer; others hear nothing', async () => {
    const { seller, buyer, other } = await parties();
    const a = await openStream(buyer.auth);
    const p = await openStream(other.auth);
    const x = await openStream(seller.auth);
    const transferId = randomUUID();
    const tr = await ok(post('/v1/transfers', buyer.auth, { id: transferId, to: other.id, amount: '12.5' }));
    const mint = await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '0.00000001' }));
    const escrow = await ok(post('/v1/escrows', buyer.auth, { payee: other.id, amount: '100', reviewWindowSeconds: 3600 }));
    await ok(post(`/v1/escrows/${escrow.id}/deliver`, other.auth), 200);

    const received = await waitFor(p, 'transfer.received', (d) => d.transferId === transferId);
    expect(received.data).toMatchObject({ id: transferId, amount: tr.amount, code: 'payment' });
    expect(tr.amount).toBe('12.5');
    const sent = await waitFor(a, 'transfer.sent', (d) => d.transferId === transferId);
    expect(sent.data).toMatchObject({ amount: '12.5', code: 'payment' });
    const minted = await waitFor(p, 'transfer.received', (d) => d.transferId === mint.id);
    expect(minted.data).toMatchObject({ amount: '0.00000001', code: 'mint' });
    for (const s of [a, p]) {
      const held = await waitFor(s, 'escrow.held', (d) => d.escrowId === escrow.id);
      expect(held.data).toMatchObject({ amount: escrow.amount, remaining: '100', payerAgentId: buyer.id, payeeAgentId: other.id });
      expect(held.data.amount).toBe('100');
      await waitFor(s, 'escrow.delivered', (d) => d.escrowId === escrow.id);
    }
    // the funding leg is a payment out of the payer's wallet
    await waitFor(a, 'transfer.sent', (d) => d.code === 'escrow_fund' && d.reference === `escrow:${escrow.id}` && d.amount === '100');
    // the seller is in none of it
    await new Promise((r) => setTimeout(r, 300));
    expect(x.received.filter((e) => e.event.startsWith('transfer.') || e.event.startsWith('escrow.'))).toEqual([]);
    for (const s of [a, p, x]) await s.close();
  });

  it('a release pays the payee (escrow.released and transfer.received, net of the fee); a rating reaches the rated agent', async () => {
    const { seller, buyer } = await parties();
    const { agreementId } = await fundedAgreement(seller, buyer);
    const s = await openStream(seller.auth);
    const b = await openStream(buyer.auth);
    await ok(post(`/v1/agreements/${agreementId}/deliver`, seller.auth, { usage: 10, latencyMs: 50, availability: 0.995 }), 200);
    const confirmed = await ok(post(`/v1/agreements/${agreementId}/confirm`, buyer.auth), 200);
    const escrow = await ok(get(`/v1/escrows/${confirmed.escrowId}`, seller.auth), 200);
    for (const x of [s, b]) {
      const released = await waitFor(x, 'escrow.released', (d) => d.escrowId === confirmed.escrowId);
      expect(released.data).toMatchObject({ released: escrow.released, fees: escrow.fees, remaining: '0' });
      const settled = await waitFor(x, 'agreement.settled', (d) => d.agreementId === agreementId);
      expect(settled.data.released).toBe(confirmed.released);
    }
    const pay = await waitFor(s, 'transfer.received', (d) => d.code === 'escrow_release' && d.reference === `escrow:${confirmed.escrowId}`);
    expect(pay.data.amount).toBe('17.55006006'); // 18.0000616 less the 2.5% fee
    const rating = await ok(post('/v1/ratings', buyer.auth, { tradeId: agreementId, stars: 5, comment: 'fast' }));
    const r = await waitFor(s, 'rating.received', (d) => d.ratingId === rating.id);
    expect(r.data).toMatchObject({ tradeId: agreementId, raterId: buyer.id, rateeId: seller.id, stars: 5 });
    await new Promise((x) => setTimeout(x, 200));
    expect(b.received.filter((e) => e.event === 'rating.received')).toEqual([]);
    await s.close();
    await b.close();
  });

  it('a payment is one event id: transfer.sent to the payer, transfer.received to the payee, both to the operator, with the REST payload', async () => {
    const [payer, payee] = [await t.registerAgent(), await t.registerAgent()];
    await ok(post('/v1/admin/mint', t.admin, { agentId: payer.id, amount: '3' }));
    const [sp, sq, op] = [await openStream(payer.auth), await openStream(payee.auth), await openStream(t.admin)];
    const transferId = randomUUID();
    await ok(post('/v1/transfers', payer.auth, { id: transferId, to: payee.id, amount: '1.5' }));
    const rest = await ok(get(`/v1/transfers/${transferId}`, payer.auth), 200);
    const sent = await waitFor(sp, 'transfer.sent', (d) => d.transferId === transferId);
    const received = await waitFor(sq, 'transfer.received', (d) => d.transferId === transferId);
    await waitFor(op, 'transfer.received', (d) => d.transferId === transferId);
    await new Promise((r) => setTimeout(r, 200));
    const ofIt = (s: Stream) => s.received.filter((e) => e.data.transferId === transferId).map((e) => [e.event, e.id]);
    expect(ofIt(sp)).toEqual([['transfer.sent', sent.id]]);
    expect(ofIt(sq)).toEqual([['transfer.received', sent.id]]);
    expect(ofIt(op)).toEqual([['transfer.sent', sent.id], ['transfer.received', sent.id]]);
    const { at, transferId: tid, ...payload } = received.data;
    expect(tid).toBe(transferId);
    expect(typeof at).toBe('string');
    expect(payload).toEqual(rest);
    expect(sent.data).toEqual(received.data);
    // a type filter sees only its own name
    const filtered = await openStream(t.admin, { query: '?types=transfer.received' });
    const second = randomUUID();
    await ok(post('/v1/transfers', payer.auth, { id: second, to: payee.id, amount: '0.5' }));
    await waitFor(filtered, 'transfer.received', (d) => d.transferId === second);
    await new Promise((r) => setTimeout(r, 200));
    expect(filtered.received.filter((e) => e.data.transferId === second).map((e) => e.event)).toEqual(['transfer.received']);
    for (const s of [sp, sq, op, filtered]) await s.close();
  });

  it('a withdrawal is announced to its agent', async () => {
    const { other } = await parties();
    await t.mint(other.id, '12.5');
    const s = await openStream(other.auth);
    const w = await ok(post('/v1/withdrawals', other.auth, { amount: '2', address: 'aitbc1qexampleaddress0000000000' }));
    const q = await waitFor(s, 'withdrawal.queued', (d) => d.withdrawalId === w.id);
    expect(q.data.amount).toBe('2');
    await waitFor(s, 'transfer.sent', (d) => d.code === 'withdrawal_hold' && d.amount === '2');
    await s.close();
  });
});

describe('Last-Event-ID', () => {
  // its own app per test: these count subscribers, move the clock and prune everything
  beforeEach(async () => {
    ({ t, address } = await start());
  });
  afterEach(async () => {
    await t.close();
    ({ t, address } = shared);
  });

  it('replays exactly the missed events in order, then continues live, with no duplicates', async () => {
    const { seller, buyer, other } = await parties();
    const first = await openStream(other.auth);
    const m0 = await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '1' }));
    const e0 = await waitFor(first, 'transfer.received', (d) => d.transferId === m0.id);
    expect(e0.id).toMatch(/^[0-9]+$/);
    await first.close();
    await until(() => t.app.services.outbox.subscribers === 0);

    // missed: two mints, a payment from the buyer, and someone else's event in between
    const missed = [
      (await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '1.5' }))).id,
      (await ok(post('/v1/admin/mint', t.admin, { agentId: seller.id, amount: '3' }))) && null,
      (await ok(post('/v1/transfers', buyer.auth, { id: randomUUID(), to: other.id, amount: '0.25' }))).id,
      (await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '2.5' }))).id,
    ].filter((x): x is string => x !== null);

    for (const opts of [{ lastEventId: e0.id! }, { query: `?lastEventId=${e0.id}` }]) {
      const again = await openStream(other.auth, opts);
      await until(() => again.received.length >= 3);
      const live = await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '0.125' }));
      await waitFor(again, 'transfer.received', (d) => d.transferId === live.id);
      await new Promise((r) => setTimeout(r, 300));
      const got = again.received;
      expect(got.map((e) => e.data.transferId)).toEqual([...missed, live.id]);
      if (opts.lastEventId) expect(got.map((e) => e.data.amount)).toEqual(['1.5', '0.25', '2.5', '0.125']);
      const ids = got.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(ids[0]).toBeGreaterThan(Number(e0.id));
      expect(got.some((e) => e.event === 'stream.reset')).toBe(false);
      await again.close();
      missed.push(live.id);
      await until(() => t.app.services.outbox.subscribers === 0);
    }
  });

  it('the operator replays everyone\'s events; an id older than the retention gets stream.reset first', async () => {
    const { seller, other } = await parties();
    const admin = await openStream(t.admin);
    const m = await ok(post('/v1/admin/mint', t.admin, { agentId: seller.id, amount: '4' }));
    const old = await waitFor(admin, 'transfer.received', (d) => d.transferId === m.id);
    await admin.close();
    const m2 = await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '5' }));
    const replay = await openStream(t.admin, { lastEventId: old.id! });
    await waitFor(replay, 'transfer.received', (d) => d.transferId === m2.id);
    expect(replay.received[0]!.event).toBe('transfer.received');
    await replay.close();

    // everything so far ages out and is pruned
    t.clock.advance(EVENT_RETENTION_MS + HOUR);
    const count = async () => Number((await t.db.database.db.selectFrom('outbox_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const stored = await count();
    expect(stored).toBeGreaterThanOrEqual(2); // at least this test's two mints
    const newest = Number((await t.db.database.db.selectFrom('outbox_events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirstOrThrow()).m);
    expect(await t.app.services.outbox.prune()).toBe(stored);
    expect(await count()).toBe(0);
    // a consumer that keeps its own cursor (analytics) learns whether it fell behind the retention
    const outbox = t.app.services.outbox;
    expect(await outbox.cursorState('test', Number(old.id))).toEqual({ consumer: 'test', cursor: Number(old.id), prunedThrough: newest, missed: true });
    expect((await outbox.cursorState('test', newest)).missed).toBe(false);
    expect((await outbox.cursorState('test', 0)).missed).toBe(false); // a consumer that has read nothing yet starts at the oldest kept
    const m3 = await ok(post('/v1/admin/mint', t.admin, { agentId: other.id, amount: '6' }));
    const s = await openStream(other.auth, { lastEventId: old.id! });
    await waitFor(s, 'transfer.received', (d) => d.transferId === m3.id);
    expect(s.received[0]!.event).toBe('stream.reset');
    expect(Number(s.received[0]!.data.prunedThrough)).toBeGreaterThanOrEqual(Number(old.id));
    expect(s.received[0]!.data.lastEventId).toBe(old.id);
    expect(s.received.slice(1).map((e) => e.data.transferId)).toEqual([m3.id]);
    await s.close();
  });
});

describe('Last-Event-ID, malformed', () => {
  it('rejects a malformed id', async () => {
    const { other } = await parties();
    const r = await t.app.inject({ method: 'GET', url: '/v1/stream?lastEventId=abc', headers: other.auth });
    expect(r.statusCode).toBe(400);
  });
});
