/**
 * The public trade tape: GET /v1/market/trades and the live GET /v1/market/stream show each folded trade
 * with its cell, price, quantity and volume, never who traded (docs/privacy.md); the stream needs no key,
 * delivers new trades live and replays those after Last-Event-ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party, type SeedListing } from './helpers/trades.js';
import { readSse } from './helpers/sse.js';

let t: TestApp;
let address: string;
let buyer: Party;
let seller: Party;
let h100: SeedListing;

async function until(ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  t = await buildTestApp();
  address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  seller = await party(t, { country: 'US', region: 'us-east' });
  buyer = await party(t, { country: 'DE', region: 'eu-west' });
  await mint(t, buyer, '1000');
  h100 = await listing(t, seller, { gpuModel: 'H100', price: '2.5' });
  await trade(t, { buyer, seller, listing: h100, quantity: 2 });
  await trade(t, { buyer, seller, listing: h100, quantity: 3, price: '2.75' });
  await t.app.services.analytics.sync();
}, 300_000);

afterAll(async () => {
  if (!t) return;
  t.app.server.closeAllConnections();
  await t.close();
});

describe('GET /v1/market/trades', () => {
  it('lists the folded trades newest first, public fields only', async () => {
    const r = await t.get('/v1/market/trades');
    expect(r.statusCode).toBe(200);
    const { data } = r.json();
    expect(data.map((p: any) => [p.category, p.specClass, p.region, p.quantity, p.pricePerUnit, p.volume])).toEqual([
      ['gpu_compute', 'H100', 'us-east', 3, '2.75', '8.25'],
      ['gpu_compute', 'H100', 'us-east', 2, '2.5', '5'],
    ]);
    expect(Number(data[0].id)).toBeGreaterThan(Number(data[1].id));
    const text = r.body;
    for (const secret of [buyer.id, seller.id, 'DE', 'agreement']) expect(text).not.toContain(secret);
    expect(Object.keys(data[0]).sort()).toEqual(['at', 'category', 'id', 'pricePerUnit', 'quantity', 'region', 'specClass', 'volume']);
  });

  it('filters by cell and limits; bad filters are 400s', async () => {
    expect((await t.get('/v1/market/trades?category=inference')).json().data).toEqual([]);
    expect((await t.get('/v1/market/trades?limit=1')).json().data).toHaveLength(1);
    expect((await t.get('/v1/market/trades?specClass=H100&region=us-east')).json().data).toHaveLength(2);
    for (const bad of ['limit=0', 'limit=201', 'category=gold', 'region=EU%20WEST', 'buyerId=x']) {
      const r = await t.get(`/v1/market/trades?${bad}`);
      expect(r.statusCode, bad).toBe(400);
      expect(r.json().code).toBe('validation_failed');
    }
  });
});

describe('GET /v1/market/stream', () => {
  it('needs no key, sends each new trade live, and replays after Last-Event-ID', async () => {
    const first = (await t.get('/v1/market/trades?limit=2')).json().data;
    const oldest = first[1].id;
    const ctrl = new AbortController();
    const res = await fetch(`${address}/v1/market/stream`, { headers: { 'last-event-id': oldest }, signal: ctrl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const s = readSse(res, ctrl);
    try {
      // the replay: the one trade after `oldest`
      await until(5000, () => s.received.length >= 1);
      expect(s.received[0]).toMatchObject({ id: first[0].id, event: 'trade', data: { pricePerUnit: '2.75', quantity: 3 } });
      // live
      await trade(t, { buyer, seller, listing: h100, quantity: 1, price: '3' });
      await t.app.services.analytics.sync();
      await until(5000, () => s.received.length >= 2);
      expect(s.received[1]).toMatchObject({ event: 'trade', data: { pricePerUnit: '3', quantity: 1, volume: '3', region: 'us-east', specClass: 'H100' } });
      expect(Number(s.received[1]!.id)).toBeGreaterThan(Number(first[0].id));
      expect(JSON.stringify(s.received)).not.toContain(buyer.id);
      expect(JSON.stringify(s.received)).not.toContain(seller.id);
    } finally {
      await s.close();
    }
    await until(3000, () => t.app.services.analytics.tape.subscribers === 0);
  });

  it('a bad Last-Event-ID is a 400 problem, before any stream opens', async () => {
    const r = await fetch(`${address}/v1/market/stream?lastEventId=abc`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect((await r.json()).code).toBe('validation_failed');
  });
});
