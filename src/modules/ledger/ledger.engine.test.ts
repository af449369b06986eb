/** Plain unit tests of the pure ledger engine (applyTransfers) and the escrow state machine. */
import { describe, expect, it } from 'vitest';
import { MAX_COUNTER, applyTransfers, availableOf, balanceOf, type AccountState, type PendingState, type TransferInput } from './ledger.engine.js';
import { ESCROW_STATES, TERMINAL, feeOf, nextEscrowState, type EscrowAction, type EscrowState } from './escrow.js';

const acct = (id: string, opts: Partial<AccountState> = {}): AccountState => ({
  id, noOverdraft: true, debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n, ...opts,
});

/** treasury (may go negative), wallets a and b; a holds 100. */
function world() {
  const accounts = new Map<string, AccountState>([
    ['t', acct('t', { noOverdraft: false, debitsPosted: 100n })],
    ['a', acct('a', { creditsPosted: 100n })],
    ['b', acct('b')],
  ]);
  const pendings = new Map<string, PendingState>();
  return { accounts, pendings };
}

const posted = (id: string, dr: string, cr: string, amount: bigint): TransferInput => ({ id, kind: 'posted', debitAccountId: dr, creditAccountId: cr, amount, code: 'payment' });
const hold = (id: string, dr: string, cr: string, amount: bigint, timeoutMs?: number): TransferInput => ({ id, kind: 'pending', debitAccountId: dr, creditAccountId: cr, amount, timeoutMs, code: 'hold' });

