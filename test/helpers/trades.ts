/**
 * Real trades through the HTTP API, for analytics tests and seeded volume: agents, listings, and a loop
 * of request -> negotiation (the buyer offers, the seller accepts) -> fund -> deliver -> confirm (or a
 * dispute the operator resolves with a split or a refund). Time moves on the test clock between steps,
 * so times to agreement and settlement are known.
 */
import type { TestApp } from './test-app.js';

export interface Party { id: string; auth: Record<string, string>; country: string; region: string }
export interface SeedListing { id: string; sellerId: string; category: string; region: string; gpuModel: string; price: string }

export type Outcome = 'settle' | 'split' | 'refund';

export interface TradeSpec {
  buyer: Party;
  seller: Party;
  listing: SeedListing;
  /** unit price (AITBC), default the listing's */
  price?: string;
  quantity: number;
  outcome?: Outcome;
  /** ms from request to agreement, and from agreement to settlement (default 60 s and 10 min) */
  agreeAfterMs?: number;
  settleAfterMs?: number;
}

export interface TradeResult { requestId: string; agreementId: string; requestedAt: Date; agreedAt: Date; endedAt: Date }

async function post(t: TestApp, url: string, who: Record<string, string>, payload: unknown = {}) {
  const r = await t.app.inject({ method: 'POST', url, headers: who, payload: payload as object });
  if (r.statusCode >= 300) throw new Error(`POST ${url}: ${r.statusCode} ${r.body}`);
  return r.json();
}

export async function party(t: TestApp, o: { country?: string; region?: string } = {}): Promise<Party> {
  const country = o.country ?? 'DE';
  const region = o.region ?? 'eu-west';
  const a = await t.registerAgent({ country, region, categories: ['gpu_compute', 'inference'] });
  return { id: a.id, auth: a.auth, country, region };
}

export async function mint(t: TestApp, p: Party, amount: string): Promise<void> {
  await post(t, '/v1/admin/mint', t.admin, { agentId: p.id, amount });
}

export async function listing(t: TestApp, seller: Party, o: { gpuModel: string; price: string; region?: string; capacity?: number; category?: string }): Promise<SeedListing> {
  const region = o.region ?? seller.region;
  const category = o.category ?? 'gpu_compute';
  const body = await post(t, '/v1/listings', seller.auth, {
    category, unit: 'gpu_hour', capacity: o.capacity ?? 1_000_000, region, pricePerUnit: o.price,
    spec: { gpuModel: o.gpuModel, vramGb: 80, gpuCount: 1 }, sla: { availability: 0.99, maxLatencyMs: 200 },
    validUntil: new Date(t.clock.now().getTime() + 365 * 86_400_000).toISOString(),
  });
  return { id: body.id, sellerId: seller.id, category, region, gpuModel: o.gpuModel, price: o.price };
}

/** One trade, start to end, over HTTP. */
export async function trade(t: TestApp, s: TradeSpec): Promise<TradeResult> {
  const price = s.price ?? s.listing.price;
  const requestedAt = t.clock.now();
  const req = await post(t, '/v1/trade-requests', s.buyer.auth, {
    category: s.listing.category, spec: { acceptedGpuModels: [s.listing.gpuModel] }, quantity: s.quantity,
    budget: { min: '0.00000001', max: '9999' }, deadline: new Date(requestedAt.getTime() + 30 * 86_400_000).toISOString(),
  });
  t.clock.advance(s.agreeAfterMs ?? 60_000);
  const n = await post(t, '/v1/negotiations', s.buyer.auth, { listingId: s.listing.id, requestId: req.id, offer: { pricePerUnit: price, settlementType: 'escrow' } });
  const acc = await post(t, `/v1/negotiations/${n.id}/accept`, s.seller.auth, {});
  const agreementId: string = acc.agreement.id;
  const agreedAt = t.clock.now();
  await post(t, `/v1/agreements/${agreementId}/fund`, s.buyer.auth);
  await post(t, `/v1/agreements/${agreementId}/deliver`, s.seller.auth, { usage: s.quantity });
  t.clock.advance(s.settleAfterMs ?? 600_000);
  const outcome = s.outcome ?? 'settle';
  if (outcome === 'settle') {
    await post(t, `/v1/agreements/${agreementId}/confirm`, s.buyer.auth);
  } else {
    await post(t, `/v1/agreements/${agreementId}/dispute`, s.buyer.auth, { reason: 'not as agreed' });
    const body = outcome === 'split' ? { outcome: 'split', sellerAmount: price } : { outcome: 'refund' };
    await post(t, `/v1/agreements/${agreementId}/resolve`, t.admin, body);
  }
  return { requestId: req.id, agreementId, requestedAt, agreedAt, endedAt: t.clock.now() };
}

/** `n` trades cycling through buyers and listings, with prices and quantities from `shape` (seeded volume). */
export async function trades(t: TestApp, n: number, o: {
  buyers: readonly Party[]; listings: readonly SeedListing[]; sellers: ReadonlyMap<string, Party>;
  shape?: (i: number) => Partial<TradeSpec>;
}): Promise<TradeResult[]> {
  const out: TradeResult[] = [];
  for (let i = 0; i < n; i++) {
    const listing = o.listings[i % o.listings.length]!;
    const spec: TradeSpec = { buyer: o.buyers[i % o.buyers.length]!, seller: o.sellers.get(listing.sellerId)!, listing, quantity: 1 + (i % 4), ...o.shape?.(i) };
    out.push(await trade(t, spec));
  }
  return out;
}
