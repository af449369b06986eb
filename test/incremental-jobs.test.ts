/**
 * Background jobs that read only what changed since their last run: the same-owner detector's account
 * cache, the market index's seller refresh (completed trades), and the stream events prune. Each test
 * makes a change between two runs that only the incremental path can see, and compares with a full read.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { AITBC } from '../src/modules/reputation/evidence.types.js';
import { createReputationService } from '../src/modules/reputation/reputation.module.js';
import { AgentsService } from '../src/modules/agents/agents.service.js';
import { MarketIndex } from '../src/modules/trading/market-index.js';
import { agentDirectory } from '../src/modules/agents/agents.port.js';
import { EVENT_RETENTION_MS } from '../src/platform/events/outbox.js';
import { ledgerFirstFunders } from '../src/modules/ledger/ledger.port.js';

type Agent = Awaited<ReturnType<TestApp['registerAgent']>>;
const HOUR = 3600_000;
const publicKey = () => (generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('base64');

describe('same-owner detection reads only the agents changed since its last run', () => {
  let t: TestApp;
  let honest: Agent[];
  let trade = 0;
  const rep = () => t.app.services.reputation;
  const deal = (seller: Agent, buyer: Agent) => t.db.database.transaction((tx) => rep().recordTradeOutcome(tx, {
    tradeId: `trade-${++trade}`, sellerId: seller.id, buyerId: buyer.id, success: true, amount: 10n * AITBC, latencyMs: 30, accuracy: 0.99, slaMet: true, at: t.clock.now(),
  }));
  /** a pair that trades only with itself, both ways */
  const pairTrades = async (a: Agent, b: Agent, n = 3) => {
    for (let i = 0; i < n; i++) {
      await deal(a, b);
      await deal(b, a);
    }
  };
  /** honest agents trade in a ring (so no pair is more than a small share of the market) */
  const honestTrades = async () => {
    for (const [i, h] of honest.entries()) await deal(h, honest[(i + 1) % honest.length]!);
  };
  const members = (found: { members: string[] }[]) => found.map((c) => c.members);

  beforeAll(async () => {
    t = await buildTestApp();
    honest = [];
    for (const name of ['Acme Compute', 'Nimbus Labs', 'Zephyr AI', 'Orion Grid', 'Helios Cloud', 'Boreal Systems']) honest.push(await t.registerAgent({ displayName: name }));
  });
  afterAll(async () => { await t.close(); });

  it('sees an attribute changed after the first run, a change stamped late (within the margin), and agents that start trading later', async () => {
    // a look-alike pair registered in a burst (with the honest agents) that trades only later, and, an hour
    // later, two pairs with unrelated accounts
    const [e, f] = [await t.registerAgent({ displayName: 'gpu-node-1' }), await t.registerAgent({ displayName: 'gpu-node-2' })];
    t.clock.advance(HOUR);
    const [a, b] = [await t.registerAgent({ displayName: 'Lumen', publicKey: publicKey() }), await t.registerAgent({ displayName: 'Quartz', country: 'FR' })];
    const [c, d] = [await t.registerAgent({ displayName: 'Vega', publicKey: publicKey() }), await t.registerAgent({ displayName: 'Sirius', region: 'us-east' })];
    for (let i = 0; i < 3; i++) await honestTrades();
    await pairTrades(a, b);
    await pairTrades(c, d);
    expect(await rep().detectSameOwner()).toEqual([]);
    const first = rep().accountCache;
    expect(first.size).toBe(honest.length + 4); // the traded agents only, not every agent
    expect(first.watermark).toBe(t.clock.now().getTime());

    // an hour later b takes a's public key (through the API: updated_at from the clock)
    t.clock.advance(HOUR);
    const keyOfA = (await t.db.database.db.selectFrom('agents').select('public_key').where('id', '=', a.id).executeTakeFirstOrThrow()).public_key;
    const patch = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${b.id}`, headers: b.auth, payload: { publicKey: keyOfA } });
    expect(patch.statusCode, patch.body).toBe(200);
    await pairTrades(a, b);
    await honestTrades();
    const found = await rep().detectSameOwner();
    expect(members(found)).toEqual([[a.id, b.id].sort()]);
    expect(found[0]!.signals).toEqual(['shared_public_key']);
    expect(rep().accountCache).toEqual({ size: honest.length + 4, watermark: t.clock.now().getTime() });

    // another writer commits d's new key late, stamped 30 s before the newest change already read
    const keyOfC = (await t.db.database.db.selectFrom('agents').select('public_key').where('id', '=', c.id).executeTakeFirstOrThrow()).public_key;
    await t.db.database.db.updateTable('agents').set({ public_key: keyOfC, updated_at: new Date(t.clock.now().getTime() - 30_000) }).where('id', '=', d.id).execute();
    // e and f (registered two hours before the watermark, not read so far) start trading: read by id
    await pairTrades(e, f);
    await pairTrades(c, d);
    for (let i = 0; i < 3; i++) await honestTrades();
    const later = await rep().detectSameOwner();
    expect(members(later).sort()).toEqual([[c.id, d.id].sort(), [e.id, f.id].sort()].sort());
    expect(later.find((x) => x.members.includes(c.id))!.signals).toEqual(['shared_public_key']);
    expect(later.find((x) => x.members.includes(e.id))!.signals).toEqual(['registration_burst']);
    expect(rep().accountCache.size).toBe(honest.length + 6);

    // a process reading every agent from scratch finds nothing new: the same verdicts
    const fresh = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    expect(await fresh.detectSameOwner()).toEqual([]);
    const rows = await t.db.database.db.selectFrom('reputation_evidence').select('data').where('type', '=', 'same_owner').execute();
    expect(rows.map((r) => (r.data as { members: string[] }).members).sort()).toEqual([[a.id, b.id].sort(), [c.id, d.id].sort(), [e.id, f.id].sort()].sort());
  });

  it('does not read again, run after run, a population registered at one instant and unchanged since', async () => {
    // two runs, hours apart (a run happens only when there are new trades; the first may read again what
    // changed within the margin before the previous run)
    for (let i = 0; i < 2; i++) {
      await honestTrades();
      await rep().detectSameOwner();
      t.clock.advance(2 * HOUR);
    }
    await honestTrades();
    const read = vi.spyOn(t.app.services.agents, 'accountAttributes');
    try {
      await rep().detectSameOwner();
      expect(read).toHaveBeenCalledTimes(1);
      expect(await read.mock.results[0]!.value).toEqual([]);
      expect(rep().accountCache.watermark).toBe(t.clock.now().getTime());
    } finally {
      read.mockRestore();
    }
  });

  it('a full recompute reads the accounts again', async () => {
    // a run first, so that the cache holds (at least) the honest agents that traded
    await honestTrades();
    await rep().detectSameOwner();
    expect(rep().accountCache.size).toBeGreaterThanOrEqual(honest.length);
    await rep().recompute();
    expect(rep().accountCache).toEqual({ size: 0, watermark: null });
  });
});

describe('the market index re-counts completed trades only for sellers whose agreements changed', () => {
  let t: TestApp;
  let buyer: Agent;
  const HOUR_ISO = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
  const post = async (url: string, who: Record<string, string>, payload: unknown = {}) => t.app.inject({ method: 'POST', url, headers: who, payload: payload as object });
  const listing = async (seller: Agent) => {
    const r = await post('/v1/listings', seller.auth, {
      category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80 }, pricePerUnit: '2', capacity: 100, region: 'eu-west',
      sla: { availability: 0.99, maxLatencyMs: 100 }, validUntil: HOUR_ISO(30 * 24 * HOUR),
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  };
  /** an agreement on the listing, settled at once when funded (immediate settlement) */
  const agree = async (seller: Agent, listingId: string) => {
    const n = await post('/v1/negotiations', buyer.auth, { listingId, offer: { pricePerUnit: '2', quantity: 1, settlementType: 'immediate' } });
    expect(n.statusCode, n.body).toBe(201);
    const acc = await post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
    expect(acc.statusCode, acc.body).toBe(200);
    return acc.json().agreement.id as string;
  };
  const fund = async (agreementId: string) => {
    const f = await post(`/v1/agreements/${agreementId}/fund`, buyer.auth);
    expect(f.statusCode, f.body).toBe(200);
    expect(f.json().state).toBe('settled');
  };
  /** another process's market index: it does not hear this process's commits, so only its refresh catches up */
  const observer = () => new MarketIndex(t.db.database, t.app.services.reputation, agentDirectory(t.db.database));
  const completed = (m: MarketIndex, listingId: string) => m.index.get(listingId)?.sellerCompletedTrades;

  beforeAll(async () => {
    t = await buildTestApp();
    buyer = await t.registerAgent({ type: 'consumer' });
    expect((await post('/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '1000' })).statusCode).toBe(201);
  });
  afterAll(async () => { await t.close(); });

  it('sees an agreement settled between two refreshes, one stamped late within the margin, and new sellers', async () => {
    const [s1, s2, s3] = [await t.registerAgent(), await t.registerAgent(), await t.registerAgent()];
    const l1 = await listing(s1);
    const l2 = await listing(s2);
    await fund(await agree(s1, l1));
    const m = observer();
    await m.refreshSellers(); // the first refresh counts every indexed seller
    expect(completed(m, l1)).toBe(1);
    expect(completed(m, l2)).toBe(0);

    // s1 settles another trade, s2 its first, after the refresh
    t.clock.advance(HOUR);
    await fund(await agree(s1, l1));
    await fund(await agree(s2, l2));
    expect(completed(m, l1)).toBe(1);
    await m.refreshSellers();
    expect(completed(m, l1)).toBe(2);
    expect(completed(m, l2)).toBe(1);
    expect(await m.refreshSellers()).toBe(0);

    // an agreement of s2 whose settlement commits late, stamped 2 s before the newest change already read
    t.clock.advance(HOUR);
    const late = await agree(s2, l2);
    await m.refreshSellers();
    await t.db.database.db.updateTable('agreements').set({ state: 'settled', updated_at: new Date(t.clock.now().getTime() - 2_000) }).where('id', '=', late).execute();
    await m.refreshSellers();
    expect(completed(m, l2)).toBe(2);

    // a seller listed after the first refresh, with a trade, once the index hears of its listing
    const l3 = await listing(s3);
    await fund(await agree(s3, l3));
    m.changed();
    await m.refreshSellers();
    expect(completed(m, l3)).toBe(1);

    // the same counts as an index read from scratch
    const full = observer();
    await full.refreshSellers();
    for (const id of [l1, l2, l3]) expect(completed(m, id)).toBe(completed(full, id));
    // and as the market index of the process that made the trades
    const own = t.app.services.trading.market.marketIndex;
    await own.refreshSellers();
    for (const id of [l1, l2, l3]) expect(completed(own, id)).toBe(completed(full, id));
  });
});

describe('the stream events prune deletes only what aged out since its last run', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  const bus = () => t.app.services.outbox;
  const at = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
  const add = (offset: number, name: string) => bus().append(t.db.database.db, [{ type: 'test.event', agentIds: [], data: { name }, at: at(offset) }]);
  const left = async () => (await t.db.database.db.selectFrom('outbox_events').select(['data']).where('type', '=', 'test.event').orderBy('at').execute())
    .map((r) => (r.data as { name: string }).name);

  it('removes events past retention, including late commits within the margin; a daily sweep removes the rest', async () => {
    await sql`DELETE FROM outbox_events`.execute(t.db.database.db);
    await add(-EVENT_RETENTION_MS - 2 * HOUR, 'old');
    await add(-EVENT_RETENTION_MS - 1, 'just-expired');
    await add(-EVENT_RETENTION_MS + 30 * 60_000, 'recent');
    expect(await bus().prune()).toBe(2); // the first run deletes everything older
    expect(await left()).toEqual(['recent']);

    t.clock.advance(HOUR);
    // committed after the last run, older than its cutoff: by 30 s (within the margin) and 30 min (beyond)
    await add(-EVENT_RETENTION_MS - 30_000 - HOUR, 'late-in-margin');
    await add(-EVENT_RETENTION_MS - 30 * 60_000 - HOUR, 'late-beyond-margin');
    await add(-EVENT_RETENTION_MS + 50 * 60_000, 'new');
    expect(await bus().prune()).toBe(2);
    expect(await left()).toEqual(['late-beyond-margin', 'new']);

    for (let h = 0; h < 3; h++) {
      t.clock.advance(HOUR);
      await add(-EVENT_RETENTION_MS + 50 * 60_000, `hour-${h}`);
      await bus().prune();
    }
    expect(await left()).toEqual(['late-beyond-margin', 'hour-2']);
    t.clock.advance(24 * HOUR);
    await bus().prune();
    expect(await left()).toEqual([]);
  });
});
