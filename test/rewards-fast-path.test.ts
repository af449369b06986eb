/**
 * The set-based reward path gives what the previous path gave: the epoch's evidence with the held agents
 * read in one query (heldAgents) equals the evidence with isHeld asked per agent (statements compared
 * field by field, one agent held, one hold expired, one lifted); statements stored by the unnest insert
 * read back as given; and the pipelined distribution (10,000-transfer batches, marks and reads overlapped
 * with the ledger's writes) creates the same transfers, statement marks and pool debit as the sequential
 * path (pipeline: false), including a statement the ledger rejects and one of amount zero.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { listing, mint, party, trade } from './helpers/trades.js';
import { uuidFromName } from '../src/platform/ids.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import { RewardsService } from '../src/modules/rewards/rewards.service.js';
import { rewardsRepository as repo, type NewStatement } from '../src/modules/rewards/rewards.repository.js';

let t: TestApp;
beforeEach(async () => { t = await buildTestApp(); });
afterEach(async () => { await t.close(); });

const poolBalance = async () => {
  const a = (await t.app.services.ledger.getAccount(SYSTEM_ACCOUNTS.rewards))!;
  return a.credits_posted - a.debits_posted;
};

describe('rewards fast path', () => {
  it('reads the held agents in one query and computes the same statements as isHeld per agent', async () => {
    const sellers = [await party(t), await party(t), await party(t), await party(t)];
    const buyers = [await party(t), await party(t)];
    for (const b of buyers) await mint(t, b, '10000');
    const listings = await Promise.all(sellers.map((s, i) => listing(t, s, { gpuModel: i % 2 ? 'A100' : 'H100', price: '10' })));
    const epoch = await t.app.services.rewards.ensureOpen('default');
    for (let i = 0; i < 8; i++) await trade(t, { buyer: buyers[i % 2]!, seller: sellers[i % 4]!, listing: listings[i % 4]!, quantity: 5 + i });
    await t.post('/v1/admin/rewards/grants', t.admin, { amount: '100' });
    const hold = (kind: string, target: string, extra: Record<string, unknown> = {}) => t.post('/v1/admin/risk/interventions', t.admin, { kind, target, reason: 'review', ...extra });
    expect((await hold('hold_settlements', sellers[0]!.id)).statusCode).toBe(201);
    expect((await hold('hold_settlements', sellers[1]!.id, { expiresAt: t.iso(60_000) })).statusCode).toBe(201);
    const lifted = (await hold('hold_settlements', buyers[0]!.id)).json();
    expect((await t.del(`/v1/admin/risk/interventions/${lifted.id}?reason=cleared`, t.admin)).statusCode).toBe(200);
    expect((await hold('suspend_agent', sellers[2]!.id)).statusCode).toBe(201); // another kind: not a hold
    t.clock.advance(120_000); // sellers[1]'s hold has expired

    const risk = t.app.services.risk;
    expect([...(await risk.heldAgents())]).toEqual([sellers[0]!.id]);
    for (const p of [...sellers, ...buyers]) expect((await risk.heldAgents()).has(p.id), p.id).toBe(await risk.isHeld(p.id));

    const fast = t.app.services.rewards;
    expect(fast.deps.heldAgents).toBeDefined();
    let perAgent = 0;
    const previous = new RewardsService({ ...fast.deps, heldAgents: undefined, isHeld: (id) => { perAgent++; return risk.isHeld(id); } });
    const a = await fast.compute(epoch, t.clock.now());
    const b = await previous.compute(epoch, t.clock.now());
    expect(perAgent).toBe(6); // the previous path asked once per agent
    expect(a.result.statements.length).toBe(6);
    expect(a.result.statements.filter((s) => s.status === 'held').map((s) => s.agentId)).toEqual([sellers[0]!.id]);
    expect(a.result).toEqual(b.result);
    expect(a.trust).toEqual(b.trust);
  });

  it('stores statements as given and distributes them like the sequential path', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 37; i++) ids.push((await t.newAgent({ type: 'provider' })).id);
    const ghost = uuidFromName('rewards-fast-path:no-such-agent'); // no wallet: the ledger rejects its transfer
    const rows = (salt: number): NewStatement[] => [...ids, ghost].map((id, i) => ({
      agentId: id, amount: i % 9 === 4 ? 0n : BigInt(1_000 + i * 7_919 + salt), status: i % 11 === 3 ? 'held' as const : 'payable' as const,
      tier: ['bronze', 'silver', 'gold'][i % 3]!, trust: (i * 37) % 1000, detail: { i, salt, note: `row "${i}"`, nested: { a: [1, 'x', null] } },
    }));
    await t.post('/v1/admin/rewards/grants', t.admin, { amount: '10' });
    const close = async (salt: number) => {
      const e = await t.app.services.rewards.ensureOpen('default');
      const st = rows(salt);
      await t.db.database.transaction(async (tx) => {
        await repo.insertStatements(tx, e.id, st);
        await repo.insertStatements(tx, e.id, st); // a second insert adds nothing
        await repo.closeEpoch(tx, e.id, {
          ends_at: e.ends_at, pool_balance: 0n, budget: 0n, demand: 0n, paid: 0n, held: 0n, capped: 0n, remainder_units: 0n, scale_ppm: 1_000_000n, agents: st.length, closed_at: t.clock.now(),
        });
      });
      t.clock.advance(1000);
      return { e, st };
    };
    const stored = async (epochId: string) => (await t.db.database.db.selectFrom('rewards_statements').selectAll().where('epoch_id', '=', epochId).orderBy('agent_id').execute());

    const one = await close(0);
    const back = await stored(one.e.id);
    const given = [...one.st].sort((x, y) => (x.agentId < y.agentId ? -1 : 1));
    expect(back.map((r) => ({ agentId: r.agent_id, amount: r.amount, status: r.status, tier: r.tier, trust: r.trust, detail: r.detail }))).toEqual(given);
    expect(back.every((r) => r.transfer_id === null && r.paid_at === null)).toBe(true);
    // the same statements in a second epoch (same agents, same amounts: salt 0)
    const two = await close(0);

    const pool0 = await poolBalance();
    const seq = await t.app.services.rewards.distribute(one.e.id, { chunk: 5, pipeline: false });
    const pool1 = await poolBalance();
    let chunks = 0;
    const pip = await t.app.services.rewards.distribute(two.e.id, { chunk: 5, afterChunk: async () => { chunks++; } });
    const pool2 = await poolBalance();
    expect(chunks).toBe(Math.ceil(given.filter((s) => s.status === 'payable').length / 5));
    const payable = given.filter((s) => s.status === 'payable' && s.amount > 0n && s.agentId !== ghost);
    const sum = payable.reduce((x, s) => x + s.amount, 0n);
    for (const d of [seq, pip]) expect([d.created, d.existing, d.rejected, d.paid]).toEqual([payable.length, 0, 1, sum]);
    expect(pool0 - pool1).toBe(sum);
    expect(pool1 - pool2).toBe(sum);

    const view = (r: Awaited<ReturnType<typeof stored>>[number], e: typeof one.e) => ({
      agent: r.agent_id, amount: r.amount, status: r.status, hasTransfer: r.transfer_id === null ? null : r.transfer_id === RewardsService.transferId(e, r.agent_id), paid: r.paid_at !== null,
    });
    const s1 = (await stored(one.e.id)).map((r) => view(r, one.e));
    const s2 = (await stored(two.e.id)).map((r) => view(r, two.e));
    expect(s2).toEqual(s1);
    expect(s1.find((r) => r.agent === ghost)?.status).toBe('rejected');
    expect(s1.filter((r) => r.status === 'paid').length).toBe(payable.length);
    expect(s1.filter((r) => r.status === 'held').length).toBe(given.filter((s) => s.status === 'held').length);
    for (const s of payable) {
      const [x, y] = await Promise.all([one.e, two.e].map((e) => t.app.services.ledger.getTransfer(RewardsService.transferId(e, s.agentId))));
      for (const tr of [x, y]) expect(tr).toMatchObject({ amount: s.amount, debitAccountId: SYSTEM_ACCOUNTS.rewards, creditAccountId: walletAccountId(s.agentId), code: 'reward' });
    }
    const w = (await t.app.services.ledger.getAccount(walletAccountId(payable[0]!.agentId)))!;
    expect(w.credits_posted - w.debits_posted).toBe(2n * payable[0]!.amount);
    expect((await t.app.services.rewards.distribute(two.e.id)).created).toBe(0);
    expect((await t.app.services.ledger.audit()).ok).toBe(true);
  });
});
