/**
 * The ledger's rules, as a pure function over account and pending-transfer snapshots: no database, no
 * clock. The service locks the touched accounts, loads their snapshots, calls `applyTransfers`, and
 * writes what it returns. Vocabulary from TigerBeetle: posted, pending (a hold), post (full or partial;
 * the remainder returns), void, expire.
 */
export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';

export type RejectCode =
  | 'insufficient_funds'
  | 'account_not_found'
  | 'same_account'
  | 'amount_must_be_positive'
  | 'pending_not_found'
  | 'pending_already_resolved'
  | 'pending_expired'
  | 'pending_not_expired'
  | 'amount_exceeds_pending'
  | 'exists_with_different_fields'
  | 'linked_transfer_failed'
  | 'overflows_account';

/** The largest value an account counter can hold (PostgreSQL bigint). */
export const MAX_COUNTER = 2n ** 63n - 1n;

export interface AccountState {
  id: string;
  noOverdraft: boolean;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface PendingState {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  timeoutAt: number | null;
  /** Already posted, voided or expired. */
  resolved: boolean;
}

export interface TransferInput {
  id: string;
  kind: TransferKind;
  /** Required for posted and pending; taken from the pending transfer otherwise. */
  debitAccountId?: string;
  creditAccountId?: string;
  /** Posted/pending: > 0. post_pending: 0 or absent posts the full pending amount. */
  amount?: bigint;
  pendingId?: string;
  /** Pending only: the hold expires this many ms after creation. */
  timeoutMs?: number;
  code: string;
  reference?: string | null;
}

export interface NewTransfer {
  id: string;
  kind: TransferKind;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  pendingId: string | null;
  timeoutAt: number | null;
  code: string;
  reference: string | null;
}

export interface NewEntry {
  transferId: string;
  accountId: string;
  side: 'debit' | 'credit';
  pendingDelta: bigint;
  postedDelta: bigint;
  balanceAfter: bigint;
  availableAfter: bigint;
}

export type TransferResult =
  | { id: string; status: 'created'; transfer: NewTransfer }
  | { id: string; status: 'rejected'; code: RejectCode };

export const balanceOf = (a: AccountState) => a.creditsPosted - a.debitsPosted;
export const availableOf = (a: AccountState) => a.creditsPosted - a.debitsPosted - a.debitsPending;

const clone = (a: AccountState): AccountState => ({ ...a });

/**
 * Applies transfers in order. With `atomic`, the first rejection rejects them all (linked transfers:
 * they succeed or fail together) and no state changes; otherwise each stands alone.
 * `accounts` and `pendings` are updated in place only for what succeeded.
 */
export function applyTransfers(
  accounts: Map<string, AccountState>,
  pendings: Map<string, PendingState>,
  inputs: readonly TransferInput[],
  now: number,
  atomic: boolean,
): { results: TransferResult[]; transfers: NewTransfer[]; entries: NewEntry[] } {
  const work = atomic ? new Map([...accounts].map(([k, v]) => [k, clone(v)])) : accounts;
  const workPendings = atomic ? new Map([...pendings].map(([k, v]) => [k, { ...v }])) : pendings;
  const results: TransferResult[] = [];
  const transfers: NewTransfer[] = [];
  const entries: NewEntry[] = [];

  for (const input of inputs) {
    const r = applyOne(work, workPendings, input, now);
    if ('code' in r) {
      if (atomic) {
        return {
          results: inputs.map((i) => ({ id: i.id, status: 'rejected', code: i.id === input.id ? r.code : 'linked_transfer_failed' })),
          transfers: [],
          entries: [],
        };
      }
      results.push({ id: input.id, status: 'rejected', code: r.code });
      continue;
    }
    transfers.push(r.transfer);
    entries.push(...r.entries);
    results.push({ id: input.id, status: 'created', transfer: r.transfer });
  }
  if (atomic) {
    for (const [k, v] of work) accounts.set(k, v);
    for (const [k, v] of workPendings) pendings.set(k, v);
  }
  return { results, transfers, entries };
}

function entry(t: NewTransfer, a: AccountState, side: 'debit' | 'credit', pendingDelta: bigint, postedDelta: bigint): NewEntry {
  return { transferId: t.id, accountId: a.id, side, pendingDelta, postedDelta, balanceAfter: balanceOf(a), availableAfter: availableOf(a) };
}

function applyOne(
  accounts: Map<string, AccountState>,
  pendings: Map<string, PendingState>,
  input: TransferInput,
  now: number,
): { code: RejectCode } | { transfer: NewTransfer; entries: NewEntry[] } {
  if (input.kind === 'posted' || input.kind === 'pending') {
    const amount = input.amount ?? 0n;
    if (amount <= 0n) return { code: 'amount_must_be_positive' };
    if (!input.debitAccountId || !input.creditAccountId) return { code: 'account_not_found' };
    if (input.debitAccountId === input.creditAccountId) return { code: 'same_account' };
    const dr = accounts.get(input.debitAccountId);
    const cr = accounts.get(input.creditAccountId);
    if (!dr || !cr) return { code: 'account_not_found' };
    if (dr.noOverdraft && availableOf(dr) < amount) return { code: 'insufficient_funds' };
    const counters = input.kind === 'posted' ? [dr.debitsPosted, cr.creditsPosted] : [dr.debitsPending, cr.creditsPending];
    if (counters.some((c) => c + amount > MAX_COUNTER)) return { code: 'overflows_account' };
    const t: NewTransfer = {
      id: input.id, kind: input.kind, debitAccountId: dr.id, creditAccountId: cr.id, amount, pendingId: null,
      timeoutAt: input.kind === 'pending' && input.timeoutMs ? now + input.timeoutMs : null,
      code: input.code, reference: input.reference ?? null,
    };
    if (input.kind === 'posted') {
      dr.debitsPosted += amount;
      cr.creditsPosted += amount;
      return { transfer: t, entries: [entry(t, dr, 'debit', 0n, amount), entry(t, cr, 'credit', 0n, amount)] };
    }
    dr.debitsPending += amount;
    cr.creditsPending += amount;
    pendings.set(t.id, { id: t.id, debitAccountId: dr.id, creditAccountId: cr.id, amount, timeoutAt: t.timeoutAt, resolved: false });
    return { transfer: t, entries: [entry(t, dr, 'debit', amount, 0n), entry(t, cr, 'credit', amount, 0n)] };
  }

  // Resolving a pending transfer.
  const p = input.pendingId ? pendings.get(input.pendingId) : undefined;
  if (!p) return { code: 'pending_not_found' };
  if (p.resolved) return { code: 'pending_already_resolved' };
  const expired = p.timeoutAt !== null && p.timeoutAt <= now;
  if (input.kind === 'expire_pending' && !expired) return { code: 'pending_not_expired' };
  if (input.kind !== 'expire_pending' && expired) return { code: 'pending_expired' };
  const dr = accounts.get(p.debitAccountId);
  const cr = accounts.get(p.creditAccountId);
  if (!dr || !cr) return { code: 'account_not_found' };
  let posted = 0n;
  if (input.kind === 'post_pending') {
    posted = input.amount === undefined || input.amount === 0n ? p.amount : input.amount;
    if (posted < 0n) return { code: 'amount_must_be_positive' };
    if (posted > p.amount) return { code: 'amount_exceeds_pending' };
  }
  if (dr.debitsPosted + posted > MAX_COUNTER || cr.creditsPosted + posted > MAX_COUNTER) return { code: 'overflows_account' };
  const t: NewTransfer = {
    id: input.id, kind: input.kind, debitAccountId: dr.id, creditAccountId: cr.id, amount: posted, pendingId: p.id,
    timeoutAt: null, code: input.code, reference: input.reference ?? null,
  };
  dr.debitsPending -= p.amount;
  cr.creditsPending -= p.amount;
  dr.debitsPosted += posted;
  cr.creditsPosted += posted;
  p.resolved = true;
  return { transfer: t, entries: [entry(t, dr, 'debit', -p.amount, posted), entry(t, cr, 'credit', -p.amount, posted)] };
}
