/**
 * The built-in verifier over HTTP: it buys challenge jobs through the ordinary trade flow, a right digest
 * is a passed probe with the platform-measured response time, a wrong or missing digest (or no delivery)
 * a failed one, it never commits more than its budget (also with two runs at once, and on PostgreSQL with
 * two service instances on one database), it is made once across restarts, and a seller cannot tell its
 * challenge from an ordinary buyer's request by any field it can read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { onPostgres } from './helpers/test-db.js';
import { createServices } from '../src/app.js';
import { createDatabase } from '../src/platform/db/database.js';
import { itemDigestsOf, jobDigest, type JobSpec } from '../src/modules/verifier/workloads.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import { formatAmount } from '../src/platform/money.js';

type A = Awaited<ReturnType<TestApp['registerAgent']>>;
const HOUR = 3600_000;

let t: TestApp;
const iso = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();
const post = (url: string, headers: Record<string, string>, payload: object = {}) => t.app.inject({ method: 'POST', url, headers, payload });
const put = (url: string, headers: Record<string, string>, payload: object) => t.app.inject({ method: 'PUT', url, headers, payload });
const get = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'GET', url, headers });
async function ok<T = any>(p: Promise<{ statusCode: number; body: string; json(): unknown }>): Promise<T> {
  const r = await p;
  expect(r.statusCode, r.body).toBeLessThan(300);
  return r.json() as T;
}

async function seller(price: string, category = 'gpu_compute', auto = true): Promise<A & { listingId: string }> {
  const s = await t.registerAgent({ type: 'provider', categories: [category] });
  const l = await ok(post('/v1/listings', s.auth, {
    category, unit: category === 'gpu_compute' ? 'gpu_hour' : 'job', pricePerUnit: price, capacity: 10, region: 'eu-west', validUntil: iso(30 * 24 * HOUR),
    sla: { availability: 0.99, maxLatencyMs: 500 }, spec: category === 'gpu_compute' ? { gpuModel: 'A100', vramGb: 80 } : category === 'inference' ? { modelName: 'llama-3-8b' } : {},
    ...(auto ? { negotiation: { strategy: 'balanced', reservationPrice: price } } : {}),
  }));
  return { ...s, listingId: l.id };
}

/** A seller agent's loop: its funded agreements, the job of each request, and a delivery with the digest `answer` gives. */
async function deliverAll(s: A, answer: (job: JobSpec) => string | undefined, waitMs = 0): Promise<number> {
  const list = await ok(get(`/v1/agreements?role=seller&state=funded`, s.auth));
  let n = 0;
  for (const a of list.data) {
    const req = await ok(get(`/v1/trade-requests/${a.requestId}`, s.auth));
    t.clock.advance(waitMs);
    const digest = req.job ? answer(req.job as JobSpec) : undefined;
    await ok(post(`/v1/agreements/${a.id}/deliver`, s.auth, { usage: 1, ...(digest ? { resultDigest: digest } : {}) }));
    n++;
  }
  return n;
}

const run = (body: object = {}) => ok<any>(post('/v1/admin/verifier/run', t.admin, body));
const probes = (sellerId: string) => t.db.database.db.selectFrom('reputation_evidence').selectAll().where('type', '=', 'probe').where('subject_id', '=', sellerId).execute();

const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  for (const c of cleanups) await c();
  await t?.close();
});

