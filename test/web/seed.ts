/**
 * A small market seeded through the public HTTP API of a running server (for the browser tests, the
 * screenshots and the dashboard bench): agents in several countries and regions, listings in two
 * categories and three spec classes, and trades request -> negotiation -> fund -> deliver -> confirm
 * (every 7th disputed and split by the operator).
 */
export interface SeedAgent { id: string; auth: Record<string, string>; country: string; region: string; name: string }
export interface SeedListing { id: string; sellerId: string; category: string; region: string; model: string; price: string; unit: string }

export class ApiClient {
  constructor(readonly base: string, readonly admin: Record<string, string>) {}
  async req(method: string, url: string, who: Record<string, string> = {}, body?: unknown): Promise<any> {
    const r = await fetch(`${this.base}${url}`, {
      method, headers: { ...who, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  get(url: string, who: Record<string, string> = {}) { return this.req('GET', url, who); }
  post(url: string, who: Record<string, string>, body: unknown = {}) { return this.req('POST', url, who, body); }
}

const PLACES: [string, string][] = [['DE', 'eu-west'], ['FR', 'eu-west'], ['US', 'us-east'], ['US', 'us-west'], ['JP', 'ap-northeast'], ['BR', 'sa-east'], ['IN', 'ap-south'], ['GB', 'eu-west']];
const NAMES = ['atlas', 'borealis', 'cirrus', 'delta', 'ember', 'fjord', 'gale', 'helix', 'ion', 'juno', 'kestrel', 'lumen', 'meridian', 'nova', 'orion', 'pulsar'];

export async function agent(c: ApiClient, i: number, o: { type?: string } = {}): Promise<SeedAgent> {
  const [country, region] = PLACES[i % PLACES.length]!;
  const name = `${NAMES[i % NAMES.length]}-${Math.floor(i / NAMES.length) + 1}`;
  const body = await c.post('/v1/agents', {}, { displayName: name, type: o.type ?? 'both', country, region, categories: ['gpu_compute', 'inference'] });
  return { id: body.agent.id, auth: { authorization: `Bearer ${body.apiKey}` }, country, region, name };
}

export async function listing(c: ApiClient, seller: SeedAgent, o: { category: 'gpu_compute' | 'inference'; model: string; price: string }): Promise<SeedListing> {
  const gpu = o.category === 'gpu_compute';
  const body = await c.post('/v1/listings', seller.auth, {
    category: o.category, unit: gpu ? 'gpu_hour' : '1k_tokens', capacity: 1_000_000, region: seller.region, pricePerUnit: o.price,
    spec: gpu ? { gpuModel: o.model, vramGb: 80, gpuCount: 1 } : { modelName: o.model }, sla: { availability: 0.99, maxLatencyMs: 200 },
    validUntil: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  });
  return { id: body.id, sellerId: seller.id, category: o.category, region: seller.region, model: o.model, price: o.price, unit: gpu ? 'gpu_hour' : '1k_tokens' };
}

/** One trade through the API; `dispute`: the buyer disputes and the operator splits at the full price. */
export async function trade(c: ApiClient, buyer: SeedAgent, seller: SeedAgent, l: SeedListing, o: { quantity: number; price?: string; dispute?: boolean }): Promise<string> {
  const price = o.price ?? l.price;
  const spec = l.category === 'gpu_compute' ? { acceptedGpuModels: [l.model] } : { modelName: l.model };
  const req = await c.post('/v1/trade-requests', buyer.auth, {
    category: l.category, spec, quantity: o.quantity, budget: { min: '0.00000001', max: '9999' }, deadline: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const n = await c.post('/v1/negotiations', buyer.auth, { listingId: l.id, requestId: req.id, offer: { pricePerUnit: price, settlementType: 'escrow' } });
  const acc = await c.post(`/v1/negotiations/${n.id}/accept`, seller.auth, {});
  const id: string = acc.agreement.id;
  await c.post(`/v1/agreements/${id}/fund`, buyer.auth);
  await c.post(`/v1/agreements/${id}/deliver`, seller.auth, { usage: o.quantity });
  if (o.dispute) {
    await c.post(`/v1/agreements/${id}/dispute`, buyer.auth, { reason: 'not as agreed' });
    await c.post(`/v1/agreements/${id}/resolve`, c.admin, { outcome: 'split', sellerAmount: price });
  } else {
    await c.post(`/v1/agreements/${id}/confirm`, buyer.auth);
  }
  return id;
}

export interface Market { agents: SeedAgent[]; sellers: SeedAgent[]; buyers: SeedAgent[]; listings: SeedListing[]; trades: string[] }

export async function seedMarket(c: ApiClient, o: { agents?: number; trades?: number } = {}): Promise<Market> {
  const n = o.agents ?? 12;
  const agents: SeedAgent[] = [];
  for (let i = 0; i < n; i++) agents.push(await agent(c, i));
  const sellers = agents.slice(0, Math.ceil(n / 2));
  const buyers = agents.slice(Math.ceil(n / 2));
  for (const b of buyers) await c.post('/v1/admin/mint', c.admin, { agentId: b.id, amount: '100000' });
  const specs = [
    { category: 'gpu_compute' as const, model: 'H100', price: '2.5' }, { category: 'gpu_compute' as const, model: 'A100', price: '1.35' },
    { category: 'inference' as const, model: 'llama-3-70b', price: '0.0008' },
  ];
  const listings: SeedListing[] = [];
  for (let i = 0; i < sellers.length; i++) listings.push(await listing(c, sellers[i]!, specs[i % specs.length]!));
  const trades: string[] = [];
  const total = o.trades ?? 24;
  for (let i = 0; i < total; i++) {
    const l = listings[i % listings.length]!;
    const seller = sellers.find((s) => s.id === l.sellerId)!;
    // buyers and sellers of one index share a place: pair them off-by-some so trades cross borders
    const buyer = buyers[(i * 3 + 1) % buyers.length]!;
    // prices move a little around the list price, so series and volatility have something to show
    const price = (Number(l.price) * (1 + ((i * 37) % 11 - 5) / 100)).toFixed(4);
    trades.push(await trade(c, buyer, seller, l, { quantity: 1 + (i % 5), price, dispute: i % 7 === 6 }));
  }
  // a trust epoch now, so the scores weigh the trades (the job runs hourly)
  await c.post('/v1/admin/reputation/epoch', c.admin, {});
  return { agents, sellers, buyers, listings, trades };
}
