/**
 * Held rewards' outcome over the API: an agent under risk review gets a held statement at the epoch's
 * close; the operator releases it (paid once, however often or concurrently it is asked) or forfeits it
 * (the pool keeps it and no longer reserves it: the next epoch's budget grows by it). Release and forfeit
 * exclude each other (409 with the state met); other agents' held statements are untouched; the ledger
 * audit passes. On PGlite and, with TEST_DATABASE_URL, on PostgreSQL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, units, type Json, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party } from './helpers/trades.js';
import { uuidFromName } from '../src/platform/ids.js';
import { riskRepository } from '../src/modules/risk/risk.repository.js';

let t: TestApp;
beforeEach(async () => { t = await buildTestApp(); });
afterEach(async () => { await t.close(); });

const balance = async (id: string) => units((await t.get(`/v1/agents/${id}/balance`, t.admin)).json().balance);
const audit = async () => (await t.get('/v1/admin/ledger/audit', t.admin)).json().ok;
const release = (agentId: string, body: Json = { reason: 'review cleared' }) => t.post(`/v1/admin/rewards/held/${agentId}/release`, t.admin, body);
const forfeit = (agentId: string, body: Json = { reason: 'review confirmed abuse' }) => t.post(`/v1/admin/rewards/held/${agentId}/forfeit`, t.admin, body);
const openEpoch = async (): Promise<Json> => {
  await t.app.services.rewards.ensureOpen('default');
  return (await t.get('/v1/rewards/epochs')).json().data.find((e: Json) => e.status === 'open');
};
const heldList = async (q = '') => (await t.get(`/v1/admin/rewards/held${q}`, t.admin)).json();

/**
 * Two sellers trade with three buyers; the pool gets its fee share and a grant; both sellers are put under
 * review (hold_settlements) after their trades settled, so the epoch's close holds their statements; the
 * epoch is distributed (the buyers are paid, the held sellers not).
 */
async function heldEpoch(holds?: (sellers: Party[], buyers: Party[]) => Promise<Party[]>): Promise<{ epoch: Json; sellers: Party[]; buyers: Party[]; held: Map<string, bigint> }> {
  const epoch = await openEpoch();
  const sellers = [await party(t), await party(t)];
  const buyers = [await party(t), await party(t), await party(t)];
  for (const b of buyers) await mint(t, b, '10000');
  const listings = [await listing(t, sellers[0]!, { gpuModel: 'H100', price: '10' }), await listing(t, sellers[1]!, { gpuModel: 'A100', price: '10' })];
  for (let i = 0; i < 6; i++) await trade(t, { buyer: buyers[i % 3]!, seller: sellers[i % 2]!, listing: listings[i % 2]!, quantity: 10 });
  await t.post('/v1/admin/rewards/grants', t.admin, { amount: '100' });
  const onHold = holds ? await holds(sellers, buyers) : sellers;
  if (!holds) for (const s of sellers) expect((await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: s.id, reason: 'review' })).statusCode).toBe(201);
  t.clock.advance(1000);
  expect((await t.post(`/v1/admin/rewards/epochs/${epoch.id}/close`, t.admin)).statusCode).toBe(200);
  const d = (await t.post(`/v1/admin/rewards/epochs/${epoch.id}/distribute`, t.admin)).json();
  expect(d.created).toBe(5 - onHold.length); // the agents not held
  const list = await heldList();
  expect(list.data.map((x: Json) => x.agentId).sort()).toEqual(onHold.map((s) => s.id).sort());
  const held = new Map<string, bigint>(list.data.map((x: Json) => [x.agentId, units(x.amount)]));
  for (const s of onHold) expect(held.get(s.id)!).toBeGreaterThan(0n);
  return { epoch, sellers, buyers, held };
}