describe('the verifier\'s identity', () => {
  it('is made once: a restart (another service instance on the same database) and concurrent starts find the same agents', async () => {
    const before = Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM agents`.execute(t.db.database.db)).rows[0]!.n);
    const other = createServices({ database: t.db.database, clock: t.clock });
    const [a, b] = await Promise.all([t.app.services.verifier.ensure(), other.verifier.ensure()]);
    expect(a).toEqual(b);
    const again = await createServices({ database: t.db.database, clock: t.clock }).verifier.ensure();
    expect(again).toEqual(a);
    const after = Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM agents`.execute(t.db.database.db)).rows[0]!.n);
    expect(after - before).toBe(2); // the buyer and the probe
    const cfg = await ok(get('/v1/admin/verifier', t.admin));
    expect(cfg).toMatchObject({ agentId: a.buyerId, probeId: a.probeId, enabled: true, challengesPerRun: 3, maxPrice: '1', dailyBudget: '10' });
    // the buyer's record is an ordinary consumer's
    const rec = await ok(get(`/v1/agents/${a.buyerId}`, {}));
    expect(rec.type).toBe('consumer');
    expect(JSON.stringify(rec)).not.toMatch(/verif|probe|platform|challenge|test/i);
    expect(rec.country).toMatch(/^[A-Z]{2}$/);
    expect(rec.displayName).toMatch(/^[A-Z][a-z]+ [A-Z][A-Za-z]+$/);
  });

  it('only the operator reads and changes its configuration; bad changes are 400 and change nothing', async () => {
    const s = await t.registerAgent();
    expect(problem(await get('/v1/admin/verifier', s.auth)).status).toBe(403);
    expect(problem(await put('/v1/admin/verifier', t.admin, { maxPrice: '0' })).errors).toEqual([{ field: 'body.maxPrice', message: 'must be greater than zero' }]);
    expect(problem(await put('/v1/admin/verifier', t.admin, { challengesPerRun: -1 })).code).toBe('validation_failed');
    expect(problem(await put('/v1/admin/verifier', t.admin, {})).code).toBe('validation_failed');
    expect((await ok(get('/v1/admin/verifier', t.admin))).maxPrice).toBe('1');
    const changed = await ok(put('/v1/admin/verifier', t.admin, { maxPrice: '2.5', cooldownHours: 0 }));
    expect(changed).toMatchObject({ maxPrice: '2.5', cooldownHours: 0, dailyBudget: '10' });
    expect(await ok(put('/v1/admin/verifier', t.admin, { maxPrice: '1', cooldownHours: 24 }))).toMatchObject({ maxPrice: '1', cooldownHours: 24 });
  });
});

