/** Row types of every table, as both backends return them (see database.ts for the type parsers). */
import type { ColumnType, Generated } from 'kysely';
import type { ReputationTables } from '../../modules/reputation/reputation.tables.js';
import type { TradingTables } from '../../modules/trading/trading.tables.js';
import type { OutboxTables } from '../events/outbox.tables.js';
import type { AnalyticsTables } from '../../modules/analytics/analytics.tables.js';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type Json<T> = ColumnType<T, string, string>;

export interface AgentsTable {
  id: string;
  display_name: string;
  type: 'provider' | 'consumer' | 'both';
  country: string;
  region: string;
  categories: string[];
  public_key: string | null;
  capacity: Json<Record<string, unknown> | null> | null;
  sla: Json<Record<string, unknown> | null> | null;
  status: 'active' | 'deactivated';
  api_key_hash: string;
  api_key_prefix: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  deactivated_at: Timestamp | null;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  method: string;
  path: string;
  state: 'in_flight' | 'completed';
  response_status: number | null;
  response_type: string | null;
  response_body: string | null;
  created_at: Timestamp;
  locked_until: Timestamp;
  completed_at: Timestamp | null;
}

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

/** Every table; modules declare theirs in their own *.tables.ts. */
export interface DB extends ReputationTables, TradingTables, OutboxTables, AnalyticsTables {
  agents: AgentsTable;
  idempotency_keys: IdempotencyKeysTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_transfers: LedgerTransfersTable;
  ledger_ids: LedgerIdsTable;
  ledger_rejections: LedgerRejectionsTable;
  ledger_entries: LedgerEntriesTable;
  escrows: EscrowsTable;
  escrow_events: EscrowEventsTable;
  withdrawals: WithdrawalsTable;
}

export type { Generated };
