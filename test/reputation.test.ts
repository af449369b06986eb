import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { generateKeyPairSync } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { AITBC, DAY_MS } from '../src/modules/reputation/evidence.types.js';
import type { TradeOutcomeEvidence } from '../src/modules/reputation/reputation.port.js';
import { ledgerFirstFunders } from '../src/modules/ledger/ledger.port.js';

type Agent = Awaited<ReturnType<TestApp['registerAgent']>>;

describe('reputation: evidence, scores, ratings, probes, leaderboard, history', () => {
  let t: TestApp;
  let probe: Agent;
  let sellers: Agent[];
  let buyers: Agent[];
  let trade = 0;

  const rep = () => t.app.services.reputation;
  const now = () => t.clock.now();
  const record = (e: Partial<TradeOutcomeEvidence> & { sellerId: string; buyerId: string }) =>
    t.db.database.transaction(async (tx) => {
      const ev: TradeOutcomeEvidence = { tradeId: `trade-${++trade}`, success: true, amount: 10n * AITBC, latencyMs: 30, accuracy: 0.99, slaMet: true, at: now(), ...e };
      await rep().recordTradeOutcome(tx, ev);
      return ev.tradeId;
    });
  const get = async (id: string) => {
    const res = await t.app.inject(`/v1/agents/${id}/reputation`);
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const probeMeasure = (agentId: string, accuracy: number, by: Agent = probe) =>
    t.app.inject({ method: 'POST', url: '/v1/evidence', headers: by.auth, payload: { type: 'probe', agentId, responseMs: 30, available: true, accuracy } });

  /** A probe agent marked by the operator (each test that needs one marks its own). */
  const newProbe = async () => {
    const p = await t.registerAgent({ displayName: 'probe' });
    expect((await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${p.id}`, headers: t.admin })).statusCode).toBe(201);
    return p;
  };

  // The established market the score tests read: four sellers (two gpu_compute, eu-west and us-east; two
  // inference) and four buyers that trade over four days, measured daily by a probe; seller 3 fails every other
  // trade and is less accurate. Built once, by the first test that needs it, so that every test sees the same
  // market whether it runs alone or with the others; tests that assert exact counts use agents of their own.
  let history: Promise<void> | undefined;
  const established = () => (history ??= (async () => {
    probe = await newProbe();
    for (let d = 0; d < 4; d++) {
      for (const b of buyers) for (const s of sellers) await record({ sellerId: s.id, buyerId: b.id, success: s !== sellers[3] || d % 2 === 0, accuracy: s === sellers[3] ? 0.7 : 0.99 });
      for (const [i, s] of sellers.entries()) expect((await probeMeasure(s.id, [0.99, 0.97, 0.8, 0.6][i]!)).statusCode).toBe(201);
      t.clock.advance(DAY_MS);
    }
  })());

  beforeAll(async () => {
    t = await buildTestApp();
    sellers = [];
    for (let i = 0; i < 4; i++) sellers.push(await t.registerAgent({ region: i % 2 === 0 ? 'eu-west' : 'us-east', categories: i < 2 ? ['gpu_compute'] : ['inference'] }));
    buyers = [];
    for (let i = 0; i < 4; i++) buyers.push(await t.registerAgent({ type: 'consumer' }));
  });
  afterAll(async () => { await t.close(); });

  it('a newcomer has the floor score, unrated, with its reasons; unknown agents are 404', async () => {
    const newcomer = await t.registerAgent();
    const r = await get(newcomer.id);
    expect(r).toMatchObject({ agentId: newcomer.id, trustScore: 0, level: 'unrated', observations: 0, probe: false });
    expect(r.communityRating).toEqual({ value: null, observations: 0 });
    const x = await t.app.inject(`/v1/agents/${newcomer.id}/reputation/explain`);
    expect(x.statusCode).toBe(200);
    expect(x.json().notes[0]).toMatch(/newcomer/);
    const missing = await t.app.inject('/v1/agents/01900000-0000-7000-8000-000000000000/reputation');
    expect(missing.statusCode).toBe(404);
    expect(problem(missing).code).toBe('not_found');
    expect((await t.app.inject('/v1/agents/not-a-uuid/reputation')).statusCode).toBe(400);
    const scores = await rep().trustScores([newcomer.id, 'unknown']);
    expect([...scores.values()]).toEqual([0, 0]);
  });

  it('probe agents are marked by the operator and their measurements are evidence', async () => {
    const probe = await t.registerAgent({ displayName: 'probe' });
    const measured: Agent[] = [];
    for (let i = 0; i < 4; i++) measured.push(await t.registerAgent());
    const notProbe = await probeMeasure(measured[0]!.id, 0.99, probe);
    expect(notProbe.statusCode).toBe(403);
    const probesBefore = (await t.app.inject('/v1/reputation/probes')).json().data as string[];
    const anon = await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}` });
    expect(anon.statusCode).toBe(401);
    const byAgent = await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: probe.auth });
    expect(byAgent.statusCode).toBe(403);
    const add = await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: t.admin });
    expect(add.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: t.admin })).statusCode).toBe(200);
    expect(((await t.app.inject('/v1/reputation/probes')).json().data as string[]).sort()).toEqual([...probesBefore, probe.id].sort());
    for (const [i, s] of measured.entries()) {
      const res = await probeMeasure(s.id, [0.99, 0.97, 0.8, 0.6][i]!, probe);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ type: 'probe', agentId: s.id, producerId: probe.id });
    }
    // a probe cannot measure itself, the operator must name the probe, and validation is strict
    expect((await probeMeasure(probe.id, 1, probe)).statusCode).toBe(400);
    const noProbeId = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: t.admin, payload: { type: 'probe', agentId: measured[0]!.id, responseMs: 10, available: true, accuracy: 1 } });
    expect(noProbeId.statusCode).toBe(400);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'probe', agentId: measured[0]!.id, responseMs: 10, available: true, accuracy: 2 } });
    expect(bad.statusCode).toBe(400);
    expect((await get(probe.id)).probe).toBe(true);
    expect((await get(measured[0]!.id)).observations).toBe(1);
  });

  it('community actions and reliability attestations come from the operator only', async () => {
    const probe = await newProbe();
    const subject = await t.registerAgent();
    const byAgent = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: subject.auth, payload: { type: 'community', agentId: subject.id, kind: 'mentorship' } });
    expect(byAgent.statusCode).toBe(403);
    const byProbe = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'reliability', agentId: subject.id, kind: 'uptime', value: 1 } });
    expect(byProbe.statusCode).toBe(403);
    const anon = await t.app.inject({ method: 'POST', url: '/v1/evidence', payload: { type: 'community', agentId: subject.id, kind: 'forum' } });
    expect(anon.statusCode).toBe(401);
    const ok1 = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: t.admin, payload: { type: 'community', agentId: subject.id, kind: 'mentorship' } });
    expect(ok1.statusCode).toBe(201);
    const ok2 = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: t.admin, payload: { type: 'reliability', agentId: subject.id, kind: 'security', value: 0.999 } });
    expect(ok2.statusCode).toBe(201);
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: t.admin, payload: { type: 'community', agentId: '01900000-0000-7000-8000-000000000000', kind: 'forum' } });
    expect(unknown.statusCode).toBe(404);
    const x = (await t.app.inject(`/v1/agents/${subject.id}/reputation/explain`)).json();
    expect(x.counts.community).toBe(1);
    expect(x.counts.reliability).toBe(1);
  });

  it('trade outcomes are written in the caller\'s transaction: a rollback leaves no evidence', async () => {
    const [seller, buyer] = [await t.registerAgent(), await t.registerAgent({ type: 'consumer' })];
    const before = (await get(seller.id)).observations;
    await expect(t.db.database.transaction(async (tx) => {
      await rep().recordTradeOutcome(tx, { tradeId: 'rolled-back', sellerId: seller.id, buyerId: buyer.id, success: true, amount: AITBC, at: now() });
      throw new Error('settlement failed');
    })).rejects.toThrow('settlement failed');
    expect((await get(seller.id)).observations).toBe(before);
    const id = await record({ sellerId: seller.id, buyerId: buyer.id });
    // the same outcome twice (a retried settlement) is recorded once
    await t.db.database.transaction((tx) => rep().recordTradeOutcome(tx, { tradeId: id, sellerId: seller.id, buyerId: buyer.id, success: true, amount: AITBC, at: now() }));
    const x = (await t.app.inject(`/v1/agents/${seller.id}/reputation/explain`)).json();
    expect(x.counts.tradesAsSeller).toBe(1);
    // garbage measurements are stored as unknown rather than trusted
    const g = await record({ sellerId: seller.id, buyerId: buyer.id, latencyMs: -5, accuracy: 2 });
    const row = await t.db.database.db.selectFrom('reputation_evidence').selectAll().where('trade_id', '=', g).executeTakeFirstOrThrow();
    expect(row.data).toMatchObject({ latencyMs: null, accuracy: null, success: true });
  });

  it('the evidence log is append-only', async () => {
    // (the guard is a row trigger: it needs a row to refuse)
    await record({ sellerId: sellers[0]!.id, buyerId: buyers[0]!.id });
    const rows = await t.db.database.db.selectFrom('reputation_evidence').select('id').execute();
    await expect(sql`UPDATE reputation_evidence SET source = 'x'`.execute(t.db.database.db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM reputation_evidence`.execute(t.db.database.db)).rejects.toThrow(/append-only/);
    expect(await t.db.database.db.selectFrom('reputation_evidence').select('id').execute()).toEqual(rows);
  });

  it('ratings: only a party of a recorded trade, once per trade and side', async () => {
    const seller = await t.registerAgent();
    const [buyer1, buyer2] = [await t.registerAgent({ type: 'consumer' }), await t.registerAgent({ type: 'consumer' })];
    const tradeId = await record({ sellerId: seller.id, buyerId: buyer1.id });
    const rate = (who: Agent, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/ratings', headers: who.auth, payload });
    const ok = await rate(buyer1, { tradeId, stars: 5, comment: 'fast and accurate' });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ tradeId, raterId: buyer1.id, rateeId: seller.id, stars: 5, comment: 'fast and accurate' });
    const dup = await rate(buyer1, { tradeId, stars: 1 });
    expect(dup.statusCode).toBe(409);
    expect(problem(dup).code).toBe('conflict');
    const otherSide = await rate(seller, { tradeId, stars: 4 });
    expect(otherSide.statusCode).toBe(201);
    expect(otherSide.json().rateeId).toBe(buyer1.id);
    expect((await rate(buyer2, { tradeId, stars: 1 })).statusCode).toBe(403);
    expect((await rate(buyer1, { tradeId: 'no-such-trade', stars: 5 })).statusCode).toBe(404);
    expect((await rate(buyer1, { tradeId, stars: 6 })).statusCode).toBe(400);
    expect((await rate(buyer1, { tradeId, stars: 3, extra: 1 })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/v1/ratings', payload: { tradeId, stars: 5 } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/v1/ratings', headers: t.admin, payload: { tradeId, stars: 5 } })).statusCode).toBe(403);
    // an Idempotency-Key replays the first response instead of a 409
    const t2 = await record({ sellerId: seller.id, buyerId: buyer2.id });
    const h = { ...buyer2.auth, 'idempotency-key': 'rate-once' };
    const a = await t.app.inject({ method: 'POST', url: '/v1/ratings', headers: h, payload: { tradeId: t2, stars: 4 } });
    const b = await t.app.inject({ method: 'POST', url: '/v1/ratings', headers: h, payload: { tradeId: t2, stars: 4 } });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.json().id).toBe(a.json().id);
    const r = await get(seller.id);
    expect(r.communityRating.observations).toBe(2);
  });

  it('disputes are recorded for both parties; a lost dispute lowers the score at once', async () => {
    // seller 2 has a record (the established market)
    await established();
    const before = await get(sellers[2]!.id);
    expect(before.trustScore).toBeGreaterThan(0);
    const tradeId = await record({ sellerId: sellers[2]!.id, buyerId: buyers[0]!.id, success: false, amount: 500n * AITBC });
    await t.db.database.transaction((tx) => rep().recordDisputeOutcome(tx, { tradeId, sellerId: sellers[2]!.id, buyerId: buyers[0]!.id, filedBy: buyers[0]!.id, outcome: 'refund', at: now() }));
    const after = await get(sellers[2]!.id);
    expect(after.trustScore).toBeLessThan(before.trustScore);
    const x = (await t.app.inject(`/v1/agents/${sellers[2]!.id}/reputation/explain`)).json();
    expect(x.counts.disputesLost).toBe(1);
    const bx = (await t.app.inject(`/v1/agents/${buyers[0]!.id}/reputation/explain`)).json();
    expect(bx.counts.disputes).toBe(1);
    expect(bx.counts.disputesLost).toBe(0);
  });

  it('scores order sellers by measured quality; the profile shows the published metrics', async () => {
    await established();
    const s = await Promise.all(sellers.map((x) => get(x.id)));
    expect(s[0].trustScore).toBeGreaterThan(s[3].trustScore);
    expect(s[1].trustScore).toBeGreaterThan(s[3].trustScore);
    for (const r of s) {
      expect(r.trustScore).toBeGreaterThanOrEqual(0);
      expect(r.trustScore).toBeLessThanOrEqual(1000);
    }
    expect(s[0].performanceRating.value).toBeGreaterThan(3);
    expect(s[0].reliability.value).toBe(100);
    const profile = (await t.app.inject(`/v1/agents/${sellers[0]!.id}/profile`)).json();
    expect(profile.reputation).toMatchObject({ trustScore: s[0].trustScore, trustLevel: s[0].level, observations: s[0].observations });
    const port = await rep().trustScores(sellers.map((x) => x.id));
    expect([...port.values()]).toEqual(s.map((r) => r.trustScore));
  });

  it('explain shows counterparties only to the agent itself and the operator', async () => {
    await established();
    const anon = (await t.app.inject(`/v1/agents/${sellers[0]!.id}/reputation/explain`)).json();
    expect(anon.recent.length).toBeGreaterThan(0);
    expect(anon.recent.every((r: { counterparty?: string }) => r.counterparty === undefined)).toBe(true);
    expect(anon.components.map((c: { name: string }) => c.name)).toEqual(['performance', 'transactions', 'community', 'reliability', 'disputes']);
    const own = (await t.app.inject({ url: `/v1/agents/${sellers[0]!.id}/reputation/explain`, headers: sellers[0]!.auth })).json();
    expect(own.recent.some((r: { counterparty?: string }) => typeof r.counterparty === 'string')).toBe(true);
    const other = (await t.app.inject({ url: `/v1/agents/${sellers[0]!.id}/reputation/explain`, headers: sellers[1]!.auth })).json();
    expect(other.recent.every((r: { counterparty?: string }) => r.counterparty === undefined)).toBe(true);
    const admin = (await t.app.inject({ url: `/v1/agents/${sellers[0]!.id}/reputation/explain`, headers: t.admin })).json();
    expect(admin.recent.some((r: { counterparty?: string }) => typeof r.counterparty === 'string')).toBe(true);
  });

  it('trades between agents of one owner (same public key) count for nothing', async () => {
    const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
    const a = await t.registerAgent({ publicKey: raw });
    const b = await t.registerAgent({ publicKey: raw });
    for (let k = 0; k < 5; k++) await record({ sellerId: a.id, buyerId: b.id });
    const x = (await t.app.inject(`/v1/agents/${a.id}/reputation/explain`)).json();
    expect(x.discounted.same_owner).toBe(5);
    expect(x.score).toBe(0);
  });

  it('leaderboard: by trust score, filtered by category and region, paginated', async () => {
    await established();
    const all = (await t.app.inject('/v1/leaderboard?limit=200')).json();
    const scores = all.data.map((e: { trustScore: number }) => e.trustScore);
    expect(scores).toEqual([...scores].sort((x: number, y: number) => y - x));
    expect(all.data[0].rank).toBe(1);
    const gpu = (await t.app.inject('/v1/leaderboard?category=gpu_compute&region=eu-west')).json();
    const gpuIds = gpu.data.map((e: { agentId: string; region: string; categories: string[] }) => {
      expect(e.region).toBe('eu-west');
      expect(e.categories).toContain('gpu_compute');
      return e.agentId;
    });
    expect(gpuIds).toContain(sellers[0]!.id);
    for (const s of sellers.slice(1)) expect(gpuIds).not.toContain(s.id);
    const inference = (await t.app.inject('/v1/leaderboard?category=inference')).json();
    expect(inference.data.map((e: { agentId: string }) => e.agentId).sort()).toEqual([sellers[2]!.id, sellers[3]!.id].sort());
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; json(): { data: { agentId: string }[]; nextCursor: string | null } } = await t.app.inject(`/v1/leaderboard?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      pages.push(...body.data.map((e: { agentId: string }) => e.agentId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(all.data.map((e: { agentId: string }) => e.agentId));
    expect((await t.app.inject('/v1/leaderboard?cursor=nonsense')).statusCode).toBe(400);
    expect((await t.app.inject('/v1/leaderboard?limit=0')).statusCode).toBe(400);
  });

  it('history: snapshots over time, newest first, paginated', async () => {
    await established();
    await rep().snapshot();
    t.clock.advance(2 * 3_600_000);
    await record({ sellerId: sellers[0]!.id, buyerId: buyers[3]!.id });
    await rep().snapshot();
    const res = await t.app.inject(`/v1/agents/${sellers[0]!.id}/reputation/history?limit=1`);
    expect(res.statusCode).toBe(200);
    const first = res.json();
    expect(first.data).toHaveLength(1);
    expect(first.data[0].trustScore).toBe((await get(sellers[0]!.id)).trustScore);
    const second = (await t.app.inject(`/v1/agents/${sellers[0]!.id}/reputation/history?limit=1&cursor=${first.nextCursor}`)).json();
    expect(second.data).toHaveLength(1);
    expect(Date.parse(second.data[0].at)).toBeLessThan(Date.parse(first.data[0].at));
    expect((await t.app.inject('/v1/agents/01900000-0000-7000-8000-000000000000/reputation/history')).statusCode).toBe(404);
  });

  it('a full recompute from the evidence log gives the same scores as the incremental updates', async () => {
    await established();
    const ids = [...sellers, ...buyers, probe].map((a) => a.id);
    const incremental = await Promise.all(ids.map(async (id) => (await t.app.inject(`/v1/agents/${id}/reputation/explain`)).json()));
    await rep().recompute();
    const full = await Promise.all(ids.map(async (id) => (await t.app.inject(`/v1/agents/${id}/reputation/explain`)).json()));
    expect(full.map((x) => [x.score, x.raw, x.components])).toEqual(incremental.map((x) => [x.score, x.raw, x.components]));
    // and a second service on the same database (another process) converges on the same scores
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    const other = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    const a = await rep().trustScores(ids);
    const b = await other.trustScores(ids);
    expect([...b.entries()]).toEqual([...a.entries()]);
  });
});

describe('reputation: the projection follows the log even when rows become visible out of order', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  it('a row committed after later rows (a gap that fills) triggers a replay; the scores equal a fresh recompute', async () => {
    const rep = t.app.services.reputation;
    const seller = await t.registerAgent();
    const buyer = await t.registerAgent();
    const db = t.db.database.db;
    const trade = (tradeId: string, success: boolean) =>
      t.db.database.transaction((tx) => rep.recordTradeOutcome(tx, { tradeId, sellerId: seller.id, buyerId: buyer.id, success, amount: 20n * AITBC, latencyMs: 20, accuracy: 0.99, slaMet: success, at: t.clock.now() }));
    await trade('a', true);
    await rep.trustScores([seller.id]);
    const last = rep.stats.lastSeq;
    // a concurrent transaction took seq last+1..last+10 and has not committed yet
    await sql`SELECT setval(pg_get_serial_sequence('reputation_evidence', 'seq'), ${String(last + 10n)}::bigint)`.execute(db);
    await trade('b', true);
    await rep.trustScores([seller.id]);
    expect(rep.stats.lastSeq).toBe(last + 11n);
    expect(rep.stats.rebuilds).toBe(0);
    // ... now it commits: its row has a lower seq than rows already applied
    await db.insertInto('reputation_evidence').values({
      seq: last + 5n, id: '01900000-0000-8000-8000-0000000000aa', type: 'trade', subject_id: seller.id, producer_id: buyer.id, trade_id: 'late',
      at: t.clock.now(), data: JSON.stringify({ success: false, amount: '0' }), source: 'test', created_at: t.clock.now(),
    }).execute();
    const after = await rep.trustScores([seller.id]);
    expect(rep.stats.rebuilds).toBe(1);
    const x = (await t.app.inject(`/v1/agents/${seller.id}/reputation/explain`)).json();
    expect(x.counts.tradesAsSeller).toBe(3);
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    const fresh = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    expect(await fresh.trustScores([seller.id])).toEqual(after);
  });

  it('documents its routes in the OpenAPI document', async () => {
    const res = await t.app.inject('/docs/json');
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    for (const p of ['/v1/agents/{id}/reputation', '/v1/agents/{id}/reputation/history', '/v1/agents/{id}/reputation/explain', '/v1/ratings', '/v1/evidence', '/v1/leaderboard', '/v1/reputation/probes/{id}']) {
      expect(paths).toContain(p);
    }
  });

  it('registers its background jobs with the server', () => {
    const names = t.app.services.jobs.map((j) => j.name);
    expect(names).toContain('reputation.sync');
    expect(names).toContain('reputation.snapshots');
  });
});

describe('reputation: same-owner clusters detected from account signals and trades', () => {
  let t: TestApp;
  let probe: Agent;
  let sybils: Agent[];
  let funded: Agent[];
  let owner: Agent;
  let honest: Agent[];
  let buyers: Agent[];
  let n = 0;
  const rep = () => t.app.services.reputation;
  const trade = (seller: Agent, buyer: Agent, aitbc: number) =>
    t.db.database.transaction((tx) => rep().recordTradeOutcome(tx, {
      tradeId: `so-${++n}`, sellerId: seller.id, buyerId: buyer.id, success: true, amount: BigInt(Math.round(aitbc * 100)) * (AITBC / 100n), latencyMs: 20, accuracy: 0.99, slaMet: true, at: t.clock.now(),
    }));
  const explainOf = async (id: string, headers: Record<string, string> = {}) => (await t.app.inject({ url: `/v1/agents/${id}/reputation/explain`, headers })).json();
  /** a ring trades with itself both ways, amounts growing 30% a trade (never a closed loop of equal amounts) */
  let amount = 5;
  const washRound = async (ring: Agent[]) => {
    for (const [i, a] of ring.entries()) {
      const b = ring[(i + 1) % ring.length]!;
      await trade(a, b, (amount *= 1.3));
      await trade(b, a, (amount *= 1.3));
      if (amount > 1e6) amount = 5;
    }
  };

  beforeAll(async () => {
    t = await buildTestApp();
    probe = await t.registerAgent({ displayName: 'Probe One' });
    await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: t.admin });
    // honest providers of one region, registered the same minute, with their own names
    honest = [];
    for (const name of ['Acme Compute', 'Nimbus Labs', 'Zephyr AI', 'Orion Grid']) honest.push(await t.registerAgent({ displayName: name }));
    // look-alike accounts registered in a burst
    sybils = [];
    for (let k = 0; k < 4; k++) sybils.push(await t.registerAgent({ displayName: `gpu-node-${k}` }));
    // consumers (also look-alike, also a burst: they buy from everyone, never from each other)
    buyers = [];
    for (let k = 0; k < 5; k++) buyers.push(await t.registerAgent({ type: 'consumer', displayName: `buyer-${k}` }));
    // one wallet funds three agents with unrelated names, registered days apart
    owner = await t.registerAgent({ displayName: 'Treasury' });
    expect((await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: owner.id, amount: '1000' } })).statusCode).toBe(201);
    funded = [];
    for (const [k, name] of ['Lumen', 'Quartz', 'Vega'].entries()) {
      t.clock.advance(DAY_MS);
      const a = await t.registerAgent({ displayName: name, region: ['us-east', 'eu-west', 'ap-south'][k]!, country: ['US', 'FR', 'IN'][k]! });
      expect((await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: owner.auth, payload: { to: a.id, amount: '50' } })).statusCode).toBe(201);
      funded.push(a);
    }
    // a week of trading: probes measure everyone; the honest trade with each other and the buyers, the rings with themselves
    for (let d = 0; d < 7; d++) {
      for (const a of [...honest, ...sybils, ...funded]) {
        await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'probe', agentId: a.id, responseMs: 30, available: true, accuracy: 0.99 } });
      }
      for (const [i, h] of honest.entries()) {
        await trade(h, honest[(i + 1) % honest.length]!, 10);
        await trade(honest[(i + 1) % honest.length]!, h, 12);
        for (const b of buyers) await trade(h, b, 10);
      }
      await washRound(sybils);
      await washRound(funded);
      t.clock.advance(DAY_MS);
    }
  });
  afterAll(async () => { await t.close(); });

  // The detector's first run over the week of trading, with the scores just before it: made once, by the
  // first test that needs it (the later tests start from its verdicts, whether they run alone or not).
  let first: Promise<{ before: Map<string, number>; found: Awaited<ReturnType<ReturnType<typeof rep>['detectSameOwner']>> }> | undefined;
  const detected = () => (first ??= (async () => {
    const before = await rep().trustScores([...honest, ...sybils, ...funded, ...buyers].map((a) => a.id));
    return { before, found: await rep().detectSameOwner() };
  })());

  it('flags the burst of look-alikes and the agents funded from one wallet, never the honest agents of the same region', async () => {
    const ids = [...honest, ...sybils, ...funded, ...buyers].map((a) => a.id);
    const { before, found } = await detected();
    expect(found.map((c) => c.members).sort()).toEqual([sybils.map((a) => a.id).sort(), funded.map((a) => a.id).sort()].sort());
    const byFirst = new Map(found.map((c) => [c.members.length === 4 ? 'sybils' : 'funded', c]));
    expect(byFirst.get('sybils')!.signals).toEqual(['registration_burst']);
    expect(byFirst.get('funded')!.signals).toEqual(['shared_funder']);
    // the verdicts are evidence in the log, with their reasons
    const rows = await t.db.database.db.selectFrom('reputation_evidence').selectAll().where('type', '=', 'same_owner').execute();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.producer_id === null && r.source === 'reputation:same_owner')).toBe(true);
    const after = await rep().trustScores(ids);
    for (const a of [...honest, ...buyers]) expect(after.get(a.id)).toBe(before.get(a.id));
    // the rings pay each other, so the circular-trading check had already zeroed what they earned from each
    // other: the verdict takes nothing more away, and every member is left with what the probes measured
    for (const a of [...sybils, ...funded]) expect(after.get(a.id)!).toBeLessThanOrEqual(before.get(a.id)!);
    expect(new Set([...sybils, ...funded].map((a) => after.get(a.id))).size).toBe(1);
    const d = (await explainOf(sybils[1]!.id)).discounted as Record<string, number>;
    expect((d.circular_trading ?? 0) + (d.tainted_pair ?? 0)).toBeGreaterThan(0);
    // explain says why, publicly without the members, to the agent itself with them
    const pub = await explainOf(sybils[0]!.id);
    expect(pub.sameOwner).toMatchObject({ size: 4, signals: ['registration_burst'] });
    expect(pub.sameOwner.members).toBeUndefined();
    expect(pub.sameOwner.tradesWithdrawn).toBe(0); // the circular-trading check had already withdrawn them
    expect(pub.notes.join(' ')).toMatch(/same-owner cluster of 4 agents/);
    const own = await explainOf(sybils[0]!.id, sybils[0]!.auth);
    expect(own.sameOwner.members).toEqual(sybils.map((a) => a.id).sort());
    expect((await explainOf(honest[0]!.id)).sameOwner).toBeNull();
  });

  it('from then on their trades count for nothing; trades with outsiders still count', async () => {
    await detected();
    await washRound(sybils);
    const x = await explainOf(sybils[1]!.id);
    expect(x.discounted.same_owner_cluster).toBe(3); // two sales in the round, plus the verdict
    const since = Date.parse(x.sameOwner.at);
    const later = x.recent.filter((r: { type: string; at: string }) => r.type === 'trade' && Date.parse(r.at) >= since);
    expect(later).toHaveLength(2);
    for (const r of later) expect(r).toMatchObject({ weight: 0, discounts: ['same_owner_cluster'] });
    await trade(sybils[1]!, buyers[0]!, 10);
    const y = await explainOf(sybils[1]!.id);
    expect(y.recent.at(-1)).toMatchObject({ type: 'trade' });
    expect(y.recent.at(-1).discounts).not.toContain('same_owner_cluster');
  });

  it('the job is idempotent across runs and processes, and a full recompute gives the same scores', async () => {
    expect((await detected()).found).toHaveLength(2);
    expect(await rep().detectSameOwner()).toEqual([]);
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    const other = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    expect(await other.detectSameOwner()).toEqual([]);
    const ids = [...honest, ...sybils, ...funded, ...buyers].map((a) => a.id);
    const a = await rep().trustScores(ids);
    await rep().recompute();
    expect(await rep().trustScores(ids)).toEqual(a);
    expect(await other.trustScores(ids)).toEqual(a);
    const rows = await t.db.database.db.selectFrom('reputation_evidence').select('id').where('type', '=', 'same_owner').execute();
    expect(rows).toHaveLength(2);
  });

  it('registers the detector as a background job', () => {
    expect(t.app.services.jobs.map((j) => j.name)).toContain('reputation.same_owner');
  });
});

