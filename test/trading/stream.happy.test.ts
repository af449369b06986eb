/** The live stream of trading events (server-sent events): a new request reaches the sellers it matches, negotiation events both parties, on any API process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/platform/db/database.js';
import { createLogger } from '../../src/platform/logger.js';
import { readSse } from '../helpers/sse.js';
import { ADMIN_KEY, buildTestApp, HOUR, type TestAgent, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let address: string;
beforeAll(async () => {
  t = await buildTestApp();
  address = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => { await t?.close(); });

async function openStream(at: string, who: TestAgent) {
  const ctrl = new AbortController();
  const res = await fetch(`${at}/v1/stream`, { headers: who.auth, signal: ctrl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  return readSse(res, ctrl);
}
const until = async (cond: () => boolean) => { for (let i = 0; i < 150 && !cond(); i++) await new Promise((x) => setTimeout(x, 20)); };

describe('live stream (server-sent events)', () => {
  it('delivers a new trade request to a seller whose listing matches, and negotiation events to the buyer', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const h100 = await t.listing(seller, { negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const s1 = await openStream(address, seller);
    const b = await openStream(address, buyer);
    const r = await t.tradeRequest(buyer, { deadline: t.iso(3 * HOUR), quantity: 2 });
    const n = await t.post('/v1/negotiations', buyer.auth, { listingId: h100.id, requestId: r.id, offer: { pricePerUnit: '1.7' } });
    expect(n.statusCode, n.body).toBe(201);
    await until(() => s1.received.some((e) => e.event === 'trade_request.created') && b.received.some((e) => e.event === 'negotiation.offer'));
    expect(s1.received).toContainEqual(expect.objectContaining({ event: 'trade_request.created', data: expect.objectContaining({ requestId: r.id, listingId: h100.id }) }));
    expect(b.received.map((e) => e.event)).toEqual(expect.arrayContaining(['trade_request.created', 'negotiation.opened', 'negotiation.offer']));
    expect(s1.received).toContainEqual(expect.objectContaining({ event: 'negotiation.offer', data: expect.objectContaining({ negotiationId: n.json().id }) }));
    for (const s of [s1, b]) await s.close();
    await until(() => t.streamSubscribers() === 0);
    expect(t.streamSubscribers()).toBe(0);
  });

  it('reaches a client connected to another API process (events go through the database outbox)', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer();
    const a100 = await t.listing(seller, { spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', region: 'us-east', capacity: 50 });
    const database = t.db.url ? await createDatabase({ url: t.db.url, poolSize: 2 }) : t.db.database;
    const other = await buildApp({ config: loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database, clock: t.clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
    const otherAddress = await other.listen({ port: 0, host: '127.0.0.1' });
    const s2 = await openStream(otherAddress, seller);
    const r = await t.tradeRequest(buyer, { deadline: t.iso(3 * HOUR), quantity: 1 });
    const n = await t.post('/v1/negotiations', buyer.auth, { listingId: a100.id, requestId: r.id, offer: { pricePerUnit: '1.8' } });
    expect(n.statusCode).toBe(201);
    await until(() => s2.received.some((e) => e.event === 'negotiation.offer' && e.data.negotiationId === n.json().id));
    expect(s2.received).toContainEqual(expect.objectContaining({ event: 'trade_request.created', data: expect.objectContaining({ requestId: r.id, listingId: a100.id }) }));
    expect(s2.received).toContainEqual(expect.objectContaining({ event: 'negotiation.offer', data: expect.objectContaining({ negotiationId: n.json().id, by: 'buyer' }) }));
    await s2.close();
    await other.close();
    if (database !== t.db.database) await database.close();
  });
});