describe('challenges', () => {
  let honest: A & { listingId: string };
  let cheat: A & { listingId: string };
  let lazy: A & { listingId: string };
  let absent: A & { listingId: string };

  beforeAll(async () => {
    [honest, cheat, lazy, absent] = [await seller('0.5'), await seller('0.5', 'inference'), await seller('0.4', 'data_services'), await seller('0.3')];
    const f = await post('/v1/admin/verifier/fund', t.admin, { amount: '5', id: '00000000-0000-7000-8000-000000000001' });
    expect(f.statusCode, f.body).toBe(201);
    // the same id again is a no-op
    expect((await post('/v1/admin/verifier/fund', t.admin, { amount: '5', id: '00000000-0000-7000-8000-000000000001' })).statusCode).toBe(200);
    expect((await ok(get('/v1/admin/verifier/budget', t.admin))).balance).toBe('5');
  });

  it('buy through the ordinary trade flow; a right digest is a passed probe with the measured response time', async () => {
    const r = await run({ sellerIds: [honest.id] });
    expect(r.started).toHaveLength(1);
    expect(r.started[0]).toMatchObject({ sellerId: honest.id, listingId: honest.listingId, reason: 'newcomer', amount: '0.5' });
    expect(r.funded).toBe(1);
    // the seller's agent answers the job in 1.5 s
    expect(await deliverAll(honest, jobDigest, 1500)).toBe(1);
    const r2 = await run({ sellerIds: [honest.id] });
    expect(r2.passed).toBe(1);
    const ev = await probes(honest.id);
    expect(ev).toHaveLength(1);
    const id = await t.app.services.verifier.ensure();
    const b = await ok(get('/v1/admin/verifier/budget', t.admin));
    const ch = b.history.find((c: any) => c.sellerId === honest.id);
    // the turnaround is the platform's 1.5 s; the response time takes off what the workload took the verifier itself
    expect(ch).toMatchObject({ state: 'passed', amount: '0.5', result: { reason: 'digest_ok', turnaroundMs: 1500 } });
    expect(ch.result.computeMs).toBeGreaterThanOrEqual(0);
    expect(ch.result.responseMs).toBeCloseTo(Math.max(0, 1500 - ch.result.computeMs), 0);
    expect(ev[0]).toMatchObject({ producer_id: id.probeId, data: { responseMs: ch.result.responseMs, available: true, accuracy: 1 } });
    // the agreement was confirmed: the seller was paid, as by any buyer
    const a = await ok(get(`/v1/agreements/${ch.agreementId}`, honest.auth));
    expect(a.state).toBe('settled');
    expect(b.balance).toBe('4.5');
    // the probe is pre-trusted (as PUT /v1/reputation/probes/{id} does), the buyer is not
    expect((await ok(get('/v1/reputation/probes', {}))).data).toContain(id.probeId);
    expect((await ok(get(`/v1/agents/${id.buyerId}/reputation`, {}))).probe).toBe(false);
  });

  it('a wrong digest and a missing digest are failed probes: the verifier rejects (disputes) the delivery', async () => {
    await run({ sellerIds: [cheat.id, lazy.id] });
    await deliverAll(cheat, () => 'ab'.repeat(32));
    await deliverAll(lazy, () => undefined);
    const r = await run({ sellerIds: [cheat.id, lazy.id] });
    expect(r.failed).toBe(2);
    for (const [s, reason] of [[cheat, 'wrong_digest'], [lazy, 'missing_digest']] as const) {
      const ev = await probes(s.id);
      expect(ev).toHaveLength(1);
      expect(ev[0]!.data).toMatchObject({ available: true, accuracy: 0 });
      const ch = (await ok(get('/v1/admin/verifier/budget', t.admin))).history.find((c: any) => c.sellerId === s.id);
      expect(ch).toMatchObject({ state: 'failed', result: { reason } });
      const a = await ok(get(`/v1/agreements/${ch.agreementId}`, s.auth));
      expect(a.state).toBe('disputed');
      expect(a.dispute).toMatchObject({ measurements: { accepted: false } });
    }
  });

  it('a graded answer (item digests) with one wrong item is a failed probe whose accuracy is the share of items right', async () => {
    const partial = await seller('0.2', 'inference');
    await run({ sellerIds: [partial.id] });
    const list = await ok(get(`/v1/agreements?role=seller&state=funded`, partial.auth));
    expect(list.data).toHaveLength(1);
    const req = await ok(get(`/v1/trade-requests/${list.data[0].requestId}`, partial.auth));
    const items = itemDigestsOf(req.job as JobSpec);
    items[0] = 'cd'.repeat(32);
    await ok(post(`/v1/agreements/${list.data[0].id}/deliver`, partial.auth, { usage: 1, resultDigest: 'ab'.repeat(32), itemDigests: items }));
    expect((await run({ sellerIds: [partial.id] })).failed).toBe(1);
    const ev = await probes(partial.id);
    expect(ev).toHaveLength(1);
    expect((ev[0]!.data as { accuracy: number }).accuracy).toBeCloseTo((items.length - 1) / items.length, 9);
    const ch = (await ok(get('/v1/admin/verifier/budget', t.admin))).history.find((c: any) => c.sellerId === partial.id);
    expect(ch).toMatchObject({ state: 'failed', result: { reason: 'wrong_digest', itemsRight: items.length - 1, items: items.length } });
    // the right digest with item digests is a pass at accuracy 1; bad item digests are a 400 naming the field
    const r = await post(`/v1/agreements/${list.data[0].id}/deliver`, partial.auth, { itemDigests: ['zz'] });
    expect(r.statusCode).toBe(400);
    expect(r.body).toContain('itemDigests');
  });

  it('nothing delivered by the deadline is a failed probe that says unavailable; the escrow refunds the budget', async () => {
    const before = (await ok(get('/v1/admin/verifier/budget', t.admin))).balance;
    await run({ sellerIds: [absent.id] });
    expect((await ok(get('/v1/admin/verifier/budget', t.admin))).balance).not.toBe(before);
    t.clock.advance(3 * HOUR);
    await t.app.services.trading.runTimers();
    const r = await run({ sellerIds: [absent.id] });
    expect(r.failed).toBe(1);
    const ev = await probes(absent.id);
    expect(ev[0]!.data).toMatchObject({ available: false, accuracy: 0 });
    expect((await ok(get('/v1/admin/verifier/budget', t.admin))).balance).toBe(before);
  });

  it('a seller whose negotiation does not agree costs nothing (the reservation is released)', async () => {
    const manual = await seller('0.2', 'gpu_compute', false);
    const r = await run({ sellerIds: [manual.id] });
    expect(r.started).toHaveLength(1);
    expect(r.funded).toBe(0);
    const n = (await ok(get('/v1/negotiations?status=open', manual.auth))).data[0];
    await ok(post(`/v1/negotiations/${n.id}/reject`, manual.auth, {}));
    const r2 = await run({ sellerIds: [manual.id] });
    expect(r2.abandoned).toBe(1);
    const b = await ok(get('/v1/admin/verifier/budget', t.admin));
    expect(b.reserved).toBe('0');
    expect(b.history.find((c: any) => c.sellerId === manual.id)).toMatchObject({ state: 'abandoned' });
    expect((await ok(get(`/v1/trade-requests/${b.history.find((c: any) => c.sellerId === manual.id).requestId}`, manual.auth))).state).toBe('cancelled');
  });
});

