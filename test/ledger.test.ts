/**
 * The ledger's HTTP API: balances, payments, history, escrow, mint, deposits, withdrawals, batches.
 * One app for the file; every test makes its own agents and money (`newAgent`, `fundedAgent`), so each
 * runs alone and in any order. Tests that count what the timers fire build their own app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { LedgerService, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import { parseAmount } from '../src/platform/money.js';

let t: TestApp;
type Agent = Awaited<ReturnType<TestApp['registerAgent']>>;

beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t.close(); });

const newAgent = (app: TestApp = t) => app.registerAgent();
async function mint(agentId: string, amount: string, app: TestApp = t) {
  const res = await app.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: app.admin, payload: { agentId, amount } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
async function fundedAgent(amount: string, app: TestApp = t): Promise<Agent> {
  const a = await newAgent(app);
  await mint(a.id, amount, app);
  return a;
}
async function balance(a: Agent, app: TestApp = t) {
  const res = await app.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/balance`, headers: a.auth });
  expect(res.statusCode).toBe(200);
  return res.json() as { balance: string; available: string; held: string };
}
async function pay(from: Agent, to: Agent, amount: string, id?: string) {
  return t.app.inject({ method: 'POST', url: '/v1/transfers', headers: from.auth, payload: { to: to.id, amount, ...(id ? { id } : {}) } });
}
async function audit(app: TestApp = t) {
  const res = await app.app.inject({ method: 'GET', url: '/v1/admin/ledger/audit', headers: app.admin });
  expect(res.statusCode).toBe(200);
  return res.json() as { ok: boolean; violations: string[]; supply: string };
}
const units = (amount: string) => parseAmount(amount.replace(/^-/, '')) * (amount.startsWith('-') ? -1n : 1n);

describe('balances and payments', () => {
  it('opens a wallet at registration, readable only by its agent and the operator', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    expect(await balance(a)).toMatchObject({ balance: '0', available: '0', held: '0', asOf: t.clock.now().toISOString() });
    const other = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/balance`, headers: b.auth });
    expect(problem(other)).toMatchObject({ status: 403, code: 'forbidden' });
    const anon = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/balance` });
    expect(problem(anon)).toMatchObject({ status: 401, code: 'unauthorized' });
    const admin = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/balance`, headers: t.admin });
    expect(admin.statusCode).toBe(200);
    const ghost = await t.app.inject({ method: 'GET', url: `/v1/agents/${randomUUID()}/balance`, headers: t.admin });
    expect(problem(ghost)).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('mints only for the operator and only to existing agents, and adds exactly that to the supply', async () => {
    const a = await newAgent();
    const supplyBefore = units((await audit()).supply);
    const byAgent = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: a.auth, payload: { agentId: a.id, amount: '5' } });
    expect(problem(byAgent)).toMatchObject({ status: 403 });
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: randomUUID(), amount: '5' } });
    expect(problem(unknown)).toMatchObject({ status: 404, code: 'not_found' });
    const zero = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: a.id, amount: '0' } });
    expect(problem(zero)).toMatchObject({ status: 400, code: 'validation_failed', errors: [{ field: 'body.amount', message: 'must be > 0' }] });
    await mint(a.id, '100.5');
    expect(await balance(a)).toMatchObject({ balance: '100.5', available: '100.5' });
    expect(units((await audit()).supply) - supplyBefore).toBe(parseAmount('100.5'));
  });

  it('mints idempotently by id: a retry is 200 with the same transfer, other fields are 409', async () => {
    const a = await newAgent();
    const id = randomUUID();
    const body = { id, agentId: a.id, amount: '7', memo: 'grant' };
    const first = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: body });
    const again = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: body });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json()).toEqual(first.json());
    expect(first.json()).toMatchObject({ id, code: 'mint', amount: '7', reference: 'grant' });
    const other = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { ...body, amount: '8' } });
    expect(problem(other)).toMatchObject({ status: 409, code: 'conflict' });
    expect((await balance(a)).balance).toBe('7');
  });

  it('pays exactly, and a retry with the same id returns the original transfer', async () => {
    const [a, b] = [await fundedAgent('100.5'), await newAgent()];
    const id = randomUUID();
    const first = await pay(a, b, '10.25', id);
    expect(first.statusCode).toBe(201);
    expect(first.headers.location).toBe(`/v1/transfers/${id}`);
    expect(first.json()).toMatchObject({ id, amount: '10.25', code: 'payment', kind: 'posted' });
    const again = await pay(a, b, '10.25', id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const different = await pay(a, b, '10.26', id);
    expect(problem(different)).toMatchObject({ status: 409, code: 'conflict' });
    expect((await balance(a)).balance).toBe('90.25');
    expect((await balance(b)).balance).toBe('10.25');
  });

  it('rejects overdrafts, and a retry of a rejected id stays rejected even after funding', async () => {
    const [b, c] = [await fundedAgent('10.25'), await newAgent()];
    const id = randomUUID();
    const over = await pay(b, c, '10.25000001', id);
    expect(problem(over)).toMatchObject({ status: 422, code: 'insufficient_funds' });
    await mint(b.id, '100');
    const retry = await pay(b, c, '10.25000001', id);
    expect(problem(retry)).toMatchObject({ status: 422, code: 'insufficient_funds' });
    const fetched = await t.app.inject({ method: 'GET', url: `/v1/transfers/${id}`, headers: t.admin });
    expect(fetched.statusCode).toBe(404);
    expect((await balance(c)).balance).toBe('0');
    expect((await balance(b)).balance).toBe('110.25');
  });

  it('refuses bad amounts, self-payment and unknown payees with 4xx and changes nothing', async () => {
    const [a, b, c] = [await fundedAgent('50'), await newAgent(), await newAgent()];
    for (const amount of ['0', '0.0', '-1', '1.123456789', '1e3', ' 1', '12345678901']) {
      const res = await pay(a, b, amount);
      expect(res.statusCode, amount).toBe(400);
    }
    const numeric = await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: a.auth, payload: { to: b.id, amount: 5 } });
    expect(numeric.statusCode).toBe(400);
    expect(problem(await pay(a, a, '1'))).toMatchObject({ status: 400, errors: [{ field: 'body.to', message: 'is the caller' }] });
    const ghost = await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: a.auth, payload: { to: randomUUID(), amount: '1' } });
    expect(problem(ghost)).toMatchObject({ status: 404, code: 'not_found' });
    const extra = await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: a.auth, payload: { to: b.id, amount: '1', from: c.id } });
    expect(extra.statusCode).toBe(400);
    const admin = await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: t.admin, payload: { to: b.id, amount: '1' } });
    expect(admin.statusCode).toBe(403);
    expect(await balance(a)).toMatchObject({ balance: '50', available: '50', held: '0' });
    expect((await balance(b)).balance).toBe('0');
  });

  it('shows a transfer to its parties and the operator only', async () => {
    const [a, b, c] = [await fundedAgent('5'), await newAgent(), await newAgent()];
    const id = (await pay(a, b, '1')).json().id as string;
    for (const [who, status] of [[a.auth, 200], [b.auth, 200], [t.admin, 200], [c.auth, 403]] as const) {
      const r = await t.app.inject({ method: 'GET', url: `/v1/transfers/${id}`, headers: who });
      expect(r.statusCode).toBe(status);
    }
  });

  it('opens no escrow for an unknown or deactivated payee (404, 422) and moves no money', async () => {
    const [payer, gone] = [await fundedAgent('10'), await newAgent()];
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/agents/${gone.id}`, headers: gone.auth })).statusCode).toBe(200);
    const ghostId = randomUUID();
    const ghost = await t.app.inject({ method: 'POST', url: '/v1/escrows', headers: payer.auth, payload: { payee: ghostId, amount: '4' } });
    expect(problem(ghost)).toMatchObject({ status: 404, code: 'not_found' });
    const deactivated = await t.app.inject({ method: 'POST', url: '/v1/escrows', headers: payer.auth, payload: { payee: gone.id, amount: '4' } });
    expect(problem(deactivated)).toMatchObject({ status: 422, code: 'unprocessable', detail: `agent ${gone.id} is deactivated` });
    expect(await balance(payer)).toMatchObject({ balance: '10', available: '10', held: '0' });
    expect((await audit()).ok).toBe(true);
  });

  it('shows an escrow leg to the escrow\'s parties, not to others', async () => {
    const [payer, payee, c] = [await fundedAgent('10'), await newAgent(), await newAgent()];
    const e = (await t.app.inject({ method: 'POST', url: '/v1/escrows', headers: payer.auth, payload: { payee: payee.id, amount: '4' } })).json();
    await t.app.inject({ method: 'POST', url: `/v1/escrows/${e.id}/release`, headers: payer.auth, payload: {} });
    const legs = (await t.app.inject({ method: 'GET', url: `/v1/agents/${payee.id}/transfers`, headers: payee.auth })).json().data as Array<{ transferId: string; code: string }>;
    const release = legs.find((l) => l.code === 'escrow_release')!;
    // the release leg moves the escrow account and the payee's wallet, not the payer's: the payer reads it as a party of the escrow
    const leg = await t.app.inject({ method: 'GET', url: `/v1/transfers/${release.transferId}`, headers: payer.auth });
    expect(leg.statusCode).toBe(200);
    expect(leg.json()).toMatchObject({ reference: `escrow:${e.id}`, code: 'escrow_release', amount: '3.9' });
    expect((await t.app.inject({ method: 'GET', url: `/v1/transfers/${release.transferId}`, headers: c.auth })).statusCode).toBe(403);
  });

  it('lists the wallet history newest first with balances after, paginated and as CSV', async () => {
    const [a, b] = [await fundedAgent('100.5'), await newAgent()];
    expect((await pay(a, b, '10.25')).statusCode).toBe(201);
    expect((await pay(a, b, '1')).statusCode).toBe(201);
    const page1 = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/transfers?limit=2`, headers: a.auth });
    expect(page1.statusCode).toBe(200);
    const p1 = page1.json() as { data: Array<{ seq: string; amount: string; direction: string; balanceAfter: string; counterparty: string }>; nextCursor: string };
    expect(p1.data).toHaveLength(2);
    expect(p1.data[0]).toMatchObject({ direction: 'out', amount: '1', balanceAfter: '89.25', counterparty: `wallet:${b.id}` });
    expect(p1.data[1]).toMatchObject({ direction: 'out', amount: '10.25', balanceAfter: '90.25' });
    const page2 = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/transfers?limit=2&cursor=${p1.nextCursor}`, headers: a.auth });
    const p2 = page2.json() as typeof p1;
    expect(p2.data.map((d) => [d.direction, d.balanceAfter, d.counterparty])).toEqual([['in', '100.5', 'system:treasury']]);
    expect(p2.nextCursor).toBeNull();
    expect(BigInt(p2.data[0]!.seq)).toBeLessThan(BigInt(p1.data[1]!.seq));
    const csv = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/transfers?format=csv`, headers: a.auth });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('seq,transferId,createdAt,kind,code,direction,counterparty,amount,held,balanceAfter,availableAfter,reference');
    expect(lines).toHaveLength(4);
    const bad = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/transfers?cursor=zzz`, headers: a.auth });
    expect(problem(bad)).toMatchObject({ status: 400 });
    const other = await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/transfers`, headers: b.auth });
    expect(other.statusCode).toBe(403);
    const ghost = await t.app.inject({ method: 'GET', url: `/v1/agents/${randomUUID()}/transfers`, headers: t.admin });
    expect(problem(ghost)).toMatchObject({ status: 404, code: 'not_found' });
    expect(await audit()).toMatchObject({ ok: true, violations: [] });
  });
});

describe('escrow', () => {
  const open = (payer: Agent, payee: Agent, body: Record<string, unknown>, app: TestApp = t) =>
    app.app.inject({ method: 'POST', url: '/v1/escrows', headers: payer.auth, payload: { payee: payee.id, ...body } });
  const act = (who: Agent | Record<string, string>, id: string, action: string, payload?: Record<string, unknown>, app: TestApp = t) =>
    app.app.inject({ method: 'POST', url: `/v1/escrows/${id}/${action}`, headers: 'auth' in who ? (who as Agent).auth : who as Record<string, string>, ...(payload ? { payload } : {}) });
  const parties = async (app: TestApp = t) => [await fundedAgent('1000', app), await newAgent(app), await newAgent(app)] as const;

  it('holds, delivers and releases, paying the payee minus the 2.5% fee in one step', async () => {
    const [payer, payee, stranger] = await parties();
    const res = await open(payer, payee, { amount: '100' });
    expect(res.statusCode).toBe(201);
    const e = res.json();
    expect(e).toMatchObject({ state: 'held', amount: '100', remaining: '100', feeBps: 250 });
    expect((await balance(payer)).balance).toBe('900');
    expect(problem(await act(payer, e.id, 'deliver'))).toMatchObject({ status: 403 });
    expect(problem(await act(stranger, e.id, 'dispute'))).toMatchObject({ status: 403 });
    expect((await t.app.inject({ method: 'GET', url: `/v1/escrows/${e.id}`, headers: stranger.auth })).statusCode).toBe(403);
    const d = await act(payee, e.id, 'deliver');
    expect(d.json()).toMatchObject({ state: 'delivered' });
    expect(d.json().autoReleaseAt).toBe(new Date(t.clock.now().getTime() + 86400_000).toISOString());
    const r = await act(payer, e.id, 'release');
    expect(r.json()).toMatchObject({ state: 'released', released: '100', fees: '2.5', remaining: '0' });
    expect(r.json().events.map((v: { toState: string }) => v.toState)).toEqual(['held', 'delivered', 'released']);
    expect((await balance(payee)).balance).toBe('97.5');
    const again = await act(payer, e.id, 'release');
    expect(problem(again)).toMatchObject({ status: 409, code: 'invalid_transition' });
  });

  it('opens idempotently by id: the same fields return the escrow (200), other fields are 409, and the payer pays once', async () => {
    const [payer, payee] = await parties();
    const id = randomUUID();
    const first = await open(payer, payee, { id, amount: '10' });
    const again = await open(payer, payee, { id, amount: '10' });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json()).toEqual(first.json());
    expect(problem(await open(payer, payee, { id, amount: '11' }))).toMatchObject({ status: 409, code: 'conflict' });
    expect(problem(await open(payer, payee, { amount: '0' }))).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await balance(payer)).balance).toBe('990');
  });

  it('releases milestones in parts and keeps the escrow open until the last', async () => {
    const [payer, payee] = await parties();
    const e = (await open(payer, payee, { amount: '10' })).json();
    const m1 = await act(payer, e.id, 'release', { amount: '4' });
    expect(m1.json()).toMatchObject({ state: 'held', released: '4', remaining: '6', fees: '0.1' });
    const tooMuch = await act(payer, e.id, 'release', { amount: '6.00000001' });
    expect(problem(tooMuch)).toMatchObject({ status: 400 });
    const m2 = await act(payer, e.id, 'release', { amount: '6' });
    expect(m2.json()).toMatchObject({ state: 'released', released: '10', remaining: '0', fees: '0.25' });
    expect((await balance(payee)).balance).toBe('9.75');
  });

  it('releases automatically after the review window, and refunds at the delivery deadline', async () => {
    // its own app: runDue counts every due escrow of the database
    const own = await buildTestApp();
    try {
      const [payer, payee] = await parties(own);
      const delivered = (await open(payer, payee, { amount: '20', reviewWindowSeconds: 60 }, own)).json();
      await act(payee, delivered.id, 'deliver', undefined, own);
      const late = (await open(payer, payee, { amount: '30', expiresAt: new Date(own.clock.now().getTime() + 3600_000).toISOString() }, own)).json();
      expect((await balance(payer, own)).balance).toBe('950');
      own.clock.advance(61_000);
      expect(await own.app.services.escrow.runDue()).toEqual({ released: 1, expired: 0 });
      own.clock.advance(3600_000);
      const tooLate = await act(payee, late.id, 'deliver', undefined, own);
      expect(problem(tooLate)).toMatchObject({ status: 409, code: 'invalid_transition' });
      expect(await own.app.services.escrow.runDue()).toEqual({ released: 0, expired: 1 });
      const d = (await own.app.inject({ method: 'GET', url: `/v1/escrows/${delivered.id}`, headers: payee.auth })).json();
      expect(d).toMatchObject({ state: 'released', released: '20' });
      expect(d.events.at(-1)).toMatchObject({ action: 'auto_release', actor: 'system' });
      const l = (await own.app.inject({ method: 'GET', url: `/v1/escrows/${late.id}`, headers: payer.auth })).json();
      expect(l).toMatchObject({ state: 'expired', refunded: '30' });
      expect((await balance(payer, own)).balance).toBe('980');
      expect(await audit(own)).toMatchObject({ ok: true, violations: [], supply: '1000' });
    } finally {
      await own.close();
    }
  });

  it('pauses timers in a dispute and lets only the operator resolve it, here with a split', async () => {
    const own = await buildTestApp();
    try {
      const [payer, payee] = await parties(own);
      const e = (await open(payer, payee, { amount: '50', reviewWindowSeconds: 10 }, own)).json();
      await act(payee, e.id, 'deliver', undefined, own);
      expect((await act(payer, e.id, 'dispute', { reason: 'results were wrong' }, own)).json()).toMatchObject({ state: 'disputed' });
      own.clock.advance(60_000);
      expect(await own.app.services.escrow.runDue()).toEqual({ released: 0, expired: 0 });
      expect(problem(await act(payer, e.id, 'release', undefined, own))).toMatchObject({ code: 'invalid_transition' });
      const byAgent = await own.app.inject({ method: 'POST', url: `/v1/escrows/${e.id}/resolve`, headers: payer.auth, payload: { outcome: 'refund' } });
      expect(byAgent.statusCode).toBe(403);
      const res = await own.app.inject({ method: 'POST', url: `/v1/escrows/${e.id}/resolve`, headers: own.admin, payload: { outcome: 'split', payeeAmount: '20' } });
      expect(res.json()).toMatchObject({ state: 'resolved_split', released: '20', refunded: '30', fees: '0.5', remaining: '0' });
      expect((await balance(payee, own)).balance).toBe('19.5');
      expect((await balance(payer, own)).balance).toBe('980');
    } finally {
      await own.close();
    }
  });

  it('refuses an escrow the payer cannot fund, and replays an idempotent release', async () => {
    const [payer, payee] = await parties();
    const poor = await open(payer, payee, { amount: '100000' });
    expect(problem(poor)).toMatchObject({ status: 422, code: 'insufficient_funds' });
    expect((await balance(payer)).balance).toBe('1000');
    const e = (await open(payer, payee, { amount: '8' })).json();
    const headers = { ...payer.auth, 'idempotency-key': `rel-${e.id}` };
    const r1 = await t.app.inject({ method: 'POST', url: `/v1/escrows/${e.id}/release`, headers, payload: { amount: '3' } });
    const r2 = await t.app.inject({ method: 'POST', url: `/v1/escrows/${e.id}/release`, headers, payload: { amount: '3' } });
    expect(r1.statusCode).toBe(200);
    expect(r2.body).toBe(r1.body);
    expect(r2.json()).toMatchObject({ released: '3', remaining: '5' });
    expect(await audit()).toMatchObject({ ok: true, violations: [] });
  });
});

describe('bridge and batches', () => {
  it('credits a confirmed deposit once per chain transaction', async () => {
    const a = await newAgent();
    const body = { chainTxId: `0x${randomUUID()}`, agentId: a.id, amount: '40' };
    const first = await t.app.inject({ method: 'POST', url: '/v1/admin/deposits', headers: t.admin, payload: body });
    const second = await t.app.inject({ method: 'POST', url: '/v1/admin/deposits', headers: t.admin, payload: body });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(first.json().id);
    expect((await balance(a)).balance).toBe('40');
    const changed = await t.app.inject({ method: 'POST', url: '/v1/admin/deposits', headers: t.admin, payload: { ...body, amount: '41' } });
    expect(changed.statusCode).toBe(409);
    const ghost = await t.app.inject({ method: 'POST', url: '/v1/admin/deposits', headers: t.admin, payload: { ...body, chainTxId: `0x${randomUUID()}`, agentId: randomUUID() } });
    expect(problem(ghost)).toMatchObject({ status: 404, code: 'not_found' });
    expect((await balance(a)).balance).toBe('40');
  });

  it('holds a withdrawal until the operator completes or fails it', async () => {
    const [a, b] = [await fundedAgent('40'), await newAgent()];
    const w = await t.app.inject({ method: 'POST', url: '/v1/withdrawals', headers: a.auth, payload: { amount: '15', address: 'aitbc1qxyz' } });
    expect(w.statusCode).toBe(201);
    expect(await balance(a)).toMatchObject({ balance: '40', available: '25', held: '15' });
    const over = await t.app.inject({ method: 'POST', url: '/v1/withdrawals', headers: a.auth, payload: { amount: '25.00000001', address: 'x' } });
    expect(problem(over)).toMatchObject({ code: 'insufficient_funds' });
    const zero = await t.app.inject({ method: 'POST', url: '/v1/withdrawals', headers: a.auth, payload: { amount: '0', address: 'x' } });
    expect(problem(zero)).toMatchObject({ status: 400, code: 'validation_failed' });
    const done = await t.app.inject({ method: 'POST', url: `/v1/admin/withdrawals/${w.json().id}/complete`, headers: t.admin, payload: { chainTxId: '0xdef' } });
    expect(done.json()).toMatchObject({ state: 'completed', chainTxId: '0xdef' });
    expect(await balance(a)).toMatchObject({ balance: '25', available: '25', held: '0' });
    const failAfter = await t.app.inject({ method: 'POST', url: `/v1/admin/withdrawals/${w.json().id}/fail`, headers: t.admin, payload: { reason: 'x' } });
    expect(problem(failAfter)).toMatchObject({ code: 'invalid_transition' });

    const w2 = (await t.app.inject({ method: 'POST', url: '/v1/withdrawals', headers: a.auth, payload: { amount: '5', address: 'y' } })).json();
    await t.app.inject({ method: 'POST', url: `/v1/admin/withdrawals/${w2.id}/fail`, headers: t.admin, payload: { reason: 'chain congested' } });
    expect(await balance(a)).toMatchObject({ balance: '25', available: '25' });
    const list = await t.app.inject({ method: 'GET', url: '/v1/withdrawals', headers: b.auth });
    expect(list.json().data).toEqual([]);
    const mine = await t.app.inject({ method: 'GET', url: '/v1/withdrawals', headers: a.auth });
    expect(mine.json().data.map((x: { state: string }) => x.state)).toEqual(['completed', 'failed']);
  });

  it('runs thousands of transfers in one batch, and a re-run is a no-op', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    const pool = `system:rewards`;
    const fund = await t.app.inject({
      method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin,
      payload: { transfers: [{ id: randomUUID(), from: 'system:treasury', to: pool, amount: '3001', code: 'reward_pool' }] },
    });
    expect(fund.json()).toMatchObject({ created: 1 });
    const transfers = Array.from({ length: 2000 }, (_, i) => ({ id: randomUUID(), from: pool, to: `wallet:${i % 2 ? a.id : b.id}`, amount: '1.5', code: 'reward' }));
    const first = await t.app.inject({ method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin, payload: { transfers } });
    expect(first.json()).toMatchObject({ created: 2000, existing: 0, rejected: 0 });
    const rerun = await t.app.inject({ method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin, payload: { transfers } });
    expect(rerun.json()).toMatchObject({ created: 0, existing: 2000, rejected: 0 });
    expect((await balance(b)).balance).toBe('1500');
    const twice = await t.app.inject({ method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin, payload: { transfers: [transfers[0], transfers[0]] } });
    expect(problem(twice)).toMatchObject({ status: 400, errors: [{ field: 'body.transfers.1.id', message: 'duplicate' }] });
    const zero = await t.app.inject({ method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin, payload: { transfers: [{ ...transfers[0], id: randomUUID(), amount: '0' }] } });
    expect(problem(zero)).toMatchObject({ status: 400, errors: [{ field: 'body.transfers.0.amount', message: 'must be > 0' }] });
    const overdraw = await t.app.inject({
      method: 'POST', url: '/v1/admin/transfers/batch', headers: t.admin,
      payload: { atomic: true, transfers: [
        { id: randomUUID(), from: pool, to: `wallet:${a.id}`, amount: '1' },
        { id: randomUUID(), from: pool, to: `wallet:${b.id}`, amount: '1000000' },
      ] },
    });
    expect(overdraw.json()).toMatchObject({ created: 0, rejected: 2 });
    expect(overdraw.json().results.map((r: { code: string }) => r.code)).toEqual(['linked_transfer_failed', 'insufficient_funds']);
    expect((await balance(a)).balance).toBe('1500');
  });

  it('shows live economic history in the profile and keeps the books balanced', async () => {
    const [a, b] = [await fundedAgent('1525'), await newAgent()];
    expect((await pay(a, b, '25')).statusCode).toBe(201);
    const p = (await t.app.inject({ method: 'GET', url: `/v1/agents/${a.id}/profile`, headers: a.auth })).json();
    expect(p.sections.economicHistory).toBe('live');
    expect(p.economicHistory).toMatchObject({ balance: '1500', available: '1500', totalSpent: '25', transferCount: 2 });
    expect(await audit()).toMatchObject({ ok: true, violations: [] });
  });
});

describe('economic totals', () => {
  it('adds only new entries to what it read before, and sums again when the kept sums do not explain the account', async () => {
    const [x, y] = [await fundedAgent('100'), await newAgent()];
    const ledger = t.app.services.ledger;
    const fresh = async () => new LedgerService(t.db.database, t.clock).totals(walletAccountId(x.id)); // no kept sums: the full sum
    const profile = async () => (await t.app.inject({ url: `/v1/agents/${x.id}/profile`, headers: x.auth })).json().economicHistory;
    expect((await pay(x, y, '10')).statusCode).toBe(201);
    expect(await ledger.totals(walletAccountId(x.id))).toEqual(await fresh());
    // later entries on both sides of the account
    expect((await pay(y, x, '4')).statusCode).toBe(201);
    expect((await pay(x, y, '1.5')).statusCode).toBe(201);
    const full = await fresh();
    expect(full).toEqual({ earned: 400000000n, spent: 1150000000n, transfers: 4 }); // mint, 10 out, 4 in, 1.5 out
    expect(await ledger.totals(walletAccountId(x.id))).toEqual(full);
    expect(await profile()).toMatchObject({ totalEarnings: '4', totalSpent: '11.5', transferCount: 4, transactionCount: 0 });
    // kept sums that miss an entry (as when an entry with a lower number commits after a read) are caught
    const cache = (ledger as unknown as { totalsCache: Map<string, { credits: bigint; earned: bigint }> }).totalsCache;
    const kept = cache.get(walletAccountId(x.id))!;
    cache.set(walletAccountId(x.id), { ...kept, credits: kept.credits - 400000000n, earned: kept.earned - 400000000n });
    expect((await pay(x, y, '1')).statusCode).toBe(201);
    expect(await ledger.totals(walletAccountId(x.id))).toEqual(await fresh());
    expect(await profile()).toMatchObject({ totalEarnings: '4', totalSpent: '12.5', transferCount: 5, transactionCount: 0 });
  });
});

describe('limits', () => {
  it('answers a mint that would overflow the wallet with 422 and changes nothing', async () => {
    const rich = await newAgent();
    for (let i = 0; i < 9; i++) await mint(rich.id, '9999999999');
    const over = await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: rich.id, amount: '9999999999' } });
    expect(problem(over)).toMatchObject({ status: 422, code: 'unprocessable', reason: 'overflows_account' });
    expect((await balance(rich)).balance).toBe('89999999991');
    expect(await audit()).toMatchObject({ ok: true });
  });
});
