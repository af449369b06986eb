/** The ledger's shapes as its callers see them: what a call returns, what is stored, what a wallet shows. */
import type { NewTransfer, RejectCode } from './ledger.engine.js';
import type { EscrowState } from './escrow.js';

/** A transaction of the shared database, as the ledger's callers pass it in (src/database.ts's). */
import type { Tx } from '../../database.js';
export type { Tx };

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
  /**
   * An agent's own payment: the call's transfers out of this agent's wallet pass the spend guard (its
   * mandate) where the group decides them. Set by `pay` (POST /v1/transfers).
   */
  spender?: string;
}

/** A payment out of an agent's wallet, as the spend guard sees it. */
export interface SpendPayment { transferId: string; payerAgentId: string; amount: bigint }

/**
 * What limits an agent's own payments (risk's mandates), asked inside the group commit's transaction before
 * the accounts are locked: `open` locks and reads what it needs for these payers (null: nothing limits them).
 */
export interface SpendGuard {
  open(tx: Tx, payerAgentIds: readonly string[]): Promise<SpendGate | null>;
}

/** A spend guard's view of one group, in the order the ledger decides the group's calls. */
export interface SpendGate {
  /** Before a call's payments are applied: the error refusing the whole call, or null. Synchronous: the group is decided in memory. */
  check(payments: readonly SpendPayment[]): Error | null;
  /** The call's payments that the ledger created. */
  count(payments: readonly SpendPayment[]): void;
  /** Writes what was counted, in the group's transaction (after its transfers). */
  close(tx: Tx): Promise<void>;
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

/** An escrow as the escrow service returns it (ledger.json.ts formats it for the API). */
export interface EscrowView {
  id: string;
  accountId: string;
  payerAgentId: string;
  payeeAgentId: string;
  amount: bigint;
  released: bigint;
  refunded: bigint;
  fees: bigint;
  remaining: bigint;
  feeBps: number;
  state: EscrowState;
  reference: string | null;
  expiresAt: Date | null;
  reviewWindowMs: number;
  autoReleaseAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface EscrowEventView {
  seq: bigint;
  fromState: string | null;
  toState: string;
  action: string;
  actor: string;
  amount: bigint | null;
  detail: Record<string, unknown> | null;
  at: Date;
}

/** A withdrawal to the chain as the bridge returns it. */
export interface WithdrawalView {
  id: string;
  agentId: string;
  amount: bigint;
  address: string;
  holdTransferId: string;
  state: 'queued' | 'completed' | 'failed';
  chainTxId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * How a release is divided, when a module other than the ledger decides it (rewards: the seller's tier
 * discount on the fee, the reward pool's share of the fee, royalties and revenue shares). The parts must
 * sum exactly to the gross; the escrow pays each as a linked leg of the one release (all or nothing).
 */
export interface ReleaseSplit {
  /** to the payee's wallet */
  payee: bigint;
  /** to system:fees */
  fees: bigint;
  /** to system:rewards (the reward pool) */
  pool: bigint;
  /** to other agents' wallets (registered agents only) */
  shares: { agentId: string; amount: bigint; reason: string }[];
}

export interface ReleaseSplitter {
  /** Called inside the release transaction (read through `tx`); must not throw for a valid release. */
  splitIn(tx: Tx, release: { escrowId: string; reference: string | null; payerAgentId: string; payeeAgentId: string; gross: bigint; feeBps: number }): Promise<ReleaseSplit>;
}