describe('the budget', () => {
  it('is never exceeded, also by two runs at once (and by two service instances on one PostgreSQL database)', async () => {
    const t2 = await buildTestApp();
    const prev = t;
    t = t2;
    try {
      // sellers that negotiate by hand: a challenge's price stays reserved (not yet in escrow) until the seller agrees
      const sellers = [];
      for (let i = 0; i < 6; i++) sellers.push(await seller('0.3', 'gpu_compute', false));
      await ok(post('/v1/admin/verifier/fund', t.admin, { amount: '1' }));
      await ok(put('/v1/admin/verifier', t.admin, { challengesPerRun: 6 }));
      // on PostgreSQL a second service instance with its own pool (another process); on PGlite the same one
      const db2 = onPostgres ? await createDatabase({ url: t.db.url!, poolSize: 4 }) : undefined;
      cleanups.push(async () => db2?.close());
      const other = db2 ? createServices({ database: db2, clock: t.clock }).verifier : t.app.services.verifier;
      const runs = await Promise.all([t.app.services.verifier.run(), other.run()]);
      const all = { started: runs.flatMap((r) => r.started), skipped: runs.flatMap((r) => r.skipped) };
      const started = all.started.length;
      // 1 AITBC buys three challenges at 0.3, not four, and no seller is challenged twice at once
      expect(started).toBe(3);
      expect(new Set(all.started.map((x) => x.sellerId)).size).toBe(3);
      expect(all.skipped.some((s) => /budget wallet/.test(s.reason))).toBe(true);
      expect((await ok(get('/v1/admin/verifier/budget', t.admin))).reserved).toBe('0.9');
      // the sellers agree: the verifier funds what it reserved
      for (const s of sellers) {
        const open = (await ok(get('/v1/negotiations?status=open', s.auth))).data;
        for (const n of open) await ok(post(`/v1/negotiations/${n.id}/accept`, s.auth, {}));
      }
      expect((await t.app.services.verifier.run()).funded).toBe(3);
      const acct = await t.app.services.ledger.getAccount(walletAccountId((await t.app.services.verifier.ensure()).buyerId));
      expect(acct!.credits_posted - acct!.debits_posted - acct!.debits_pending).toBe(10_000_000n);
      const audit = await ok(get('/v1/admin/ledger/audit', t.admin));
      expect(audit.ok).toBe(true);
      // the daily budget binds too: more money in the wallet, but 0.9 of a 1.0 daily budget already committed
      await ok(post('/v1/admin/verifier/fund', t.admin, { amount: '10' }));
      await ok(put('/v1/admin/verifier', t.admin, { dailyBudget: '1' }));
      const c = await t.app.services.verifier.run();
      expect(c.started).toHaveLength(0);
      expect(c.skipped.some((s) => /daily budget/.test(s.reason))).toBe(true);
      const bud = await ok(get('/v1/admin/verifier/budget', t.admin));
      expect(bud).toMatchObject({ committedLast24h: '0.9', dailyBudget: '1', remaining: '0.1' });
      expect(bud.ledger.filter((l: any) => l.direction === 'in').map((l: any) => l.amount).sort()).toEqual(['1', '10']);
    } finally {
      t = prev;
      await t2.close();
    }
  });

  it('takes its configured share of platform fees, once', async () => {
    const t3 = await buildTestApp();
    const prev = t;
    t = t3;
    try {
      const s = await seller('10');
      const buyer = await t.registerAgent({ type: 'consumer' });
      await ok(post('/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '100' }));
      const n = await ok(post('/v1/negotiations', buyer.auth, { listingId: s.listingId, offer: { pricePerUnit: '10', quantity: 1 } }));
      await ok(post(`/v1/agreements/${n.agreementId}/fund`, buyer.auth));
      await ok(post(`/v1/agreements/${n.agreementId}/confirm`, buyer.auth, {}));
      const fees = (await t.app.services.ledger.getAccount(SYSTEM_ACCOUNTS.fees))!.credits_posted;
      expect(fees).toBeGreaterThan(0n);
      await ok(put('/v1/admin/verifier', t.admin, { feeShareBps: 5000, challengesPerRun: 0 }));
      const r = await run();
      const half = fees / 2n;
      expect(r.feeShareSwept).toBe(formatAmount(half));
      expect((await run()).feeShareSwept).toBe('0');
      const bud = await ok(get('/v1/admin/verifier/budget', t.admin));
      expect(bud.feeShare).toEqual({ bps: 5000, swept: formatAmount(half) });
      expect(bud.balance).toBe(formatAmount(half));
    } finally {
      t = prev;
      await t3.close();
    }
  });
});

describe('a seller cannot tell a challenge from an ordinary request', () => {
  /** The JSON's structure: every key, and each value's kind (uuid, time, hex, number, string, boolean, null). */
  function skeleton(x: unknown): unknown {
    if (Array.isArray(x)) return x.map(skeleton);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, skeleton(v)]));
    if (typeof x === 'string') {
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(x)) return 'uuid';
      if (/^\d{4}-\d\d-\d\dT/.test(x)) return 'time';
      if (/^[0-9a-f]{16,}$/.test(x)) return 'hex';
      return 'string';
    }
    return x === null ? null : typeof x;
  }

  it('compares every resource the seller can read, field by field', async () => {
    const s = await seller('0.6');
    const id = await t.app.services.verifier.ensure();
    await ok(put('/v1/admin/verifier', t.admin, { challengesPerRun: 1 }));
    await ok(post('/v1/admin/verifier/fund', t.admin, { amount: '1' }));
    // an ordinary buyer doing what a careful buyer does: a request with a job, the listing's price, funding, confirmation
    const persona = await ok(get(`/v1/agents/${id.buyerId}`, s.auth));
    const buyer = await t.registerAgent({ type: 'consumer', displayName: 'Harbor Robotics', categories: persona.categories, country: persona.country, region: persona.region });
    await ok(post('/v1/admin/mint', t.admin, { agentId: buyer.id, amount: '10' }));
    const job = { workload: 'hash-chain', seed: 'c0ffee'.repeat(5) + '00', size: 1500 };
    const req = await ok(post('/v1/trade-requests', buyer.auth, {
      category: 'gpu_compute', spec: { acceptedGpuModels: ['A100'] }, quantity: 1, budget: { max: '0.6' }, deadline: iso(2 * HOUR), job,
    }));
    const n = await ok(post('/v1/negotiations', buyer.auth, { listingId: s.listingId, requestId: req.id, offer: { pricePerUnit: '0.6', quantity: 1, settlementType: 'escrow' } }));
    await ok(post(`/v1/agreements/${n.agreementId}/fund`, buyer.auth));
    // the verifier's challenge on the same listing
    const r = await run({ sellerIds: [s.id] });
    expect(r.started).toHaveLength(1);
    await deliverAll(s, jobDigest, 1000);
    await ok(post(`/v1/agreements/${n.agreementId}/confirm`, buyer.auth, { measurements: { accepted: true } }));
    expect((await run({ sellerIds: [s.id] })).passed).toBe(1);

    const mine = (await ok(get(`/v1/agreements?role=seller`, s.auth))).data;
    expect(mine).toHaveLength(2);
    const ordinary = mine.find((a: any) => a.buyerId === buyer.id);
    const challenge = mine.find((a: any) => a.buyerId === id.buyerId);
    expect(challenge).toBeTruthy();
    const view = async (a: any) => ({
      agreement: await ok(get(`/v1/agreements/${a.id}`, s.auth)),
      request: await ok(get(`/v1/trade-requests/${a.requestId}`, s.auth)),
      negotiation: await ok(get(`/v1/negotiations/${a.negotiationId}`, s.auth)),
      buyer: await ok(get(`/v1/agents/${a.buyerId}`, s.auth)),
      profile: await ok(get(`/v1/agents/${a.buyerId}/profile`, s.auth)),
      reputation: await ok(get(`/v1/agents/${a.buyerId}/reputation`, s.auth)),
    });
    const o = await view(ordinary);
    const c = await view(challenge);
    for (const k of Object.keys(o) as (keyof typeof o)[]) expect(skeleton(c[k]), k).toEqual(skeleton(o[k]));
    // the values that are not ids, times or seeds are the same
    const same = (v: Awaited<ReturnType<typeof view>>) => ({
      state: v.agreement.state, terms: v.agreement.terms, amount: v.agreement.amount, review: v.agreement.reviewWindowSeconds, escrow: v.agreement.escrow.state,
      actions: v.agreement.events.map((e: any) => [e.action, e.actor.startsWith('agent:') ? 'agent' : e.actor]),
      confirm: v.agreement.events.find((e: any) => e.action === 'confirm').detail,
      request: { state: v.request.state, quantity: v.request.quantity, urgency: v.request.urgency, explorationShare: v.request.explorationShare, spec: v.request.spec, workload: v.request.job.workload },
      negotiation: { status: v.negotiation.status, maxRounds: v.negotiation.maxRounds, offers: v.negotiation.offers.length, requireSignatures: v.negotiation.requireSignatures, delegated: v.negotiation.delegated },
      buyer: { type: v.buyer.type, status: v.buyer.status, publicKey: v.buyer.publicKey, capacity: v.buyer.capacity, sla: v.buyer.sla },
      probe: v.reputation.probe,
    });
    expect(same(c)).toEqual(same(o));
    // nothing the seller reads names the verifier or its probe
    const text = JSON.stringify(c);
    expect(text).not.toContain(id.probeId);
    // (`identityVerified` is every profile's certification field, the same for any buyer)
    expect(text.replaceAll('"identityVerified"', '""')).not.toMatch(/verif|challenge|probe"\s*:\s*true/i);
  });
});
