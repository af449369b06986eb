/** The ledger's shapes as its callers see them: what a call returns, what is stored, what a wallet shows. */
import type { Transaction } from 'kysely';
import type { DB } from '../../database.js';
import type { NewTransfer, RejectCode } from './ledger.engine.js';

/** A transaction of the shared database, as the ledger's callers pass it in. */
export type Tx = Transaction<DB>;

export interface StoredTransfer extends NewTransfer {
  createdAt: Date;
  batchId: string | null;
}

/** What became of one submitted transfer: created now, created before (same id and fields), or rejected. */
export type Outcome =
  | { id: string; status: 'created' | 'exists'; transfer: StoredTransfer }
  | { id: string; status: 'rejected'; code: RejectCode };

export interface ExecuteOptions {
  /** Linked transfers: all succeed or all fail. */
  atomic?: boolean;
  batchId?: string;
}

/** A transfer that is stored, and whether this call created it (false: an earlier call with the same id did). */
export interface RecordedTransfer {
  transfer: StoredTransfer;
  created: boolean;
}

export interface HistoryRow {
  seq: bigint;
  transferId: string;
  kind: NewTransfer['kind'];
  code: string;
  side: 'debit' | 'credit';
  counterpartyAccountId: string;
  counterpartyKey: string;
  amount: bigint;
  pendingDelta: bigint;
  postedDelta: bigint;
  balanceAfter: bigint;
  availableAfter: bigint;
  reference: string | null;
  createdAt: Date;
}

export interface WalletBalance {
  agentId: string;
  accountId: string;
  /** posted credits - posted debits */
  balance: bigint;
  /** balance - holds: what the agent can spend */
  available: bigint;
  held: bigint;
  incoming: bigint;
  asOf: Date;
}

export interface AuditReport {
  ok: boolean;
  violations: string[];
  accounts: number;
  transfers: number;
  /** What the treasury and the bridge put into circulation. */
  supply: bigint;
}
