/**
 * What other modules may use of the ledger without knowing its files or tables: narrow views of its
 * services (trading settles through escrow: TradeEscrow; the verifier pays from a wallet: WalletLedger;
 * EscrowService and LedgerService answer them, handed over by app.ts), the account ids, the API views and
 * the mapping of a ledger rejection to an API error. Reputation's same-owner detector asks who first
 * funded each wallet; the SQL that answers it lives here, with the tables.
 */
import { sql } from 'kysely';
import type { Database } from '../../database.js';

import type { ExecuteOptions, HistoryRow, Outcome, EscrowView, Tx } from './ledger.types.js';
import type { EscrowActOptions, EscrowActor, EscrowCreate } from './escrow.service.js';
import type { EscrowAction, EscrowState } from './escrow.js';
import type { TransferInput } from './ledger.engine.js';
export type { Tx, Outcome, RecordedTransfer, EscrowView, EscrowEventView, ReleaseSplit, ReleaseSplitter, ExecuteOptions, HistoryRow, SpendGate, SpendGuard, SpendPayment } from './ledger.types.js';
export type { EscrowActor, EscrowCreate, EscrowActOptions } from './escrow.service.js';
export type { EscrowAction, EscrowState } from './escrow.js';
export type { TransferInput } from './ledger.engine.js';
export { DEFAULT_REVIEW_WINDOW_MS } from './escrow.service.js';

/** What trading's agreements do with escrows, each inside trading's own transaction where it takes one. */
export interface TradeEscrow {
  get(id: string): Promise<EscrowView>;
  /** Escrows by id, read through `db` (inside a transaction, pass it); ids that name no escrow are left out. */
  getIn(db: Database['db'], ids: readonly string[]): Promise<Map<string, EscrowView>>;
  /** Creates and funds an escrow in the caller's transaction; throws insufficient_funds. */
  createIn(tx: Tx, input: EscrowCreate, actor: EscrowActor): Promise<EscrowView>;
  /** One transition, in the caller's transaction. */
  actIn(tx: Tx, id: string, action: EscrowAction, actor: EscrowActor, opts?: EscrowActOptions): Promise<EscrowView>;
  isTerminal(state: EscrowState): boolean;
  /** Whether releases to this payee are held now (a risk hold). */
  releaseHeld(tx: Tx, payeeAgentId: string): Promise<boolean>;
}

/** An account's posted and pending totals (base units). */
export interface AccountTotals {
  credits_posted: bigint;
  debits_posted: bigint;
  debits_pending: bigint;
}

/** What the verifier does with its budget wallet: read it, list its entries, move money into it. */
export interface WalletLedger {
  /** undefined: no such account */
  getAccount(id: string): Promise<AccountTotals | undefined>;
  /** An agent's wallet entries, newest first; throws not_found for an agent without a wallet. */
  walletHistory(agentId: string, opts: { beforeSeq?: bigint; limit: number }): Promise<HistoryRow[]>;
  /** Runs transfers in their own transaction (group commit). */
  execute(inputs: TransferInput[], opts?: ExecuteOptions): Promise<Outcome[]>;
}
export { SYSTEM_ACCOUNTS, walletAccountId } from './ledger.accounts.js';
export { rejectionError } from './ledger.errors.js';
export { transferJson } from './ledger.json.js';
export { Transfer as TransferSchema } from './ledger.schemas.js';

export interface FirstFunder {
  agentId: string;
  /** the agent whose wallet made the first posted credit to this agent's wallet; null for a mint, a deposit, an escrow */
  funder: string | null;
}

export interface FirstFunders {
  /** The first funder of each of these agents; agents whose wallet was never credited are left out. */
  firstFunders(agentIds: readonly string[]): Promise<FirstFunder[]>;
}

/** The ledger's answer to FirstFunders: one index range per wallet. */
export function ledgerFirstFunders(database: Database): FirstFunders {
  return {
    async firstFunders(agentIds) {
      if (agentIds.length === 0) return [];
      const r = await sql<{ agent_id: string; funder: string | null }>`
        SELECT w.agent_id, f.funder
        FROM ledger_accounts w
        CROSS JOIN LATERAL (
          SELECT CASE WHEN da.kind = 'wallet' THEN da.agent_id END AS funder
          FROM ledger_entries e
          JOIN ledger_transfers t ON t.id = e.transfer_id
          JOIN ledger_accounts da ON da.id = t.debit_account_id
          WHERE e.account_id = w.id AND e.side = 'credit' AND e.posted_delta > 0
          ORDER BY e.seq
          LIMIT 1
        ) f
        WHERE w.kind = 'wallet' AND w.agent_id IN (${sql.join(agentIds.map((id) => sql`${id}::uuid`))})`.execute(database.db);
      return r.rows.map((x) => ({ agentId: x.agent_id, funder: x.funder }));
    },
  };
}

/**
 * Value brought into the market from outside, per agent: what its wallet received by bridge deposits
 * and operator mints, less what it withdrew to the chain (posted withdrawals). Reputation seeds global
 * trust with it (value a Sybil cannot multiply by registering identities). Moving tokens between
 * wallets changes nobody's external value.
 */
export interface ExternalFundingRow {
  agentId: string;
  /** base units, deposits + mints - posted withdrawals (may be negative: tokens earned and withdrawn) */
  net: bigint;
  /** seq of the latest such ledger entry of the agent's wallet (a stable id for this value) */
  lastSeq: bigint;
}

export interface ExternalFunding {
  /**
   * Agents with an external-value entry (deposit, mint, withdrawal) after ledger entry `afterSeq`, with
   * their totals over all time, at most `limit` agents, ordered by lastSeq.
   */
  externalFunding(afterSeq: bigint, limit: number): Promise<ExternalFundingRow[]>;
}

/** Ledger transfer codes that bring value in from outside or take it out. */
const EXTERNAL_IN = ['mint', 'deposit'];
const EXTERNAL_OUT = ['withdrawal'];

/** The ledger's answer to ExternalFunding: the entries after the watermark name the wallets, then one sum per wallet. */
export function ledgerExternalFunding(database: Database): ExternalFunding {
  return {
    async externalFunding(afterSeq, limit) {
      const codes = [...EXTERNAL_IN, ...EXTERNAL_OUT];
      const r = await sql<{ agent_id: string; net: string | number; last_seq: string | number }>`
        WITH changed AS (
          SELECT e.account_id, max(e.seq) AS last_seq
          FROM ledger_entries e
          JOIN ledger_transfers t ON t.id = e.transfer_id
          WHERE e.seq > ${afterSeq.toString()}::bigint AND e.posted_delta > 0 AND t.code IN (${sql.join(codes)})
          GROUP BY e.account_id
        )
        SELECT w.agent_id, c.last_seq,
          (SELECT coalesce(sum(CASE WHEN e.side = 'credit' AND t.code IN (${sql.join(EXTERNAL_IN)}) THEN e.posted_delta
                                    WHEN e.side = 'debit' AND t.code IN (${sql.join(EXTERNAL_OUT)}) THEN -e.posted_delta ELSE 0 END), 0)
           FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
           WHERE e.account_id = w.id AND e.posted_delta > 0 AND t.code IN (${sql.join(codes)})) AS net
        FROM changed c
        JOIN ledger_accounts w ON w.id = c.account_id AND w.kind = 'wallet'
        ORDER BY c.last_seq
        LIMIT ${limit}`.execute(database.db);
      return r.rows.map((x) => ({ agentId: x.agent_id, net: BigInt(x.net), lastSeq: BigInt(x.last_seq) }));
    },
  };
}
