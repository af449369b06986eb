/** Row types of the ledger module's tables (migration 0002-ledger): accounts, transfers, escrows, withdrawals. */
import type { Generated } from 'kysely';
import type { Json, Timestamp } from '../../platform/db/schema.js';

export interface LedgerAccountsTable {
  id: string;
  key: string;
  kind: 'wallet' | 'escrow' | 'treasury' | 'fees' | 'rewards' | 'bridge';
  agent_id: string | null;
  no_overdraft: boolean;
  debits_pending: Generated<bigint>;
  debits_posted: Generated<bigint>;
  credits_pending: Generated<bigint>;
  credits_posted: Generated<bigint>;
  created_at: Timestamp;
}

export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';

export interface LedgerTransfersTable {
  id: string;
  kind: TransferKind;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  pending_id: string | null;
  timeout_at: Timestamp | null;
  code: string;
  reference: string | null;
  batch_id: string | null;
  fields_hash: string;
  created_at: Timestamp;
}

export interface LedgerIdsTable {
  id: string;
}

export interface LedgerRejectionsTable {
  id: string;
  fields_hash: string;
  code: string;
  created_at: Timestamp;
}

export interface LedgerEntriesTable {
  seq: Generated<bigint>;
  transfer_id: string;
  account_id: string;
  side: 'debit' | 'credit';
  pending_delta: bigint;
  posted_delta: bigint;
  balance_after: bigint;
  available_after: bigint;
  created_at: Timestamp;
}

export interface EscrowsTable {
  id: string;
  account_id: string;
  payer_agent_id: string;
  payee_agent_id: string;
  amount: bigint;
  released: Generated<bigint>;
  refunded: Generated<bigint>;
  fees: Generated<bigint>;
  fee_bps: number;
  state: string;
  reference: string | null;
  expires_at: Timestamp | null;
  review_window_ms: bigint;
  auto_release_at: Timestamp | null;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EscrowEventsTable {
  seq: Generated<bigint>;
  escrow_id: string;
  from_state: string | null;
  to_state: string;
  action: string;
  actor: string;
  amount: bigint | null;
  detail: Json<Record<string, unknown> | null> | null;
  at: Timestamp;
}

export interface WithdrawalsTable {
  id: string;
  agent_id: string;
  amount: bigint;
  address: string;
  hold_transfer_id: string;
  state: 'queued' | 'completed' | 'failed';
  chain_tx_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface LedgerTables {
  ledger_accounts: LedgerAccountsTable;
  ledger_transfers: LedgerTransfersTable;
  ledger_ids: LedgerIdsTable;
  ledger_rejections: LedgerRejectionsTable;
  ledger_entries: LedgerEntriesTable;
  escrows: EscrowsTable;
  escrow_events: EscrowEventsTable;
  withdrawals: WithdrawalsTable;
}
