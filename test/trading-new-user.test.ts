/**
 * The "new user" issue, defects 5 and 12, over HTTP: nonsense is a 4xx where it enters (problem+json naming
 * the field and what is allowed), and trade request states and listing capacity say what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

const HOUR = 3600_000;
let t: TestApp;
type Who = { id: string; auth: Record<string, string> };
let seller: Who;
let buyer: Who;

const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
const post = (url: string, who: Record<string, string>, payload: object = {}) => t.app.inject({ method: 'POST', url, headers: who, payload });
const patch = (url: string, who: Record<string, string>, payload: object) => t.app.inject({ method: 'PATCH', url, headers: who, payload });
const get = (url: string, who: Record<string, string>) => t.app.inject({ method: 'GET', url, headers: who });
const LISTING = {
  category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80 }, pricePerUnit: '2.5', capacity: 50, region: 'eu-west',
  sla: { availability: 0.99, maxLatencyMs: 100 },
};
async function listing(body: object = {}, who = seller) {
  const r = await post('/v1/listings', who.auth, { ...LISTING, validUntil: iso(30 * 24 * HOUR), ...body });
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}
async function request(body: object = {}) {
  const r = await post('/v1/trade-requests', buyer.auth, { category: 'gpu_compute', spec: {}, quantity: 10, budget: { max: '3' }, deadline: iso(6 * HOUR), ...body });
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}
/** An agreement on `listingId`: the buyer offers, the seller accepts; funded when `fund`. */
async function agree(listingId: string, opts: { quantity?: number; requestId?: string; deliveryDeadline?: string; fund?: boolean } = {}) {
  const n = await post('/v1/negotiations', buyer.auth, {
    listingId, ...(opts.requestId ? { requestId: opts.requestId } : {}), ...(opts.deliveryDeadline ? { deliveryDeadline: opts.deliveryDeadline } : {}),
    offer: { pricePerUnit: '2.5', quantity: opts.quantity ?? 10 },
  });
  expect(n.statusCode, n.body).toBe(201);
  const a = await post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
  expect(a.statusCode, a.body).toBe(200);
  const agreement = a.json().agreement;
  if (opts.fund) expect((await post(`/v1/agreements/${agreement.id}/fund`, buyer.auth)).statusCode).toBe(200);
  return agreement as { id: string };
}
async function settle(agreementId: string) {
  expect((await post(`/v1/agreements/${agreementId}/deliver`, seller.auth, { usage: 10 })).statusCode).toBe(200);
  const c = await post(`/v1/agreements/${agreementId}/confirm`, buyer.auth);
  expect(c.json().state).toBe('settled');
}
const capacityOf = async (id: string) => (await get(`/v1/listings/${id}`, seller.auth)).json().capacity;
const stateOf = async (id: string) => (await get(`/v1/trade-requests/${id}`, buyer.auth)).json();

