/** Trade requests, the cases that work: ranked matches with breakdowns and diagnostics, and cancelling an open request. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/test-app.js';

describe('trade requests', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t?.close(); });

  it('are cancelled by their buyer while open', async () => {
    const buyer = await t.fundedBuyer();
    const r = await t.tradeRequest(buyer);
    const ok = await t.post(`/v1/trade-requests/${r.id}/cancel`, buyer.auth, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().state).toBe('cancelled');
    expect((await t.get(`/v1/trade-requests/${r.id}`, buyer.auth)).json().state).toBe('cancelled');
  });
});

describe('matches (a market of exactly three listings)', () => {
  // Matches, notifications and diagnostics count every listing in the market: this test has a market of its own.
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t?.close(); });

  it('come back ranked with breakdowns, and diagnostics say why others did not qualify', async () => {
    const [seller1, seller2, seller3] = [await t.newAgent({ type: 'provider' }), await t.newAgent({ type: 'provider' }), await t.newAgent({ type: 'provider' })];
    const buyer = await t.fundedBuyer();
    const h100 = (await t.listing(seller1, {
      spec: { gpuModel: 'H100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2.5', sla: { availability: 0.999, maxLatencyMs: 50 },
      negotiation: { strategy: 'balanced', reservationPrice: '2' },
    })).id;
    const a100 = (await t.listing(seller2, {
      spec: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2', region: 'us-east', capacity: 50, sla: { availability: 0.99, maxLatencyMs: 200 },
    })).id;
    await t.listing(seller3, { spec: { gpuModel: 'RTX4090', vramGb: 24, gpuCount: 1 }, pricePerUnit: '0.6', sla: { availability: 0.99, maxLatencyMs: 100 } });
    const r = await t.tradeRequest(buyer);
    expect(r.notifiedSellers).toBe(2);
    const m = await t.get(`/v1/trade-requests/${r.id}/matches`, buyer.auth);
    expect(m.statusCode, m.body).toBe(200);
    const body = m.json();
    expect(body.candidates.map((c: { listingId: string }) => c.listingId).sort()).toEqual([h100, a100].sort());
    expect(body.candidates[0].score).toBeGreaterThanOrEqual(body.candidates[1].score);
    for (const c of body.candidates) {
      expect(Object.keys(c.breakdown).sort()).toEqual(['capacity', 'price', 'regionLatency', 'reputation', 'sla', 'spec']);
      const sum = Object.values(c.breakdown as Record<string, { contribution: number }>).reduce((s, f) => s + f.contribution, 0);
      expect(sum).toBeCloseTo(c.score, 9);
    }
    expect(body.diagnostics.byConstraint.min_vram).toBe(1);
    expect(body.diagnostics.message).toContain('below min VRAM');
  });
});
