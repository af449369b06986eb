/** The live stream tells an agent only what concerns it: no request its listings do not match, no negotiation it is not in. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../helpers/sse.js';
import { buildTestApp, HOUR, type TestAgent, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let address: string;
beforeAll(async () => {
  t = await buildTestApp();
  address = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => { await t?.close(); });

async function openStream(who: TestAgent) {
  const ctrl = new AbortController();
  const res = await fetch(`${address}/v1/stream`, { headers: who.auth, signal: ctrl.signal });
  expect(res.status).toBe(200);
  return readSse(res, ctrl);
}
const until = async (cond: () => boolean) => { for (let i = 0; i < 150 && !cond(); i++) await new Promise((x) => setTimeout(x, 20)); };

describe('live stream (server-sent events)', () => {
  it('a seller whose listing does not match hears nothing of a request; a seller outside a negotiation hears nothing of it', async () => {
    const [seller1, seller2, seller3] = [await t.newAgent({ type: 'provider' }), await t.newAgent({ type: 'provider' }), await t.newAgent({ type: 'provider' })];
    const buyer = await t.fundedBuyer();
    const h100 = await t.listing(seller1);
    const a100 = await t.listing(seller2, { spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', region: 'us-east', capacity: 50 });
    await t.listing(seller3, { spec: { gpuModel: 'RTX4090', vramGb: 24, gpuCount: 1 }, pricePerUnit: '0.6' });
    const [s1, s3, b] = [await openStream(seller1), await openStream(seller3), await openStream(buyer)];
    const r = await t.tradeRequest(buyer, { deadline: t.iso(3 * HOUR), quantity: 2 });
    const n = await t.post('/v1/negotiations', buyer.auth, { listingId: a100.id, requestId: r.id, offer: { pricePerUnit: '1.7' } });
    expect(n.statusCode, n.body).toBe(201);
    await until(() => s1.received.some((e) => e.event === 'trade_request.created') && b.received.some((e) => e.event === 'negotiation.offer'));
    expect(s1.received).toContainEqual(expect.objectContaining({ event: 'trade_request.created', data: expect.objectContaining({ requestId: r.id, listingId: h100.id }) }));
    // seller3's listing is below the minimum VRAM: it hears nothing of this request; seller1 is not in the negotiation
    expect(s3.received.filter((e) => e.data.requestId === r.id)).toEqual([]);
    expect(s1.received.filter((e) => e.event.startsWith('negotiation.'))).toEqual([]);
    for (const s of [s1, s3, b]) await s.close();
    await until(() => t.streamSubscribers() === 0);
    expect(t.streamSubscribers()).toBe(0);
  });
});
