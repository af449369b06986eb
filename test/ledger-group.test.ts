/** Group commit: concurrent execute() calls written together keep each call's own semantics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buildTestApp, type TestApp } from './helpers/test-app.js';
import { SYSTEM_ACCOUNTS, walletAccountId, type LedgerService } from '../src/modules/ledger/ledger.service.js';

let t: TestApp;
let ledger: LedgerService;
const A = 100_000_000n;

beforeAll(async () => {
  t = await buildTestApp();
  ledger = t.app.services.ledger;
});
afterAll(async () => { await t.close(); });

describe('group commit', () => {
  it('decides concurrent calls as if they ran one after another, each with its own outcome', async () => {
    const [a, b, c] = [await t.registerAgent(), await t.registerAgent(), await t.registerAgent()];
    const [wa, wb, wc] = [a, b, c].map((x) => walletAccountId(x.id)) as [string, string, string];
    await ledger.execute([{ id: randomUUID(), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: wa, amount: 10n * A, code: 'mint' }]);
    const dup = randomUUID();
    const linkedOk = [randomUUID(), randomUUID()];
    const linkedBad = [randomUUID(), randomUUID()];
    const calls = [
      // 20 payments of 1 from a hot wallet holding 10, interleaved with the rest: exactly 10 succeed.
      ...Array.from({ length: 20 }, () => ledger.execute([{ id: randomUUID(), kind: 'posted', debitAccountId: wa, creditAccountId: wb, amount: A, code: 'payment' }])),
      // The same id twice with the same fields, once with other fields.
      ledger.execute([{ id: dup, kind: 'posted', debitAccountId: wb, creditAccountId: wc, amount: 1n, code: 'payment' }]),
      ledger.execute([{ id: dup, kind: 'posted', debitAccountId: wb, creditAccountId: wc, amount: 1n, code: 'payment' }]),
      ledger.execute([{ id: dup, kind: 'posted', debitAccountId: wb, creditAccountId: wc, amount: 2n, code: 'payment' }]),
      // A linked group that fails leaves nothing behind; one that succeeds moves both legs.
      ledger.execute([
        { id: linkedBad[0]!, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: wc, amount: 5n, code: 'x' },
        { id: linkedBad[1]!, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.fees, creditAccountId: wc, amount: 5n, code: 'x' },
      ], { atomic: true }),
      ledger.execute([
        { id: linkedOk[0]!, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: wc, amount: 7n, code: 'x' },
        { id: linkedOk[1]!, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: wb, amount: 7n, code: 'x' },
      ], { atomic: true }),
    ];
    const out = await Promise.all(calls);
    const payments = out.slice(0, 20).map((o) => o[0]!.status);
    expect(payments.filter((s) => s === 'created')).toHaveLength(10);
    expect(out.slice(0, 20).flat().filter((o) => o.status === 'rejected').map((o) => (o as { code: string }).code))
      .toEqual(Array(10).fill('insufficient_funds'));
    const dupOutcomes = out.slice(20, 23).map((o) => (o[0]!.status === 'rejected' ? (o[0] as { code: string }).code : o[0]!.status));
    // The first of the pair to be decided creates it (it may fail for funds only if b had none yet).
    expect(dupOutcomes[2]).toBe('exists_with_different_fields');
    expect([['created', 'exists'], ['insufficient_funds', 'insufficient_funds']]).toContainEqual(dupOutcomes.slice(0, 2));
    expect(out[23]!.map((o) => (o as { code?: string }).code)).toEqual(['linked_transfer_failed', 'insufficient_funds']);
    expect(out[24]!.map((o) => o.status)).toEqual(['created', 'created']);
    for (const id of linkedBad) expect(await ledger.getTransfer(id)).toBeUndefined();
    const acct = await ledger.getAccount(wa);
    expect(acct!.credits_posted - acct!.debits_posted).toBe(0n);
    expect(await ledger.audit()).toMatchObject({ ok: true, violations: [] });
  });

  it('groups concurrent HTTP payments (on PGlite too, where the database shares the event loop)', async () => {
    const agents = [await t.registerAgent(), await t.registerAgent(), await t.registerAgent(), await t.registerAgent()];
    for (const a of agents) {
      await ledger.execute([{ id: randomUUID(), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: walletAccountId(a.id), amount: 1000n * A, code: 'mint' }]);
    }
    const internals = ledger as unknown as { decideAndWrite: (...args: unknown[]) => Promise<unknown> };
    const original = internals.decideAndWrite;
    let groups = 0;
    internals.decideAndWrite = function (this: unknown, ...args: unknown[]) {
      groups++;
      return original.apply(this, args);
    };
    try {
      const n = 64;
      const res = await Promise.all(Array.from({ length: n }, (_, i) => t.app.inject({
        method: 'POST', url: '/v1/transfers', headers: agents[i % 4]!.auth, payload: { id: randomUUID(), to: agents[(i + 1) % 4]!.id, amount: '1' },
      })));
      expect(res.every((r) => r.statusCode === 201)).toBe(true);
      // one group per payment would be 64; written together they take a handful
      expect(groups).toBeLessThanOrEqual(n / 4);
    } finally {
      internals.decideAndWrite = original;
    }
  });

  it('rejects a call with a repeated id at once, without touching the others', async () => {
    const id = randomUUID();
    expect(() => ledger.execute([
      { id, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: SYSTEM_ACCOUNTS.rewards, amount: 1n, code: 'x' },
      { id, kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: SYSTEM_ACCOUNTS.rewards, amount: 1n, code: 'x' },
    ])).toThrow(/duplicate transfer ids/);
  });
});