describe('applyTransfers', () => {
  it('moves a posted amount and writes two balancing entries with the balances after', () => {
    const { accounts, pendings } = world();
    const r = applyTransfers(accounts, pendings, [posted('x', 'a', 'b', 30n)], 0, false);
    expect(r.results).toEqual([expect.objectContaining({ id: 'x', status: 'created' })]);
    expect(balanceOf(accounts.get('a')!)).toBe(70n);
    expect(balanceOf(accounts.get('b')!)).toBe(30n);
    expect(r.entries).toHaveLength(2);
    expect(r.entries.map((e) => [e.accountId, e.side, e.postedDelta, e.balanceAfter])).toEqual([['a', 'debit', 30n, 70n], ['b', 'credit', 30n, 30n]]);
  });

  it('rejects a transfer that would overflow a counter, changing nothing', () => {
    const { accounts, pendings } = world();
    accounts.get('b')!.creditsPosted = MAX_COUNTER - 10n;
    const before = structuredClone([...accounts.values()]);
    const r = applyTransfers(accounts, pendings, [posted('x', 't', 'b', 11n), hold('h', 't', 'b', 11n)], 0, false);
    expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual(['overflows_account', 'created']);
    expect(applyTransfers(accounts, pendings, [posted('y', 't', 'b', 10n)], 0, false).results[0]!.status).toBe('created');
    expect(accounts.get('t')!.debitsPosted).toBe(before[0]!.debitsPosted + 10n);
  });

  it('rejects an overdraft, a zero amount, the same account and unknown accounts, changing nothing', () => {
    const { accounts, pendings } = world();
    const r = applyTransfers(accounts, pendings, [
      posted('over', 'a', 'b', 101n), posted('zero', 'a', 'b', 0n), posted('same', 'a', 'a', 1n), posted('unknown', 'a', 'zz', 1n),
    ], 0, false);
    expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual([
      'insufficient_funds', 'amount_must_be_positive', 'same_account', 'account_not_found',
    ]);
    expect(r.transfers).toHaveLength(0);
    expect(balanceOf(accounts.get('a')!)).toBe(100n);
  });

  it('spends exactly the available balance and no more; the treasury may go negative', () => {
    const { accounts, pendings } = world();
    const r = applyTransfers(accounts, pendings, [posted('1', 'a', 'b', 60n), posted('2', 'a', 'b', 41n), posted('3', 'a', 'b', 40n), posted('4', 't', 'a', 500n)], 0, false);
    expect(r.results.map((x) => x.status)).toEqual(['created', 'rejected', 'created', 'created']);
    expect(balanceOf(accounts.get('a')!)).toBe(500n);
    expect(balanceOf(accounts.get('t')!)).toBe(-600n);
  });

  it('a hold reduces the available balance; a partial post returns the remainder', () => {
    const { accounts, pendings } = world();
    applyTransfers(accounts, pendings, [hold('h', 'a', 'b', 80n, 1000)], 0, false);
    const a = accounts.get('a')!;
    expect([balanceOf(a), availableOf(a)]).toEqual([100n, 20n]);
    expect(pendings.get('h')).toMatchObject({ amount: 80n, timeoutAt: 1000, resolved: false });
    // the hold blocks spending
    expect(applyTransfers(accounts, pendings, [posted('p', 'a', 'b', 21n)], 0, false).results[0]).toMatchObject({ status: 'rejected', code: 'insufficient_funds' });
    const r = applyTransfers(accounts, pendings, [{ id: 'post', kind: 'post_pending', pendingId: 'h', amount: 30n, code: 'post' }], 10, false);
    expect(r.results[0]).toMatchObject({ status: 'created' });
    expect(r.entries.map((e) => [e.accountId, e.pendingDelta, e.postedDelta])).toEqual([['a', -80n, 30n], ['b', -80n, 30n]]);
    expect([balanceOf(a), availableOf(a), a.debitsPending]).toEqual([70n, 70n, 0n]);
    expect(balanceOf(accounts.get('b')!)).toBe(30n);
    expect(accounts.get('b')!.creditsPending).toBe(0n);
  });

  it('a hold resolves once: post, void and expire after it are rejected', () => {
    const { accounts, pendings } = world();
    applyTransfers(accounts, pendings, [hold('h', 'a', 'b', 50n)], 0, false);
    const r = applyTransfers(accounts, pendings, [
      { id: 'v', kind: 'void_pending', pendingId: 'h', code: 'void' },
      { id: 'p', kind: 'post_pending', pendingId: 'h', code: 'post' },
      { id: 'v2', kind: 'void_pending', pendingId: 'h', code: 'void' },
      { id: 'x', kind: 'void_pending', pendingId: 'nope', code: 'void' },
    ], 0, false);
    expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual(['created', 'pending_already_resolved', 'pending_already_resolved', 'pending_not_found']);
    expect(availableOf(accounts.get('a')!)).toBe(100n);
    expect(balanceOf(accounts.get('b')!)).toBe(0n);
  });

  it('honours timeouts: no post after the timeout, no expiry before it; more than the hold cannot be posted', () => {
    const { accounts, pendings } = world();
    applyTransfers(accounts, pendings, [hold('h', 'a', 'b', 50n, 100)], 1000, false); // times out at 1100
    const early = applyTransfers(accounts, pendings, [
      { id: 'e', kind: 'expire_pending', pendingId: 'h', code: 'expire' },
      { id: 'big', kind: 'post_pending', pendingId: 'h', amount: 51n, code: 'post' },
    ], 1099, false);
    expect(early.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual(['pending_not_expired', 'amount_exceeds_pending']);
    const late = applyTransfers(accounts, pendings, [
      { id: 'p', kind: 'post_pending', pendingId: 'h', code: 'post' },
      { id: 'e2', kind: 'expire_pending', pendingId: 'h', code: 'expire' },
    ], 1100, false);
    expect(late.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual(['pending_expired', 'created']);
    expect(late.transfers[0]).toMatchObject({ kind: 'expire_pending', amount: 0n, pendingId: 'h' });
    expect(availableOf(accounts.get('a')!)).toBe(100n);
  });

  it('atomic: one rejection rejects the group, marks the others linked_transfer_failed and changes nothing', () => {
    const { accounts, pendings } = world();
    const before = structuredClone([...accounts.values()]);
    const r = applyTransfers(accounts, pendings, [posted('1', 'a', 'b', 60n), hold('2', 'a', 'b', 10n), posted('3', 'a', 'b', 60n)], 0, true);
    expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).toEqual(['linked_transfer_failed', 'linked_transfer_failed', 'insufficient_funds']);
    expect(r.transfers).toEqual([]);
    expect(r.entries).toEqual([]);
    expect([...accounts.values()]).toEqual(before);
    expect(pendings.size).toBe(0);
    // and the successful group applies all of it
    const ok = applyTransfers(accounts, pendings, [posted('1', 'a', 'b', 60n), hold('2', 'a', 'b', 10n)], 0, true);
    expect(ok.results.map((x) => x.status)).toEqual(['created', 'created']);
    expect(availableOf(accounts.get('a')!)).toBe(30n);
    expect(pendings.get('2')?.resolved).toBe(false);
  });

  it('every transfer\'s entries balance over random batches', () => {
    const { accounts, pendings } = world();
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const ids = ['t', 'a', 'b'];
    const inputs: TransferInput[] = [];
    for (let i = 0; i < 300; i++) {
      const dr = ids[rnd(3)]!;
      const cr = ids[rnd(3)]!;
      const k = rnd(4);
      if (k === 0) inputs.push(posted(`p${i}`, dr, cr, BigInt(rnd(80))));
      else if (k === 1) inputs.push(hold(`p${i}`, dr, cr, BigInt(rnd(80)), rnd(2) ? 50 : undefined));
      else inputs.push({ id: `p${i}`, kind: k === 2 ? 'post_pending' : 'void_pending', pendingId: `p${rnd(i + 1)}`, amount: BigInt(rnd(40)), code: 'r' });
    }
    const r = applyTransfers(accounts, pendings, inputs, 10, false);
    expect(r.entries).toHaveLength(r.transfers.length * 2);
    for (const t of r.transfers) {
      const es = r.entries.filter((e) => e.transferId === t.id);
      expect(es.map((e) => e.side)).toEqual(['debit', 'credit']);
      expect(es[0]!.postedDelta).toBe(es[1]!.postedDelta);
      expect(es[0]!.pendingDelta).toBe(es[1]!.pendingDelta);
    }
    const total = [...accounts.values()].reduce((s, a) => s + balanceOf(a), 0n);
    expect(total).toBe(0n);
    for (const a of accounts.values()) if (a.noOverdraft) expect(availableOf(a)).toBeGreaterThanOrEqual(0n);
    const dp = [...accounts.values()].reduce((s, a) => s + a.debitsPending, 0n);
    const open = [...pendings.values()].filter((p) => !p.resolved).reduce((s, p) => s + p.amount, 0n);
    expect(dp).toBe(open);
  });
});

describe('nextEscrowState', () => {
  const legal: Array<[EscrowState, EscrowAction, EscrowState]> = [
    ['held', 'deliver', 'delivered'], ['held', 'release', 'released'], ['delivered', 'release', 'released'],
    ['held', 'refund', 'refunded'], ['delivered', 'refund', 'refunded'], ['held', 'expire', 'expired'],
    ['delivered', 'auto_release', 'released'], ['held', 'dispute', 'disputed'], ['delivered', 'dispute', 'disputed'],
    ['disputed', 'resolve_release', 'resolved_release'], ['disputed', 'resolve_refund', 'resolved_refund'], ['disputed', 'resolve_split', 'resolved_split'],
  ];
  const actions: EscrowAction[] = ['deliver', 'release', 'refund', 'expire', 'auto_release', 'dispute', 'resolve_release', 'resolve_refund', 'resolve_split'];

  it('allows exactly the documented transitions', () => {
    for (const from of ESCROW_STATES) {
      for (const action of actions) {
        const want = legal.find(([f, a]) => f === from && a === action)?.[2];
        expect(nextEscrowState(from, action), `${from} --${action}-->`).toBe(want);
      }
    }
  });

  it('terminal states have no way out; every non-terminal state has one', () => {
    for (const s of ESCROW_STATES) {
      const outs = actions.filter((a) => nextEscrowState(s, a) !== undefined);
      if (TERMINAL.has(s)) expect(outs, s).toEqual([]);
      else expect(outs.length, s).toBeGreaterThan(0);
    }
    expect([...TERMINAL].sort()).toEqual(['expired', 'refunded', 'released', 'resolved_refund', 'resolved_release', 'resolved_split']);
  });

  it('an expired or disputed escrow cannot be delivered; a disputed one has no timers', () => {
    expect(nextEscrowState('expired', 'deliver')).toBeUndefined();
    expect(nextEscrowState('disputed', 'deliver')).toBeUndefined();
    expect(nextEscrowState('disputed', 'expire')).toBeUndefined();
    expect(nextEscrowState('disputed', 'auto_release')).toBeUndefined();
    expect(nextEscrowState('held', 'auto_release')).toBeUndefined();
  });

  it('feeOf rounds down to a base unit', () => {
    expect(feeOf(10_000n, 250)).toBe(250n);
    expect(feeOf(39n, 250)).toBe(0n);
    expect(feeOf(41n, 250)).toBe(1n);
    expect(feeOf(7n, 10_000)).toBe(7n);
    expect(feeOf(7n, 0)).toBe(0n);
  });
});
