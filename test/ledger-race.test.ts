/**
 * Concurrency of the ledger on PostgreSQL (runs only with TEST_DATABASE_URL): 16 clients, spread over
 * four Database objects (four pools, as four processes would be), race on one hot account, on the same
 * transfer ids, on hold expiry and on one escrow. Nothing may escape as an error (deadlocks and
 * serialization failures are retried inside), every id exists once, every submitter of an id gets
 * the same answer, and the ledger's invariants hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { createDatabase, type Database } from '../src/platform/db/database.js';
import { ManualClock } from '../src/platform/clock.js';
import { uuidFromName } from '../src/platform/ids.js';
import { AppError } from '../src/platform/http/errors.js';
import { AgentsService } from '../src/modules/agents/agents.service.js';
import { agentDirectory } from '../src/modules/agents/agents.port.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.accounts.js';
import type { Outcome } from '../src/modules/ledger/ledger.types.js';
import { EscrowService, type EscrowActor } from '../src/modules/ledger/escrow.service.js';
import type { EscrowAction } from '../src/modules/ledger/escrow.js';
import type { TransferInput } from '../src/modules/ledger/ledger.engine.js';

const CLIENTS = 16;
const POOLS = 4;

interface Client { ledger: LedgerService; escrow: EscrowService }

describe.skipIf(!process.env.TEST_DATABASE_URL)('ledger under concurrency (PostgreSQL)', () => {
  let db: TestDatabase;
  const pools: Database[] = [];
  const clients: Client[] = [];
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  let main: LedgerService;
  let agents: AgentsService;
  let run = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 4 });
    agents = new AgentsService(db.database, clock);
    main = new LedgerService(db.database, clock);
    agents.onCreated.push(async (tx, agent) => { await main.openWallet(tx, agent.id); });
    for (let p = 0; p < POOLS; p++) pools.push(await createDatabase({ url: db.url, poolSize: CLIENTS / POOLS }));
    for (let c = 0; c < CLIENTS; c++) {
      const database = pools[c % POOLS]!;
      const ledger = new LedgerService(database, clock);
      clients.push({ ledger, escrow: new EscrowService(database, clock, ledger, agentDirectory(database)) });
    }
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await db?.cleanup();
  });

  const newAgents = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { agent } = await agents.register({ displayName: `race-${run}-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: [] });
      ids.push(agent.id);
    }
    return ids;
  };
  const mint = async (agentId: string, amount: bigint) => {
    const [o] = await main.execute([{ id: uuidFromName(`race-mint:${agentId}:${amount}`), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: walletAccountId(agentId), amount, code: 'mint' }]);
    expect(o?.status).toBe('created');
  };
  const balanceOf = async (agentId: string) => {
    const a = await main.getAccount(walletAccountId(agentId));
    return { balance: a!.credits_posted - a!.debits_posted, held: a!.debits_pending };
  };
  const expectSound = async () => {
    const audit = await main.audit();
    expect(audit.violations).toEqual([]);
    expect(audit.ok).toBe(true);
  };
  /** Runs `fn` in all clients at once; any thrown error fails the test after all have finished. */
  const all = async <T>(fn: (c: Client, i: number) => Promise<T>): Promise<T[]> => {
    const settled = await Promise.allSettled(clients.map((c, i) => fn(c, i)));
    const errors = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason as Error);
    expect(errors.map((e) => `${(e as { code?: string }).code ?? ''} ${e.message}`), 'errors that escaped').toEqual([]);
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  };
  const rnd = (n: number) => Math.floor(Math.random() * n);

  it('16 clients spending from one hot account: exactly its balance succeeds, the rest is insufficient_funds; cross traffic never deadlocks', async () => {
    run++;
    const [hot, ...others] = await newAgents(9);
    const UNIT = 1_000n;
    const PER_CLIENT = 10;
    const SUCCEED = 100; // balance = 100 units of spending; demand = 160
    await mint(hot!, UNIT * BigInt(SUCCEED));
    for (const o of others) await mint(o, 50n * UNIT);
    const results = await all(async (c, i) => {
      const out: Array<{ hot: boolean; o: Outcome }> = [];
      for (let k = 0; k < PER_CLIENT; k++) {
        // one transfer out of the hot account ...
        const to = others[rnd(others.length)]!;
        const [o] = await c.ledger.execute([{ id: uuidFromName(`race-hot:${run}:${i}:${k}`), kind: 'posted', debitAccountId: walletAccountId(hot!), creditAccountId: walletAccountId(to), amount: UNIT, code: 'payment' }]);
        out.push({ hot: true, o: o! });
        // ... and cross traffic: pairs in random directions, and linked groups over several accounts in random order
        const ai = rnd(others.length);
        const a = others[ai]!;
        const b = others[(ai + 1 + rnd(others.length - 1)) % others.length]!;
        const [x] = await c.ledger.execute([{ id: uuidFromName(`race-cross:${run}:${i}:${k}`), kind: 'posted', debitAccountId: walletAccountId(a), creditAccountId: walletAccountId(b), amount: BigInt(1 + rnd(2000)), code: 'payment' }]);
        out.push({ hot: false, o: x! });
        const group: TransferInput[] = [0, 1, 2].map((g) => {
          const from = others[rnd(others.length)]!;
          const toIx = (others.indexOf(from) + 1 + rnd(others.length - 1)) % others.length;
          return { id: uuidFromName(`race-group:${run}:${i}:${k}:${g}`), kind: 'posted', debitAccountId: walletAccountId(from), creditAccountId: walletAccountId(others[toIx]!), amount: BigInt(1 + rnd(3000)), code: 'payment' };
        });
        for (const y of await c.ledger.execute(group, { atomic: true })) out.push({ hot: false, o: y });
      }
      return out;
    });
    const flat = results.flat();
    const hotOutcomes = flat.filter((r) => r.hot).map((r) => r.o);
    expect(hotOutcomes).toHaveLength(CLIENTS * PER_CLIENT);
    expect(hotOutcomes.filter((o) => o.status === 'created')).toHaveLength(SUCCEED);
    const rejected = hotOutcomes.filter((o) => o.status === 'rejected');
    expect(rejected).toHaveLength(CLIENTS * PER_CLIENT - SUCCEED);
    for (const o of rejected) expect(o).toMatchObject({ status: 'rejected', code: 'insufficient_funds' });
    // cross traffic: only created, insufficient_funds or (linked) linked_transfer_failed
    for (const { o } of flat) {
      if (o.status === 'rejected') expect(['insufficient_funds', 'linked_transfer_failed']).toContain(o.code);
      else expect(o.status).toBe('created');
    }
    // the hot account ends at exactly 0, and the money went where the created transfers say
    expect(await balanceOf(hot!)).toEqual({ balance: 0n, held: 0n });
    const net = new Map<string, bigint>(others.map((o) => [walletAccountId(o), 50n * UNIT]));
    for (const { o } of flat) {
      if (o.status !== 'created') continue;
      if (net.has(o.transfer.debitAccountId)) net.set(o.transfer.debitAccountId, net.get(o.transfer.debitAccountId)! - o.transfer.amount);
      net.set(o.transfer.creditAccountId, net.get(o.transfer.creditAccountId)! + o.transfer.amount);
    }
    for (const o of others) expect((await balanceOf(o)).balance).toBe(net.get(walletAccountId(o)));
    // every created id is stored once; every rejected id is a stored rejection and not a transfer
    const created = flat.filter((r) => r.o.status === 'created').map((r) => r.o.id);
    const stored = await db.database.db.selectFrom('ledger_transfers').select('id').where('id', 'in', created).execute();
    expect(stored).toHaveLength(created.length);
    const rejectedIds = flat.filter((r) => r.o.status === 'rejected').map((r) => r.o.id);
    const asTransfers = await db.database.db.selectFrom('ledger_transfers').select('id').where('id', 'in', rejectedIds).execute();
    expect(asTransfers).toEqual([]);
    await expectSound();
  }, 60_000);

  it('the hot account is drained to exactly 0 when all demand is on it, with uneven amounts', async () => {
    run++;
    const [hot, sink] = await newAgents(2);
    await mint(hot!, 10_000n);
    const out = await all(async (c, i) => {
      const res: Outcome[] = [];
      for (let k = 0; k < 12; k++) {
        const [o] = await c.ledger.execute([{ id: uuidFromName(`race-drain:${run}:${i}:${k}`), kind: 'posted', debitAccountId: walletAccountId(hot!), creditAccountId: walletAccountId(sink!), amount: 1n + BigInt(rnd(120)), code: 'payment' }]);
        res.push(o!);
      }
      // then one unit at a time until refused, so the last units are spent too
      for (;;) {
        const [o] = await c.ledger.execute([{ id: uuidFromName(`race-drain-1:${run}:${i}:${res.length}`), kind: 'posted', debitAccountId: walletAccountId(hot!), creditAccountId: walletAccountId(sink!), amount: 1n, code: 'payment' }]);
        res.push(o!);
        if (o!.status === 'rejected') break;
      }
      return res;
    });
    const flat = out.flat();
    const spent = flat.reduce((s, o) => s + (o.status === 'created' ? o.transfer.amount : 0n), 0n);
    for (const o of flat) if (o.status === 'rejected') expect(o.code).toBe('insufficient_funds');
    expect(spent).toBe(10_000n);
    expect((await balanceOf(hot!)).balance).toBe(0n);
    expect((await balanceOf(sink!)).balance).toBe(10_000n);
    await expectSound();
  }, 60_000);

  it('concurrent duplicate submissions of the same ids: one transfer per id, the same answer for every submitter', async () => {
    run++;
    const [payer, ...payees] = await newAgents(5);
    await mint(payer!, 30_000n); // 40 ids x 1,000 demand: 30 can succeed
    const IDS = 40;
    const inputs: TransferInput[] = Array.from({ length: IDS }, (_, j) => ({
      id: uuidFromName(`race-dup:${run}:${j}`), kind: 'posted', debitAccountId: walletAccountId(payer!), creditAccountId: walletAccountId(payees[j % payees.length]!),
      amount: 1_000n, code: 'payment',
    }));
    const answers = await all(async (c) => {
      const order = [...inputs].sort(() => Math.random() - 0.5);
      const res: Outcome[] = [];
      for (const input of order) res.push((await c.ledger.execute([input]))[0]!);
      return res;
    });
    const byId = new Map<string, Outcome[]>();
    for (const o of answers.flat()) byId.set(o.id, [...(byId.get(o.id) ?? []), o]);
    expect(byId.size).toBe(IDS);
    let createdIds = 0;
    for (const [id, os] of byId) {
      expect(os, id).toHaveLength(CLIENTS);
      const created = os.filter((o) => o.status === 'created');
      if (created.length) {
        createdIds++;
        expect(created, `${id}: created once`).toHaveLength(1);
        expect(os.filter((o) => o.status === 'exists'), `${id}: the others see it`).toHaveLength(CLIENTS - 1);
        for (const o of os) if (o.status !== 'rejected') expect(o.transfer.amount).toBe(1_000n);
      } else {
        expect(new Set(os.map((o) => (o.status === 'rejected' ? o.code : o.status))), `${id}: one answer`).toEqual(new Set(['insufficient_funds']));
      }
    }
    expect(createdIds).toBe(30);
    const stored = await db.database.db.selectFrom('ledger_transfers').select('id').where('id', 'in', inputs.map((i) => i.id)).execute();
    expect(stored).toHaveLength(30);
    const rejections = await db.database.db.selectFrom('ledger_rejections').select('id').where('id', 'in', inputs.map((i) => i.id)).execute();
    expect(rejections).toHaveLength(10);
    expect((await balanceOf(payer!)).balance).toBe(0n);
    await expectSound();
  }, 60_000);

  it('the same id submitted concurrently with different fields (disjoint accounts): one wins, the others conflict', async () => {
    run++;
    const ids = await newAgents(8);
    for (const a of ids) await mint(a, 100_000n);
    const ROUNDS = 15;
    // variant v of an id moves between its own pair of wallets: the submissions share no account lock
    const variant = (j: number, v: number): TransferInput => ({
      id: uuidFromName(`race-diff:${run}:${j}`), kind: 'posted', debitAccountId: walletAccountId(ids[2 * v]!), creditAccountId: walletAccountId(ids[2 * v + 1]!),
      amount: 100n + BigInt(v), code: 'payment',
    });
    const answers = await all(async (_c, i) => {
      const c = clients[i]!;
      const res: Array<{ v: number; o: Outcome }> = [];
      for (let j = 0; j < ROUNDS; j++) res.push({ v: i % 4, o: (await c.ledger.execute([variant(j, i % 4)]))[0]! });
      return res;
    });
    for (let j = 0; j < ROUNDS; j++) {
      const id = variant(j, 0).id;
      const os = answers.flat().filter((a) => a.o.id === id);
      expect(os).toHaveLength(CLIENTS);
      const winners = os.filter((a) => a.o.status === 'created');
      expect(winners, `${id}: created once`).toHaveLength(1);
      const w = winners[0]!.v;
      for (const a of os) {
        if (a === winners[0]) continue;
        if (a.v === w) expect(a.o.status, 'same fields as the winner').toBe('exists');
        else expect(a.o, 'other fields').toMatchObject({ status: 'rejected', code: 'exists_with_different_fields' });
      }
      const stored = await main.getTransfer(id);
      expect(stored?.amount).toBe(100n + BigInt(w));
    }
    await expectSound();
  }, 60_000);

  it('the same id concurrently: one submission is rejected, another with other fields would succeed: the id gets one outcome', async () => {
    run++;
    const [poor, rich, x, y] = await newAgents(4);
    await mint(rich!, 1_000_000n);
    const ROUNDS = 20;
    // variant 0 is refused (poor has nothing), variant 1 succeeds; they share no account
    const variant = (j: number, v: number): TransferInput => ({
      id: uuidFromName(`race-rej:${run}:${j}`), kind: 'posted', debitAccountId: walletAccountId(v ? rich! : poor!), creditAccountId: walletAccountId(v ? x! : y!),
      amount: 100n, code: 'payment',
    });
    const answers = (await all(async (c, i) => {
      const res: Array<{ v: number; o: Outcome }> = [];
      for (let j = 0; j < ROUNDS; j++) res.push({ v: i % 2, o: (await c.ledger.execute([variant(j, i % 2)]))[0]! });
      return res;
    })).flat();
    for (let j = 0; j < ROUNDS; j++) {
      const id = variant(j, 0).id;
      const os = answers.filter((a) => a.o.id === id);
      const transfer = await main.getTransfer(id);
      const rejection = await db.database.db.selectFrom('ledger_rejections').selectAll().where('id', '=', id).executeTakeFirst();
      expect(Boolean(transfer) !== Boolean(rejection), `${id}: exactly one stored outcome (transfer ${Boolean(transfer)}, rejection ${Boolean(rejection)})`).toBe(true);
      for (const a of os) {
        if (transfer) {
          // the transfer won: its variant sees created/exists, the other variant a conflict
          if (a.v === 1) expect(['created', 'exists']).toContain(a.o.status);
          else expect(a.o).toMatchObject({ status: 'rejected', code: 'exists_with_different_fields' });
        } else {
          if (a.v === 0) expect(a.o).toMatchObject({ status: 'rejected', code: 'insufficient_funds' });
          else expect(a.o).toMatchObject({ status: 'rejected', code: 'exists_with_different_fields' });
        }
      }
    }
    await expectSound();
  }, 60_000);

  it('hold expiry run by all clients at once expires each hold exactly once', async () => {
    run++;
    const [payer, payee] = await newAgents(2);
    await mint(payer!, 1_000_000n);
    const holds: TransferInput[] = Array.from({ length: 60 }, (_, j) => ({
      id: uuidFromName(`race-hold:${run}:${j}`), kind: 'pending', debitAccountId: walletAccountId(payer!), creditAccountId: walletAccountId(payee!),
      amount: 1_000n, timeoutMs: 1_000, code: 'hold',
    }));
    expect((await main.execute(holds)).every((o) => o.status === 'created')).toBe(true);
    expect((await balanceOf(payer!)).held).toBe(60_000n);
    clock.advance(1_000);
    const counts = await all(async (c, i) => {
      if (i % 2) {
        // half the clients try to post the same holds after their timeout: always refused
        const res = await c.ledger.execute(holds.map((h) => ({ id: uuidFromName(`race-post:${run}:${i}:${h.id}`), kind: 'post_pending' as const, pendingId: h.id, code: 'post' })));
        for (const o of res) expect(o.status === 'rejected' && ['pending_expired', 'pending_already_resolved'].includes(o.code), JSON.stringify(o)).toBe(true);
        return 0;
      }
      return c.ledger.expireDueHolds();
    });
    expect(counts.reduce((s, n) => s + n, 0)).toBe(60);
    const expiries = await db.database.db.selectFrom('ledger_transfers').select('pending_id').where('pending_id', 'in', holds.map((h) => h.id)).execute();
    expect(expiries).toHaveLength(60);
    expect(await balanceOf(payer!)).toEqual({ balance: 1_000_000n, held: 0n });
    await expectSound();
  }, 60_000);

  it('release, refund and dispute racing on one escrow: exactly one wins, the others are invalid_transition', async () => {
    run++;
    const [payer, payee] = await newAgents(2);
    const ESCROWS = 12;
    const AMOUNT = 10_000n;
    await mint(payer!, AMOUNT * BigInt(ESCROWS));
    const escrows: string[] = [];
    for (let e = 0; e < ESCROWS; e++) {
      const v = await clients[0]!.escrow.create({ id: uuidFromName(`race-escrow:${run}:${e}`), payerAgentId: payer!, payeeAgentId: payee!, amount: AMOUNT, feeBps: 250 }, { kind: 'agent', agentId: payer! });
      escrows.push(v.id);
    }
    const moves: Array<{ action: EscrowAction; actor: EscrowActor }> = [
      { action: 'release', actor: { kind: 'agent', agentId: payer! } },
      { action: 'refund', actor: { kind: 'agent', agentId: payee! } },
      { action: 'dispute', actor: { kind: 'agent', agentId: payer! } },
      { action: 'dispute', actor: { kind: 'agent', agentId: payee! } },
    ];
    const winners = new Map<string, EscrowAction>();
    for (const id of escrows) {
      // 16 clients, four of each move, all on one escrow at the same moment
      const results = await Promise.allSettled(clients.map((c, i) => c.escrow.act(id, moves[i % moves.length]!.action, moves[i % moves.length]!.actor)));
      const ok = results.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 'fulfilled');
      expect(ok, `${id}: exactly one move wins`).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        expect(r.reason, String(r.reason)).toBeInstanceOf(AppError);
        expect((r.reason as AppError).code).toBe('invalid_transition');
      }
      winners.set(id, moves[ok[0]!.i % moves.length]!.action);
    }
    let payeeGets = 0n;
    let payerGets = 0n;
    let held = 0n;
    const fee = (AMOUNT * 250n) / 10_000n;
    for (const id of escrows) {
      const e = await main.getAccount((await clients[0]!.escrow.get(id)).accountId);
      const view = await clients[0]!.escrow.get(id);
      const w = winners.get(id)!;
      expect(view.state).toBe(w === 'release' ? 'released' : w === 'refund' ? 'refunded' : 'disputed');
      const events = await clients[0]!.escrow.events(id);
      expect(events.map((x) => x.action)).toEqual(['create', w]);
      if (w === 'release') payeeGets += AMOUNT - fee;
      if (w === 'refund') payerGets += AMOUNT;
      if (w === 'dispute') held += AMOUNT;
      expect(e!.credits_posted - e!.debits_posted).toBe(w === 'dispute' ? AMOUNT : 0n);
    }
    expect((await balanceOf(payee!)).balance).toBe(payeeGets);
    expect((await balanceOf(payer!)).balance).toBe(payerGets);
    expect(payeeGets + payerGets + held + fee * BigInt([...winners.values()].filter((w) => w === 'release').length)).toBe(AMOUNT * BigInt(ESCROWS));
    await expectSound();
  }, 60_000);

  it('ids stay unique across the whole run', async () => {
    const dup = await sql<{ id: string }>`SELECT id FROM ledger_transfers GROUP BY id HAVING count(*) > 1`.execute(db.database.db);
    expect(dup.rows).toEqual([]);
    const both = await sql<{ id: string }>`SELECT t.id FROM ledger_transfers t JOIN ledger_rejections r ON r.id = t.id`.execute(db.database.db);
    expect(both.rows, 'no id is both a transfer and a rejection').toEqual([]);
  });
});
