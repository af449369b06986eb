/**
 * Measurements come from whoever can measure them (over HTTP, reading the evidence log the trades write):
 * the buyer's report on confirm and dispute, the seller's delivery claim only where the buyer does not
 * contradict it (contradicted fields are recorded as disputed and never averaged), the platform's own
 * time from funding to delivery and deadline, and nothing filled in where nobody measured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

type A = Awaited<ReturnType<TestApp['registerAgent']>>;
const HOUR = 3600_000;
let t: TestApp;
let seller: A;
let buyer: A;
let listingId: string;

const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
const post = (url: string, headers: Record<string, string>, payload: object = {}) => t.app.inject({ method: 'POST', url, headers, payload });
async function ok(p: ReturnType<typeof post>): Promise<any> {
  const r = await p;
  expect(r.statusCode, r.body).toBeLessThan(300);
  return r.json();
}

/** A funded agreement of one unit at 1 AITBC (SLA: 200 ms, 99%). */
async function funded(): Promise<string> {
  const n = await ok(post('/v1/negotiations', buyer.auth, { listingId, offer: { pricePerUnit: '1', quantity: 1, settlementType: 'escrow' } }));
  await ok(post(`/v1/agreements/${n.agreementId}/fund`, buyer.auth));
  return n.agreementId as string;
}
async function evidence(tradeId: string): Promise<Record<string, any>> {
  const r = await t.db.database.db.selectFrom('reputation_evidence').select('data').where('type', '=', 'trade').where('trade_id', '=', tradeId).executeTakeFirstOrThrow();
  return r.data as Record<string, any>;
}

