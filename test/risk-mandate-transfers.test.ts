/**
 * Spend mandates bind direct transfers (POST /v1/transfers) as they bind escrow funding, through the one
 * check both share (src/modules/risk/risk.mandates.ts), run where the ledger decides the payment (the group
 * commit's transaction). At the limit a payment passes; one base unit over it is 409 mandate_exceeded naming
 * the limit, and nothing moves (balances, no transfer under that id, the day's spend unchanged). Escrow
 * fundings and transfers draw on one daily budget. On PostgreSQL (TEST_DATABASE_URL): 10 concurrent
 * transfers against a daily budget of 3 of them pass exactly 3, also spread over separate connection pools
 * (as separate processes would be) and mixed with escrow fundings; the ledger audit passes throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type Json, type TestAgent, type TestApp } from './helpers/test-app.js';
import { createDatabase, type Database } from '../src/platform/db/database.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { uuidv7 } from '../src/platform/ids.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); }, 60_000);
afterAll(async () => { await t?.close(); });

const putMandate = (who: TestAgent, payload: Json) => t.app.inject({ method: 'PUT', url: `/v1/agents/${who.id}/mandate`, headers: who.auth, payload });
const transfer = (from: TestAgent, to: TestAgent, amount: string, id: string = uuidv7(t.clock)) => t.post('/v1/transfers', from.auth, { id, to: to.id, amount });
const spentToday = async (a: TestAgent) => (await t.get(`/v1/agents/${a.id}/mandate`, a.auth)).json().spentToday as string;
async function auditOk(): Promise<void> {
  const a = (await t.get('/v1/admin/ledger/audit', t.admin)).json();
  expect(a.violations).toEqual([]);
  expect(a.ok).toBe(true);
}

describe('mandates on direct transfers', () => {
  it('perTrade: exactly the limit passes; one base unit over is 409 naming the limit, nothing moved, the id stays free', async () => {
    const payer = await t.fundedBuyer('100');
    const payee = await t.newAgent();
    expect((await putMandate(payer, { perTrade: '10' })).statusCode).toBe(200);
    const ok = await transfer(payer, payee, '10');
    expect(ok.statusCode).toBe(201);
    const id = uuidv7(t.clock);
    const over = await transfer(payer, payee, '10.00000001', id);
    expect(over.statusCode).toBe(409);
    expect(problem(over).code).toBe('mandate_exceeded');
    expect(problem(over)).toMatchObject({ limit: 'perTrade', max: '10' });
    expect(await t.balance(payer)).toBe('90');
    expect(await t.balance(payee)).toBe('10');
    expect((await t.get(`/v1/transfers/${id}`, payer.auth)).statusCode).toBe(404);
    expect(await spentToday(payer)).toBe('10');
    // a refusal is not stored: the same id may carry an allowed payment afterwards
    expect((await transfer(payer, payee, '1', id)).statusCode).toBe(201);
    expect(await t.balance(payer)).toBe('89');
    await auditOk();
  });

  it('perDay: payments up to exactly the budget pass, one unit more is 409; escrow funding draws on the same budget; a new day is fresh', async () => {
    const payer = await t.fundedBuyer('1000');
    const payee = await t.newAgent();
    const seller = await t.newAgent({ type: 'provider' });
    const listing = await t.listing(seller);
    expect((await putMandate(payer, { perDay: '25' })).statusCode).toBe(200);
    // 10 into escrow (trading's path), then 10 + 5 directly: 25, the whole budget
    const a = await t.agreement(payer, seller, listing.id, { pricePerUnit: '2', quantity: 5 });
    expect((await t.post(`/v1/agreements/${a.id}/fund`, payer.auth)).statusCode).toBe(200);
    expect((await transfer(payer, payee, '10')).statusCode).toBe(201);
    expect((await transfer(payer, payee, '5')).statusCode).toBe(201);
    expect(await spentToday(payer)).toBe('25');
    const over = await transfer(payer, payee, '0.00000001');
    expect(over.statusCode).toBe(409);
    expect(problem(over)).toMatchObject({ code: 'mandate_exceeded', limit: 'perDay', spentToday: '25', max: '25' });
    // and escrow funding is refused by what the transfers spent
    const b = await t.agreement(payer, seller, listing.id, { pricePerUnit: '2', quantity: 1 });
    const fb = await t.post(`/v1/agreements/${b.id}/fund`, payer.auth);
    expect(fb.statusCode).toBe(409);
    expect((problem(fb) as Json).limit).toBe('perDay');
    expect(await t.balance(payer)).toBe('975');
    expect(await t.balance(payee)).toBe('15');
    expect(await spentToday(payer)).toBe('25');
    const rows = await t.db.database.db.selectFrom('outbox_events').select(['type', 'data']).where('type', 'like', 'mandate.%').orderBy('seq').execute();
    const mine = rows.map((r) => r.data as Json).filter((d) => d.agentId === payer.id);
    expect(mine).toEqual(expect.arrayContaining([
      expect.objectContaining({ limit: 'perDay', refused: false, spentToday: '25' }),
      expect.objectContaining({ limit: 'perDay', refused: true, amount: '0.00000001' }),
    ]));
    t.clock.advance(86_400_000);
    expect((await transfer(payer, payee, '25')).statusCode).toBe(201);
    expect(await spentToday(payer)).toBe('25');
    await auditOk();
  });

  it('a retry of an accepted transfer counts once and is answered as before, even with the budget spent; a payment the ledger rejects counts nothing', async () => {
    const payer = await t.fundedBuyer('30');
    const payee = await t.newAgent();
    expect((await putMandate(payer, { perDay: '20' })).statusCode).toBe(200);
    const id = uuidv7(t.clock);
    expect((await transfer(payer, payee, '20', id)).statusCode).toBe(201);
    const again = await transfer(payer, payee, '20', id);
    expect(again.statusCode).toBe(200);
    expect(await spentToday(payer)).toBe('20');
    // the next day: 25 is within no budget of 20, 15 is, but the wallet holds only 10
    t.clock.advance(86_400_000);
    expect(problem(await transfer(payer, payee, '25')).code).toBe('mandate_exceeded');
    const poor = await transfer(payer, payee, '15');
    expect(poor.statusCode).toBe(422);
    expect(problem(poor).code).toBe('insufficient_funds');
    expect(await spentToday(payer)).toBe('0');
    expect((await transfer(payer, payee, '10')).statusCode).toBe(201);
    expect(await spentToday(payer)).toBe('10');
    await auditOk();
  });

  it('an expired mandate refuses transfers; an agent without a mandate pays freely; the payee\'s mandate does not limit what it receives', async () => {
    const payer = await t.fundedBuyer('100');
    const payee = await t.fundedBuyer('1');
    expect((await putMandate(payee, { perDay: '1' })).statusCode).toBe(200);
    expect((await transfer(payer, payee, '50')).statusCode).toBe(201);
    expect((await putMandate(payer, { expiresAt: t.iso(1000) })).statusCode).toBe(200);
    t.clock.advance(2000);
    const r = await transfer(payer, payee, '1');
    expect(r.statusCode).toBe(409);
    expect((problem(r) as Json).limit).toBe('expiresAt');
    expect(await t.balance(payer)).toBe('50');
    await auditOk();
  });

  it('payments of one agent decided in one group count against one budget (group commit)', async () => {
    const payer = await t.fundedBuyer('100');
    const payee = await t.newAgent();
    expect((await putMandate(payer, { perDay: '30' })).statusCode).toBe(200);
    const res = await Promise.all(Array.from({ length: 10 }, () => transfer(payer, payee, '10')));
    const codes = res.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(codes.filter((c) => c !== 201 && c !== 409)).toEqual([]);
    expect(res.filter((r) => r.statusCode === 409).every((r) => (problem(r) as Json).limit === 'perDay')).toBe(true);
    expect(await t.balance(payer)).toBe('70');
    expect(await spentToday(payer)).toBe('30');
    await auditOk();
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('races against one mandate (PostgreSQL)', () => {
  const pools: Database[] = [];
  afterAll(async () => { for (const p of pools) await p.close(); });

  it('10 concurrent transfers against a daily budget of 3 of them pass exactly 3', async () => {
    const payer = await t.fundedBuyer('1000');
    const payee = await t.newAgent();
    expect((await putMandate(payer, { perDay: '30' })).statusCode).toBe(200);
    const res = await Promise.all(Array.from({ length: 10 }, () => transfer(payer, payee, '10')));
    expect(res.filter((r) => r.statusCode === 201)).toHaveLength(3);
    expect(res.filter((r) => r.statusCode !== 201).map((r) => problem(r).code)).toEqual(Array(7).fill('mandate_exceeded'));
    expect(await t.balance(payer)).toBe('970');
    expect(await t.balance(payee)).toBe('30');
    expect(await spentToday(payer)).toBe('30');
    await auditOk();
  });

  it('spread over three connection pools and mixed with escrow fundings, the budget still passes exactly 3', async () => {
    const payer = await t.fundedBuyer('1000');
    const payee = await t.newAgent();
    const seller = await t.newAgent({ type: 'provider' });
    const listing = await t.listing(seller);
    expect((await putMandate(payer, { perDay: '30' })).statusCode).toBe(200);
    const url = t.db.url!;
    const ledgers: LedgerService[] = [];
    for (let i = 0; i < 3; i++) {
      const db = await createDatabase({ url, poolSize: 4 });
      pools.push(db);
      const l = new LedgerService(db, t.clock);
      l.spendGuard = t.app.services.risk.spendGuard;
      ledgers.push(l);
    }
    const agreements = [];
    for (let i = 0; i < 4; i++) agreements.push(await t.agreement(payer, seller, listing.id, { pricePerUnit: '2', quantity: 5 })); // 10 each
    const outcomes = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => ledgers[i % 3]!.pay({ fromAgentId: payer.id, toAgentId: payee.id, amount: 10n * 10n ** 8n })
        .then(() => 'paid', (e: { code?: string }) => e.code ?? String(e))),
      ...agreements.map((a) => t.post(`/v1/agreements/${a.id}/fund`, payer.auth).then((r) => (r.statusCode === 200 ? 'paid' : problem(r).code))),
    ]);
    expect(outcomes.filter((o) => o === 'paid')).toHaveLength(3);
    expect(outcomes.filter((o) => o !== 'paid' && o !== 'mandate_exceeded')).toEqual([]);
    expect(await t.balance(payer)).toBe('970');
    expect(await spentToday(payer)).toBe('30');
    await auditOk();
  });
});
