/**
 * What other modules may read of the ledger without knowing its tables. Reputation's same-owner
 * detector asks who first funded each wallet; the SQL that answers it lives here, with the tables.
 */
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';

export type { Tx } from './ledger.types.js';

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