beforeAll(async () => {
  t = await buildTestApp();
  seller = await t.registerAgent({ type: 'provider' });
  buyer = await t.registerAgent({ type: 'consumer' });
  await ok(post('/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '100' }));
  listingId = (await ok(post('/v1/listings', seller.auth, {
    category: 'gpu_compute', unit: 'gpu_hour', pricePerUnit: '1', capacity: 50, region: 'eu-west', validUntil: iso(30 * 24 * HOUR),
    sla: { availability: 0.99, maxLatencyMs: 200 }, spec: { gpuModel: 'A100', vramGb: 80 }, negotiation: { strategy: 'balanced', reservationPrice: '1' },
  }))).id;
});
afterAll(async () => t?.close());

describe('the buyer\'s report and the seller\'s claim', () => {
  it('a claim the buyer contradicts is not evidence: the buyer\'s measurement stands and the field is recorded as disputed', async () => {
    const id = await funded();
    await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, { usage: 1, latencyMs: 20, accuracy: 0.99, availability: 0.999 }));
    await ok(post(`/v1/agreements/${id}/confirm`, buyer.auth, { measurements: { latencyMs: 400, accuracy: 0.7, unitsDelivered: 1 } }));
    const d = await evidence(id);
    expect(d).toMatchObject({
      latencyMs: 400, accuracy: 0.7, slaMet: false, disputed: ['latencyMs', 'accuracy'],
      measuredBy: { latencyMs: 'buyer', accuracy: 'buyer', availability: 'seller', unitsDelivered: 'buyer', slaMet: 'platform' },
      sellerClaim: { usage: 1, latencyMs: 20, accuracy: 0.99, availability: 0.999 },
      buyer: { latencyMs: 400, accuracy: 0.7, accepted: true, unitsDelivered: 1 },
    });
    // never an average of the two
    expect(d.latencyMs).not.toBe(210);
  });

  it('within the tolerance the two agree: nothing is disputed, and the seller\'s claims the buyer did not measure count', async () => {
    const id = await funded();
    await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, { latencyMs: 100, accuracy: 0.97, availability: 0.995 }));
    // 130 ms vs 100 ms: within max(50 ms, 25%); acceptance agrees with 0.97
    await ok(post(`/v1/agreements/${id}/confirm`, buyer.auth, { measurements: { latencyMs: 130 } }));
    const d = await evidence(id);
    expect(d).toMatchObject({ latencyMs: 130, accuracy: 0.97, slaMet: true, disputed: [], measuredBy: { latencyMs: 'buyer', accuracy: 'seller', availability: 'seller' } });
  });

  it('a buyer that says nothing (the review window releases the escrow): the seller\'s claims count, attributed to the seller', async () => {
    const id = await funded();
    await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, { latencyMs: 60, accuracy: 0.9 }));
    t.clock.advance(25 * HOUR);
    await t.app.services.trading.runTimers();
    const d = await evidence(id);
    expect(d).toMatchObject({ latencyMs: 60, accuracy: 0.9, measuredBy: { latencyMs: 'seller', accuracy: 'seller' }, buyer: { latencyMs: null, accepted: null } });
  });

  it('nothing measured is nothing filled in: null, and listed as unmeasured', async () => {
    const id = await funded();
    await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, {}));
    t.clock.advance(25 * HOUR);
    await t.app.services.trading.runTimers();
    const d = await evidence(id);
    expect(d).toMatchObject({ latencyMs: null, accuracy: null, sellerClaim: null });
    expect(d.unmeasured).toEqual(expect.arrayContaining(['latencyMs', 'accuracy', 'availability', 'unitsDelivered']));
    expect(d.measuredBy).toEqual({ slaMet: 'platform' });
    // a confirmation is the buyer's acceptance: accuracy 1, measured by the buyer
    const id2 = await funded();
    await ok(post(`/v1/agreements/${id2}/deliver`, seller.auth, {}));
    await ok(post(`/v1/agreements/${id2}/confirm`, buyer.auth, {}));
    expect(await evidence(id2)).toMatchObject({ accuracy: 1, latencyMs: null, measuredBy: { accuracy: 'buyer' } });
  });

  it('a buyer\'s rejection goes to a dispute with its measurements; the operator\'s decision says whose values stand', async () => {
    const refunded = await funded();
    await ok(post(`/v1/agreements/${refunded}/deliver`, seller.auth, { accuracy: 0.99 }));
    const disputed = await ok(post(`/v1/agreements/${refunded}/dispute`, buyer.auth, { reason: 'wrong results', measurements: { accuracy: 0.2 } }));
    expect(disputed.dispute).toMatchObject({ filedBy: buyer.id, measurements: { accuracy: 0.2, accepted: false } });
    await ok(post(`/v1/agreements/${refunded}/resolve`, t.admin, { outcome: 'refund' }));
    expect(await evidence(refunded)).toMatchObject({ success: false, accuracy: 0.2, disputed: ['accuracy'], measuredBy: { accuracy: 'buyer' } });

    const released = await funded();
    await ok(post(`/v1/agreements/${released}/deliver`, seller.auth, { accuracy: 0.99 }));
    await ok(post(`/v1/agreements/${released}/dispute`, buyer.auth, { reason: 'I do not like it' }));
    await ok(post(`/v1/agreements/${released}/resolve`, t.admin, { outcome: 'release' }));
    expect(await evidence(released)).toMatchObject({ success: true, accuracy: 0.99, disputed: ['accuracy'], measuredBy: { accuracy: 'seller' } });

    const split = await funded();
    await ok(post(`/v1/agreements/${split}/deliver`, seller.auth, { accuracy: 0.99 }));
    await ok(post(`/v1/agreements/${split}/dispute`, buyer.auth, { reason: 'half of it was wrong', measurements: { accuracy: 0.5 } }));
    await ok(post(`/v1/agreements/${split}/resolve`, t.admin, { outcome: 'split', sellerAmount: '0.5' }));
    const s = await evidence(split);
    expect(s).toMatchObject({ accuracy: null, disputed: ['accuracy'] });
    expect(s.unmeasured).toContain('accuracy');
  });

  it('validates the report: out-of-range values are 400 naming the field, and only the buyer reports', async () => {
    const id = await funded();
    await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, { resultDigest: 'ab'.repeat(32) }));
    const bad = problem(await post(`/v1/agreements/${id}/confirm`, buyer.auth, { measurements: { accuracy: 2 } }));
    expect(bad.code).toBe('validation_failed');
    expect(bad.errors?.[0]?.field).toBe('body.measurements.accuracy');
    expect(problem(await post(`/v1/agreements/${id}/confirm`, buyer.auth, { measurements: { colour: 'red' } })).code).toBe('validation_failed');
    const seller400 = problem(await post(`/v1/agreements/${id}/dispute`, seller.auth, { reason: 'x', measurements: { accepted: true } }));
    expect(seller400.errors).toEqual([{ field: 'body.measurements', message: 'buyer only' }]);
    expect(problem(await post(`/v1/agreements/${id}/deliver`, seller.auth, { resultDigest: 'xyz' })).code).not.toBe('internal');
    // nothing changed: still delivered, and the digest is on the delivery
    const a = await ok(t.app.inject({ method: 'GET', url: `/v1/agreements/${id}`, headers: seller.auth }) as never);
    expect(a).toMatchObject({ state: 'delivered', delivery: { resultDigest: 'ab'.repeat(32) } });
  });
});

describe('what the platform measures itself', () => {
  it('records the time from funding to delivery and the deadline, on the delivery and in the evidence', async () => {
    const id = await funded();
    t.clock.advance(2500);
    const a = await ok(post(`/v1/agreements/${id}/deliver`, seller.auth, { latencyMs: 30 }));
    expect(a.delivery.platform).toMatchObject({ deliveryMs: 2500, deadlineMet: true });
    await ok(post(`/v1/agreements/${id}/confirm`, buyer.auth, {}));
    expect(await evidence(id)).toMatchObject({ platform: { deliveryMs: 2500, deadlineMet: true }, slaMet: true, measuredBy: { slaMet: 'platform' } });
  });

  it('a delivery deadline that passes without a delivery is a missed deadline and an unmet SLA', async () => {
    const id = await funded();
    t.clock.advance(25 * HOUR);
    await t.app.services.trading.runTimers();
    expect(await evidence(id)).toMatchObject({ success: false, slaMet: false, platform: { deliveryMs: null, deadlineMet: false }, measuredBy: { slaMet: 'platform' } });
  });
});