describe('held rewards', () => {
  it('releases once when asked twice; a forfeit after it is 409; the other held agent is untouched', async () => {
    const { epoch, sellers, held } = await heldEpoch();
    const [a, b] = sellers as [Party, Party];
    const before = await balance(a.id);
    const r = await release(a.id);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ agentId: a.id, action: 'release', transfers: 1 });
    expect(units(body.amount)).toBe(held.get(a.id));
    expect(body.statements[0]).toMatchObject({ epochId: epoch.id, state: 'released', decidedBy: 'admin', reason: 'review cleared', transferId: expect.any(String) });
    expect(await balance(a.id) - before).toBe(held.get(a.id));

    const again = await release(a.id);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'invalid_transition', state: 'released' });
    const f = await forfeit(a.id);
    expect(f.statusCode).toBe(409);
    expect(f.json()).toMatchObject({ code: 'invalid_transition', state: 'released' });
    expect((await forfeit(a.id, { reason: 'x', epochId: epoch.id })).json()).toMatchObject({ code: 'invalid_transition', state: 'released' });
    expect(await balance(a.id) - before).toBe(held.get(a.id));

    // the other held agent is untouched: still held, still listed, not paid
    const list = await heldList();
    expect(list.data.map((x: Json) => x.agentId)).toEqual([b.id]);
    expect(units(list.amount)).toBe(held.get(b.id));
    expect((await heldList(`?state=released`)).data.map((x: Json) => x.agentId)).toEqual([a.id]);

    // the agent's own view: released, with when, by whom and why; the reward is in its wallet history
    const mine = (await t.get(`/v1/agents/${a.id}/rewards`, a.auth)).json();
    const s = mine.statements.find((x: Json) => x.epochId === epoch.id);
    expect(s.status).toBe('released');
    expect(s.hold).toMatchObject({ state: 'released', heldAt: expect.any(String), decidedAt: t.clock.now().toISOString(), decidedBy: 'admin', reason: 'review cleared' });
    expect(units(mine.totalPaid)).toBe(held.get(a.id));
    expect(mine.totalHeld).toBe('0');
    const hist = (await t.get(`/v1/agents/${a.id}/transfers`, a.auth)).json();
    expect(JSON.stringify(hist)).toContain(s.transferId);
    const other = (await t.get(`/v1/agents/${b.id}/rewards`, b.auth)).json();
    expect(other.statements[0].hold).toMatchObject({ state: 'held', decidedAt: null });
    expect(units(other.totalHeld)).toBe(held.get(b.id));
    expect(await audit()).toBe(true);
  }, 60_000);

  it('releases once when asked five times at once', async () => {
    const { sellers, held } = await heldEpoch();
    const a = sellers[0]!;
    const before = await balance(a.id);
    const rs = await Promise.all(Array.from({ length: 5 }, () => release(a.id)));
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const r of rs.filter((x) => x.statusCode === 409)) expect(r.json()).toMatchObject({ code: 'invalid_transition', state: 'released' });
    expect(await balance(a.id) - before).toBe(held.get(a.id));
    // and a release racing a forfeit: one wins, the other is told the state it met
    const b = sellers[1]!;
    const bBefore = await balance(b.id);
    const [x, y] = await Promise.all([release(b.id), forfeit(b.id)]);
    expect([x.statusCode, y.statusCode].sort()).toEqual([200, 409]);
    const won = x.statusCode === 200 ? 'released' : 'forfeited';
    expect((x.statusCode === 409 ? x : y).json().state).toBe(won);
    expect(await balance(b.id) - bBefore).toBe(won === 'released' ? held.get(b.id) : 0n);
    expect(await audit()).toBe(true);
  }, 60_000);

  it('a forfeit returns the amount to the pool: no longer reserved, the next epoch can budget it; release after it is 409', async () => {
    const { epoch, sellers, held } = await heldEpoch();
    const [a, b] = sellers as [Party, Party];
    const next = await openEpoch();
    const poolBefore = units((await t.get(`/v1/rewards/epochs/${epoch.id}`)).json().poolBalanceNow);
    const budgetBefore = units((await t.post(`/v1/admin/rewards/epochs/${next.id}/preview`, t.admin)).json().budget);
    // the pool keeps both held amounts out of the next epoch's budget
    expect(budgetBefore).toBe(poolBefore - held.get(a.id)! - held.get(b.id)!);
    const aBefore = await balance(a.id);

    const f = await forfeit(a.id, { reason: 'wash trading confirmed', epochId: epoch.id });
    expect(f.statusCode).toBe(200);
    expect(f.json()).toMatchObject({ action: 'forfeit', transfers: 0, statements: [{ state: 'forfeited', reason: 'wash trading confirmed', transferId: null }] });
    expect(units(f.json().amount)).toBe(held.get(a.id));
    const poolAfter = units((await t.get(`/v1/rewards/epochs/${epoch.id}`)).json().poolBalanceNow);
    expect(poolAfter).toBe(poolBefore);
    const budgetAfter = units((await t.post(`/v1/admin/rewards/epochs/${next.id}/preview`, t.admin)).json().budget);
    expect(budgetAfter - budgetBefore).toBe(held.get(a.id));

    const r = await release(a.id);
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ code: 'invalid_transition', state: 'forfeited' });
    expect((await forfeit(a.id)).json().state).toBe('forfeited');
    expect(await balance(a.id)).toBe(aBefore);
    const mine = (await t.get(`/v1/agents/${a.id}/rewards`, a.auth)).json();
    expect(mine.statements[0].hold).toMatchObject({ state: 'forfeited', reason: 'wash trading confirmed', decidedBy: 'admin' });
    expect(mine.totalPaid).toBe('0');
    // b is untouched by a's forfeit
    expect((await heldList(`?agentId=${b.id}`)).data).toHaveLength(1);
    expect((await heldList(`?state=forfeited`)).data.map((x: Json) => x.agentId)).toEqual([a.id]);
    expect(await audit()).toBe(true);
  }, 60_000);

  it('answers bad requests with clear 4xx and pages the list', async () => {
    const { epoch, sellers, buyers } = await heldEpoch();
    const stranger = await party(t);
    expect((await release(stranger.id)).statusCode).toBe(404); // never held
    expect((await release('0190a0a0-0000-7000-8000-000000000000')).json().code).toBe('not_found'); // no such agent
    expect((await release(sellers[0]!.id, { reason: 'x', epochId: '0190a0a0-0000-7000-8000-000000000001' })).statusCode).toBe(404);
    const paid = await release(buyers[0]!.id, { reason: 'x', epochId: epoch.id });
    expect(paid.statusCode).toBe(409);
    expect(paid.json()).toMatchObject({ code: 'invalid_transition', state: 'paid' });
    const noReason = await release(sellers[0]!.id, {});
    expect(noReason.statusCode).toBe(400);
    expect(JSON.stringify(noReason.json().errors)).toContain('reason');
    expect((await release(sellers[0]!.id, { reason: 'x', extra: 1 })).statusCode).toBe(400);
    expect((await t.post(`/v1/admin/rewards/held/${sellers[0]!.id}/release`, sellers[0]!.auth, { reason: 'me' })).statusCode).toBe(403);
    expect((await t.get('/v1/admin/rewards/held', sellers[0]!.auth)).statusCode).toBe(403);
    expect((await t.get('/v1/admin/rewards/held?cursor=nope', t.admin)).statusCode).toBe(400);
    expect((await t.get('/v1/admin/rewards/held?state=paid', t.admin)).statusCode).toBe(400);

    const p1 = await heldList('?limit=1');
    expect(p1.data).toHaveLength(1);
    expect(p1.count).toBe(2);
    const p2 = await heldList(`?limit=1&cursor=${p1.nextCursor}`);
    expect(p2.data).toHaveLength(1);
    expect(p2.data[0].agentId > p1.data[0].agentId).toBe(true);
    expect((await heldList(`?limit=1&cursor=${p2.nextCursor}`)).data).toHaveLength(0);
    const doc = (await t.get('/docs/json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/admin/rewards/held', '/v1/admin/rewards/held/{id}/release', '/v1/admin/rewards/held/{id}/forfeit']));
  }, 60_000);

  it('a risk review decides them: a confirmed alert forfeits, a dismissed one releases unless another hold remains', async () => {
    // alerts as the detectors would raise them (stored through the risk repository), each holding agents by an intervention tied to it
    const alert = async (name: string, agents: Party[]): Promise<string> => {
      const id = uuidFromName(`test:alert:${name}`);
      await t.db.database.transaction((tx) => riskRepository.upsertAlert(tx, { id, key: `test:${name}`, kind: 'wash', severity: 'warning', agents: agents.map((a) => a.id), cell: null, evidence: {}, at: t.clock.now() }));
      for (const a of agents) expect((await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: a.id, reason: `alert ${name}`, alertId: id })).statusCode).toBe(201);
      return id;
    };
    const ids: Record<string, string> = {};
    const { sellers, buyers, held } = await heldEpoch(async (s, b) => {
      ids.A = await alert('A', [s[0]!]);
      ids.B = await alert('B', [s[1]!]);
      ids.C = await alert('C', [b[0]!]);
      // s[1] is also held by an intervention of the operator's own, not tied to alert B
      expect((await t.post('/v1/admin/risk/interventions', t.admin, { kind: 'hold_settlements', target: s[1]!.id, reason: 'manual review' })).statusCode).toBe(201);
      return [s[0]!, s[1]!, b[0]!];
    });
    const [a, b] = sellers as [Party, Party];
    const c = buyers[0]!;
    const before = { a: await balance(a.id), b: await balance(b.id), c: await balance(c.id) };
    const decide = (id: string, decision: string) => t.post(`/v1/admin/risk/alerts/${id}/decision`, t.admin, { decision, note: 'reviewed' });

    expect((await decide(ids.A!, 'confirm')).statusCode).toBe(200);
    expect((await heldList('?state=forfeited')).data).toMatchObject([{ agentId: a.id, reason: `risk alert ${ids.A} confirmed: reviewed`, decidedBy: 'admin' }]);
    expect((await decide(ids.B!, 'dismiss')).statusCode).toBe(200);
    expect((await decide(ids.C!, 'dismiss')).statusCode).toBe(200);
    // c's only hold was C's: released and paid; b is still held by the operator's own intervention: untouched
    const released = (await heldList('?state=released')).data;
    expect(released).toMatchObject([{ agentId: c.id, reason: `risk alert ${ids.C} dismissed: reviewed` }]);
    expect(await balance(c.id) - before.c).toBe(held.get(c.id));
    expect((await heldList()).data.map((x: Json) => x.agentId)).toEqual([b.id]);
    expect(await balance(a.id)).toBe(before.a);
    expect(await balance(b.id)).toBe(before.b);
    // a's appeal upheld later (the alert dismissed after it) does not undo the forfeit: the pool may have budgeted it since
    expect((await t.post(`/v1/risk/alerts/${ids.A}/appeal`, a.auth, { reason: 'we are real' })).statusCode).toBe(200);
    expect((await decide(ids.A!, 'dismiss')).statusCode).toBe(200);
    expect((await heldList('?state=forfeited')).data.map((x: Json) => x.agentId)).toEqual([a.id]);
    expect(await balance(a.id)).toBe(before.a);
    // the operator then releases b; a's forfeit stands
    expect((await release(b.id)).statusCode).toBe(200);
    expect(await balance(b.id) - before.b).toBe(held.get(b.id));
    expect((await release(a.id)).json().state).toBe('forfeited');
    expect(await audit()).toBe(true);
  }, 60_000);
});