describe('reputation: history records decay of inactive agents (daily sweep of changed scores)', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  it('writes a daily snapshot for every agent whose score changed since its last one, and only those', async () => {
    const rep = t.app.services.reputation;
    const probe = await t.registerAgent({ displayName: 'Probe' });
    await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: t.admin });
    const active = await t.registerAgent({ displayName: 'Active' });
    const idle = await t.registerAgent({ displayName: 'Idle' });
    const broken = await t.registerAgent({ displayName: 'Broken' });
    const buyer = await t.registerAgent({ displayName: 'Buyer', type: 'consumer' });
    let n = 0;
    const work = async (seller: { id: string }) => {
      await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'probe', agentId: seller.id, responseMs: 30, available: true, accuracy: 0.99 } });
      await t.db.database.transaction((tx) => rep.recordTradeOutcome(tx, {
        tradeId: `h-${++n}`, sellerId: seller.id, buyerId: buyer.id, success: true, amount: 10n * AITBC, latencyMs: 20, accuracy: 0.99, slaMet: true, at: t.clock.now(),
      }));
    };
    for (let d = 0; d < 5; d++) {
      await work(active);
      await work(idle);
      await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'probe', agentId: broken.id, responseMs: 3000, available: false, accuracy: 0 } });
      t.clock.advance(DAY_MS);
    }
    const history = async (id: string) => (await t.app.inject(`/v1/agents/${id}/reputation/history?limit=100`)).json().data as { at: string; trustScore: number }[];
    const score = async (id: string) => (await t.app.inject(`/v1/agents/${id}/reputation`)).json().trustScore as number;
    // agents with evidence get a row; the probe and the buyer have no score and no observations: none
    expect(await rep.snapshot()).toBe(3);
    expect(await history(probe.id)).toEqual([]);
    expect(await history(buyer.id)).toEqual([]);
    expect(await score(broken.id)).toBe(0);
    expect(await rep.snapshot()).toBe(0); // nothing changed since
    const idleAt = await score(idle.id);
    // ten days later; only the active seller has new evidence
    for (let d = 0; d < 10; d++) {
      t.clock.advance(DAY_MS);
      await work(active);
    }
    expect(await score(idle.id)).toBeLessThan(idleAt);
    expect(await rep.snapshot()).toBe(2); // active (new evidence) and idle (decay); broken stays at 0
    const h = await history(idle.id);
    expect(h.map((x) => x.trustScore)).toEqual([await score(idle.id), idleAt]);
    expect((await history(broken.id))).toHaveLength(1);
    expect(await rep.snapshot()).toBe(0); // the day's sweep is done
    // the next day's sweep records the idle agent's decay again
    t.clock.advance(DAY_MS);
    const changed = (await score(idle.id)) !== h[0]!.trustScore;
    expect(changed).toBe(true);
    expect(await rep.snapshot()).toBe(2); // idle (decay) and active (decay too)
    expect(await history(idle.id)).toHaveLength(3);
    // another process knows the latest snapshots from the table: after its replay, nothing to write
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    const other = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    expect(await other.snapshot()).toBe(0);
  });

  it('writes a large sweep in batches', async () => {
    const rep = t.app.services.reputation;
    const before = await t.db.database.db.selectFrom('reputation_snapshots').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    // 1,200 agents with one community action each (operator evidence; agents created directly in the table)
    const ids: string[] = [];
    const { uuidv7 } = await import('../src/platform/ids.js');
    const rows = Array.from({ length: 1200 }, (_, k) => {
      const id = uuidv7(t.clock);
      ids.push(id);
      return { id, display_name: `bulk-${k}`, type: 'both' as const, country: 'DE', region: 'eu-west', categories: [] as string[], status: 'active' as const, public_key: null, capacity: null, sla: null, deactivated_at: null, api_key_hash: `bulk-${k}-${id}`, api_key_prefix: 'x', created_at: t.clock.now(), updated_at: t.clock.now() };
    });
    await t.db.database.db.insertInto('agents').values(rows).execute();
    await t.db.database.db.insertInto('reputation_evidence').values(ids.map((id) => ({
      id: uuidv7(t.clock), type: 'reliability' as const, subject_id: id, producer_id: null, trade_id: null, at: t.clock.now(), data: JSON.stringify({ kind: 'uptime', value: 1 }), source: 'operator', created_at: t.clock.now(),
    }))).execute();
    expect(await rep.snapshot()).toBe(1200);
    const after = await t.db.database.db.selectFrom('reputation_snapshots').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(1200);
  });
});

