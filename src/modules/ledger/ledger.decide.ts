/**
 * Deciding a group of calls' transfers, without the database: from the locked accounts, the holds they
 * resolve and the earlier outcomes of their ids, each call is decided in order, exactly as if it ran
 * alone after the calls before it. What comes back is what the repository writes.
 */
import { createHash } from 'node:crypto';
import { applyTransfers, type AccountState, type NewEntry, type NewTransfer, type PendingState, type RejectCode, type TransferInput } from './ledger.engine.js';
import type { ExecuteOptions, Outcome, StoredTransfer } from './ledger.types.js';

/** One caller's transfers in a group commit. */
export interface Call {
  inputs: TransferInput[];
  opts: ExecuteOptions;
}

/** An id's first outcome, stored by an earlier transaction. */
export type EarlierOutcome = { fieldsHash: string; transfer: StoredTransfer } | { fieldsHash: string; code: RejectCode };

/** What the database holds for a group: read under the account locks. */
export interface GroupState {
  accounts: Map<string, AccountState>;
  /** The agent of each wallet among the accounts. */
  agentOf: Map<string, string>;
  pendings: Map<string, PendingState>;
  earlier: Map<string, EarlierOutcome>;
}

export interface Decided {
  /** Each call's outcomes, in the order of its inputs; or the error that refused the whole call (its spend gate), nothing of it stored. */
  results: (Outcome[] | Error)[];
  transfers: Array<NewTransfer & { batchId: string | null }>;
  entries: NewEntry[];
  rejections: Array<{ id: string; code: RejectCode }>;
  /** The fields hash of every id decided now. */
  hashes: Map<string, string>;
}

export function checkUniqueIds(inputs: readonly TransferInput[]): void {
  const ids = new Set(inputs.map((i) => i.id));
  if (ids.size !== inputs.length) throw new Error('duplicate transfer ids in one call');
}

/** The fields that make a transfer id's submission the same one (a retry) or another (a conflict). */
export function fieldsHash(i: TransferInput): string {
  return createHash('sha256')
    .update(JSON.stringify([i.kind, i.debitAccountId ?? null, i.creditAccountId ?? null, (i.amount ?? 0n).toString(), i.pendingId ?? null, i.timeoutMs ?? null, i.code, i.reference ?? null]))
    .digest('hex')
    .slice(0, 32);
}

const conflict = (id: string): Outcome => ({ id, status: 'rejected', code: 'exists_with_different_fields' });

/**
 * A check on calls' new transfers, asked in the order the calls are decided: `admit` before a call's new
 * transfers are applied (an error refuses the whole call: nothing of it is stored, its ids stay free),
 * `made` with those that were created.
 */
export interface CallGate {
  admit(call: Call, fresh: readonly TransferInput[]): Error | null;
  made(call: Call, created: readonly NewTransfer[]): void;
}

/**
 * Decides the calls in order. Ids seen before (stored, or decided earlier in this group) keep their first
 * outcome; `state`'s accounts and holds are updated in place by what is created.
 */
export function decideGroup(state: GroupState, calls: readonly Call[], now: Date, gate?: CallGate): Decided {
  const hashes = new Map<string, string>();
  const decidedNow = new Map<string, { hash: string; outcome: Outcome }>();
  const decided: Decided = { results: [], transfers: [], entries: [], rejections: [], hashes };
  for (const call of calls) {
    const outcomes = new Map<string, Outcome>();
    const fresh: TransferInput[] = [];
    for (const i of call.inputs) {
      const h = fieldsHash(i);
      const before = state.earlier.get(i.id);
      const inGroup = decidedNow.get(i.id);
      if (before) {
        if (before.fieldsHash !== h) outcomes.set(i.id, conflict(i.id));
        else outcomes.set(i.id, 'transfer' in before ? { id: i.id, status: 'exists', transfer: before.transfer } : { id: i.id, status: 'rejected', code: before.code });
      } else if (inGroup) {
        outcomes.set(i.id, inGroup.hash !== h ? conflict(i.id) : inGroup.outcome.status === 'rejected' ? inGroup.outcome : { ...inGroup.outcome, status: 'exists' });
      } else {
        hashes.set(i.id, h);
        fresh.push(i);
      }
    }
    const atomic = call.opts.atomic ?? false;
    if (atomic && outcomes.size > 0 && [...outcomes.values()].some((o) => o.status === 'rejected')) {
      // A linked group that was (partly) rejected before stays rejected as a whole.
      decided.results.push(call.inputs.map((i) => outcomes.get(i.id) ?? { id: i.id, status: 'rejected', code: 'linked_transfer_failed' }));
      continue;
    }
    const refused = gate && fresh.length ? gate.admit(call, fresh) : null;
    if (refused) {
      for (const i of fresh) hashes.delete(i.id);
      decided.results.push(refused);
      continue;
    }
    const applied = applyTransfers(state.accounts, state.pendings, fresh, now.getTime(), atomic);
    gate?.made(call, applied.transfers);
    const batchId = call.opts.batchId ?? null;
    for (const t of applied.transfers) decided.transfers.push({ ...t, batchId });
    decided.entries.push(...applied.entries);
    for (const r of applied.results) {
      const o: Outcome = r.status === 'created'
        ? { id: r.id, status: 'created', transfer: { ...r.transfer, createdAt: now, batchId } }
        : { id: r.id, status: 'rejected', code: r.code };
      if (r.status === 'rejected') decided.rejections.push({ id: r.id, code: r.code });
      outcomes.set(r.id, o);
      decidedNow.set(r.id, { hash: hashes.get(r.id)!, outcome: o });
    }
    decided.results.push(call.inputs.map((i) => outcomes.get(i.id)!));
  }
  return decided;
}