beforeAll(async () => {
  t = await buildTestApp();
  seller = await t.registerAgent({ type: 'provider', categories: ['gpu_compute', 'inference'] });
  buyer = await t.registerAgent({ type: 'consumer', categories: ['gpu_compute'] });
  expect((await post('/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '100000' })).statusCode).toBe(201);
});

afterAll(async () => {
  await t?.close();
});

describe('defect 5: nonsense is a 4xx where it enters', () => {
  it('a listing whose delegated reservation price is above its asking price is a 400 naming the field', async () => {
    const r = await post('/v1/listings', seller.auth, { ...LISTING, validUntil: iso(HOUR), negotiation: { strategy: 'balanced', reservationPrice: '3' } });
    expect(problem(r).code).toBe('validation_failed');
    expect(problem(r).errors).toEqual([{ field: 'body.negotiation.reservationPrice', message: expect.stringMatching(/must not exceed pricePerUnit 2\.5.*got 3/) }]);
    // the same nonsense reached by a patch: the reservation, or the price lowered below it
    const l = await listing({ negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const up = await patch(`/v1/listings/${l.id}`, seller.auth, { negotiation: { strategy: 'balanced', reservationPrice: '2.6' } });
    expect(problem(up).errors?.[0]?.field).toBe('body.negotiation.reservationPrice');
    const down = await patch(`/v1/listings/${l.id}`, seller.auth, { pricePerUnit: '1.5' });
    expect(problem(down).errors).toEqual([{ field: 'body.pricePerUnit', message: expect.stringContaining('reservation price 2') }]);
    // equal is fine: the seller holds its price
    expect((await patch(`/v1/listings/${l.id}`, seller.auth, { pricePerUnit: '2' })).statusCode).toBe(200);
  });

  it('a buyer delegation whose target is above its reservation is a 400 naming the field', async () => {
    const l = await listing();
    const r = await post('/v1/negotiations', buyer.auth, { listingId: l.id, delegate: { strategy: 'balanced', targetPrice: '2.8', reservationPrice: '2.2' } });
    expect(problem(r).code).toBe('validation_failed');
    expect(problem(r).errors).toEqual([{ field: 'body.delegate.targetPrice', message: expect.stringMatching(/must not exceed reservationPrice 2\.2.*got 2\.8/) }]);
  });

  it('an offer for more units than the listing has is a 400 at the offer, not a 409 at accept', async () => {
    const l = await listing();
    const r = await post('/v1/negotiations', buyer.auth, { listingId: l.id, offer: { pricePerUnit: '2.5', quantity: 100_000 } });
    expect(problem(r).code).toBe('validation_failed');
    expect(problem(r).errors).toEqual([{ field: 'body.offer.quantity', message: 'must not exceed the listing\'s capacity of 50 units (50 free now)' }]);
    // a counter-offer too
    const n = (await post('/v1/negotiations', buyer.auth, { listingId: l.id, offer: { pricePerUnit: '2', quantity: 5 } })).json();
    const c = await post(`/v1/negotiations/${n.id}/offers`, seller.auth, { pricePerUnit: '2.5', quantity: 51 });
    expect(problem(c).errors?.[0]?.field).toBe('body.quantity');
    // the trade request's quantity, when the offer takes it (a delegated buyer's opening, or an offer without quantity)
    const big = await request({ quantity: 80 });
    const d = await post('/v1/negotiations', buyer.auth, { listingId: l.id, requestId: big.id, delegate: { strategy: 'balanced', targetPrice: '2', reservationPrice: '2.5' } });
    expect(problem(d).errors?.[0]).toMatchObject({ field: 'body.requestId', message: expect.stringContaining('capacity of 50 units') });
    expect(problem(d).detail).toContain(`trade request ${big.id} asks for 80 units`);
    const o = await post('/v1/negotiations', buyer.auth, { listingId: l.id, requestId: big.id, offer: { pricePerUnit: '2.5' } });
    expect(problem(o).errors?.[0]?.field).toBe('body.requestId');
  });

  it('an agent registered as consumer cannot create listings (403, only provider or both)', async () => {
    const r = await post('/v1/listings', buyer.auth, { ...LISTING, validUntil: iso(HOUR) });
    expect(problem(r).code).toBe('forbidden');
    expect(r.json()).toMatchObject({ reason: 'not_a_provider', agentType: 'consumer' });
    expect(problem(r).detail).toContain('only provider or both agents may create listings');
  });

  it('a listing in a category the agent never registered is a 400 naming the agent\'s categories', async () => {
    const r = await post('/v1/listings', seller.auth, { ...LISTING, category: 'training', validUntil: iso(HOUR) });
    expect(problem(r).code).toBe('validation_failed');
    expect(problem(r).errors).toEqual([{ field: 'body.category', message: 'must be one of the agent\'s registered categories: gpu_compute, inference' }]);
    expect(r.json().categories).toEqual(['gpu_compute', 'inference']);
  });

  it('a delegated target of 1.8 opens at exactly 1.8', async () => {
    const l = await listing();
    for (const strategy of ['aggressive', 'balanced', 'cooperative']) {
      const n = await post('/v1/negotiations', buyer.auth, { listingId: l.id, delegate: { strategy, targetPrice: '1.8', reservationPrice: '2.2' } });
      expect(n.statusCode, n.body).toBe(201);
      expect(n.json().offers[0].terms.pricePerUnit, strategy).toBe('1.8');
    }
  });
});

describe('defect 12: states and capacity say what happened', () => {
  it('a trade request is agreed while its agreement is live and fulfilled only when it settles', async () => {
    const l = await listing();
    const r = await request();
    expect(r.state).toBe('open');
    const a = await agree(l.id, { requestId: r.id, fund: true });
    expect(await stateOf(r.id)).toMatchObject({ state: 'agreed', agreementId: a.id });
    // an agreed request is neither cancelled by its buyer nor negotiated on again
    expect(problem(await post(`/v1/trade-requests/${r.id}/cancel`, buyer.auth)).code).toBe('invalid_transition');
    await settle(a.id);
    expect(await stateOf(r.id)).toMatchObject({ state: 'fulfilled', agreementId: a.id });
  });

  it('a request whose agreement ends without a trade reopens, or expires when its deadline has passed', async () => {
    const l = await listing();
    // not funded by its funding deadline (before the request's deadline): cancelled, the request is open again
    const r = await request({ deadline: iso(6 * HOUR) });
    await agree(l.id, { requestId: r.id, deliveryDeadline: iso(HOUR) });
    t.clock.advance(HOUR + 1000);
    await t.app.services.trading.runTimers();
    expect(await stateOf(r.id)).toMatchObject({ state: 'open', agreementId: null });
    // and it can be agreed again
    const again = await agree(l.id, { requestId: r.id, fund: true });
    expect(await stateOf(r.id)).toMatchObject({ state: 'agreed', agreementId: again.id });
    // funded, never delivered: refunded at the delivery deadline (= the request's deadline), the request expires
    t.clock.advance(5 * HOUR);
    await t.app.services.trading.runTimers();
    expect((await get(`/v1/agreements/${again.id}`, buyer.auth)).json().state).toBe('refunded');
    expect(await stateOf(r.id)).toMatchObject({ state: 'expired', agreementId: null });
  });

  it('concurrent capacity (the default) is held while an agreement is live and comes back when it ends', async () => {
    const l = await listing();
    expect(l.capacity).toEqual({ model: 'concurrent', total: 50, reserved: 0, consumed: 0, available: 50 });
    const a = await agree(l.id, { fund: true });
    expect(await capacityOf(l.id)).toEqual({ model: 'concurrent', total: 50, reserved: 10, consumed: 0, available: 40 });
    await settle(a.id);
    expect(await capacityOf(l.id)).toEqual({ model: 'concurrent', total: 50, reserved: 0, consumed: 0, available: 50 });
  });

  it('stock capacity is consumed by a settled agreement and returned by one that ends without a trade; matching sees what is left', async () => {
    const l = await listing({ capacity: 20, capacityModel: 'stock' });
    expect(l.capacity).toEqual({ model: 'stock', total: 20, reserved: 0, consumed: 0, available: 20 });
    const a = await agree(l.id, { fund: true });
    await settle(a.id);
    expect(await capacityOf(l.id)).toEqual({ model: 'stock', total: 20, reserved: 0, consumed: 10, available: 10 });
    // refunded by the escrow's delivery deadline: the units come back
    const b = await agree(l.id, { quantity: 10, deliveryDeadline: iso(HOUR), fund: true });
    expect(await capacityOf(l.id)).toMatchObject({ reserved: 10, consumed: 10, available: 0 });
    t.clock.advance(HOUR + 1000);
    await t.app.services.trading.runTimers();
    expect((await get(`/v1/agreements/${b.id}`, buyer.auth)).json().state).toBe('refunded');
    expect(await capacityOf(l.id)).toEqual({ model: 'stock', total: 20, reserved: 0, consumed: 10, available: 10 });
    // matching filters by what is left: 10 units match, 11 do not; the capacity cannot shrink below what was sold
    const ten = await request({ quantity: 10 });
    const m10 = (await get(`/v1/trade-requests/${ten.id}/matches?limit=50`, buyer.auth)).json();
    expect(m10.candidates.map((c: { listingId: string }) => c.listingId)).toContain(l.id);
    const eleven = await request({ quantity: 11 });
    const m11 = (await get(`/v1/trade-requests/${eleven.id}/matches?limit=50`, buyer.auth)).json();
    expect(m11.candidates.map((c: { listingId: string }) => c.listingId)).not.toContain(l.id);
    expect(problem(await post('/v1/negotiations', buyer.auth, { listingId: l.id, offer: { pricePerUnit: '2.5', quantity: 11 } })).code).toBe('conflict');
    expect(problem(await patch(`/v1/listings/${l.id}`, seller.auth, { capacity: 9 })).code).toBe('conflict');
    expect((await patch(`/v1/listings/${l.id}`, seller.auth, { capacity: 10 })).json().capacity).toMatchObject({ total: 10, consumed: 10, available: 0 });
  });
});