describe('reputation: engine checkpoints (startup replays only the log after the latest one)', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  it('checkpoint + replay of the rest gives the scores and explanations of a full replay', async () => {
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    const service = (checkpoints: { use?: boolean; every?: number }) =>
      createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database), checkpoints });
    const rep = t.app.services.reputation;
    const probe = await t.registerAgent({ displayName: 'Probe' });
    await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe.id}`, headers: t.admin });
    const sellers = [await t.registerAgent({ displayName: 'Acme' }), await t.registerAgent({ displayName: 'Nimbus' }), await t.registerAgent({ displayName: 'Zephyr' })];
    const buyers = [await t.registerAgent({ displayName: 'B1', type: 'consumer' }), await t.registerAgent({ displayName: 'B2', type: 'consumer' })];
    const ids = [probe, ...sellers, ...buyers].map((a) => a.id);
    let n = 0;
    const day = async (d: number) => {
      for (const [i, s] of sellers.entries()) {
        await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe.auth, payload: { type: 'probe', agentId: s.id, responseMs: 30 + 40 * i, available: true, accuracy: 0.99 - 0.1 * i } });
        for (const b of buyers) {
          const ok = (d + i) % 4 !== 0;
          await t.db.database.transaction((tx) => rep.recordTradeOutcome(tx, {
            tradeId: `cp-${++n}`, sellerId: s.id, buyerId: b.id, success: ok, amount: BigInt(5 + i) * AITBC, latencyMs: 30, accuracy: ok ? 0.97 : 0, slaMet: ok, at: t.clock.now(),
          }));
          await t.app.inject({ method: 'POST', url: '/v1/ratings', headers: b.auth, payload: { tradeId: `cp-${n}`, stars: ok ? 5 : 2 } });
        }
      }
      t.clock.advance(DAY_MS / 2);
    };
    for (let d = 0; d < 6; d++) await day(d);
    const writer = service({ every: 10 });
    const seq = await writer.checkpoint();
    expect(seq).not.toBeNull();
    expect(seq).toBe(writer.stats.lastSeq);
    expect(await writer.checkpoint()).toBeNull(); // nothing new since
    for (let d = 6; d < 10; d++) await day(d);
    const explainAll = async (svc: typeof rep) => Promise.all(ids.map(async (id) => {
      const x = await svc.explain(id, true);
      return { ...x, at: 0 };
    }));
    // a process starting now restores the checkpoint and applies only the rows after it
    const restored = service({});
    const a = await restored.trustScores(ids);
    expect(restored.stats.restoredFrom).toBe(seq);
    const full = service({ use: false });
    const b = await full.trustScores(ids);
    expect(full.stats.restoredFrom).toBeNull();
    const after = await t.db.database.db.selectFrom('reputation_evidence').select((eb) => eb.fn.countAll<string>().as('n')).where('seq', '>', seq!).executeTakeFirstOrThrow();
    expect(restored.stats.applied).toBe(Number(after.n));
    expect(restored.stats.applied).toBeLessThan(full.stats.applied);
    expect(a).toEqual(b);
    expect(await explainAll(restored)).toEqual(await explainAll(full));
    // only the latest checkpoint is kept
    expect(await writer.checkpoint()).toBe(full.stats.lastSeq);
    const rows = await t.db.database.db.selectFrom('reputation_checkpoints').select('evidence_seq').execute();
    expect(rows.map((r) => BigInt(r.evidence_seq))).toEqual([full.stats.lastSeq]);
  });

  it('a checkpoint made with another probe set is not used', async () => {
    const { createReputationService } = await import('../src/modules/reputation/reputation.module.js');
    const { AgentsService } = await import('../src/modules/agents/agents.service.js');
    // a checkpoint of the current probe set (with some evidence to checkpoint)
    const probe1 = await t.registerAgent({ displayName: 'Probe One' });
    await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe1.id}`, headers: t.admin });
    const seller = await t.registerAgent({ displayName: 'Measured' });
    expect((await t.app.inject({ method: 'POST', url: '/v1/evidence', headers: probe1.auth, payload: { type: 'probe', agentId: seller.id, responseMs: 30, available: true, accuracy: 0.99 } })).statusCode).toBe(201);
    const writer = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database), checkpoints: { every: 1 } });
    const seq = await writer.checkpoint();
    expect(seq).toBe(writer.stats.lastSeq);
    // with the same probe set, a new process starts from it
    const same = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    await same.trustScores([seller.id]);
    expect(same.stats.restoredFrom).toBe(seq);
    const probe2 = await t.registerAgent({ displayName: 'Probe Two' });
    expect((await t.app.inject({ method: 'PUT', url: `/v1/reputation/probes/${probe2.id}`, headers: t.admin })).statusCode).toBe(201);
    const svc = createReputationService({ database: t.db.database, clock: t.clock, agents: new AgentsService(t.db.database, t.clock), funders: ledgerFirstFunders(t.db.database) });
    const scores = await svc.trustScores([probe2.id]);
    expect(svc.stats.restoredFrom).toBeNull();
    const all = await t.db.database.db.selectFrom('reputation_evidence').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(svc.stats.applied).toBe(Number(all.n));
    expect([...scores.values()]).toEqual([0]);
  });

  it('registers the checkpoint job', () => {
    expect(t.app.services.jobs.map((j) => j.name)).toContain('reputation.checkpoint');
  });
});
