/** Row types of the rewards module's tables (migration 0013-rewards). */
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface RewardsProgramsTable {
  id: string;
  version: number;
  config: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

export type EpochStatus = 'open' | 'closed' | 'distributed';

export interface RewardsEpochsTable {
  id: string;
  program_id: string;
  program_version: number;
  number: number;
  starts_at: Timestamp;
  ends_at: Timestamp;
  status: EpochStatus;
  pool_balance: bigint | null;
  budget: bigint | null;
  demand: bigint | null;
  paid: bigint | null;
  held: bigint | null;
  capped: bigint | null;
  remainder_units: bigint | null;
  scale_ppm: bigint | null;
  agents: number | null;
  closed_at: Timestamp | null;
  distributed_at: Timestamp | null;
}

/** held -> released (paid to the agent) or held -> forfeited (kept by the pool): migration 0022 */
export type StatementStatus = 'payable' | 'held' | 'zero' | 'paid' | 'rejected' | 'released' | 'forfeited';

export interface RewardsStatementsTable {
  epoch_id: string;
  agent_id: string;
  amount: bigint;
  status: StatementStatus;
  tier: string;
  trust: number;
  detail: Json<Record<string, unknown>>;
  transfer_id: string | null;
  paid_at: Timestamp | null;
  /** a held statement's outcome: who released or forfeited it, when and why (0022) */
  decided_at: Timestamp | null;
  decided_by: string | null;
  decision_reason: string | null;
}

export interface RewardsAgentTiersTable {
  agent_id: string;
  tier: string;
  trust: number;
  epoch_id: string;
  updated_at: Timestamp;
}

export interface RewardsRoyaltiesTable {
  listing_id: string;
  position: number;
  recipient_id: string;
  bps: number;
  reason: string;
  created_at: Timestamp;
}

export interface RewardsReferralsTable {
  referred_id: string;
  referrer_id: string;
  created_at: Timestamp;
  /** the epoch whose statement paid it (null: not yet) */
  epoch_id: string | null;
  paid_at: Timestamp | null;
}

export interface RewardsTables {
  rewards_programs: RewardsProgramsTable;
  rewards_epochs: RewardsEpochsTable;
  rewards_statements: RewardsStatementsTable;
  rewards_agent_tiers: RewardsAgentTiersTable;
  rewards_royalties: RewardsRoyaltiesTable;
  rewards_referrals: RewardsReferralsTable;
}
