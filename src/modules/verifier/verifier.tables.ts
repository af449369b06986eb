/** Row types of the verifier's tables (migration 0010-verifier). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface VerifierStateTable {
  id: number;
  buyer_agent_id: string | null;
  probe_agent_id: string | null;
  claim: string;
  claimed_at: Timestamp;
  config: ColumnType<Record<string, unknown>, string | undefined, string>;
  fee_share_swept: Generated<bigint>;
  updated_at: Timestamp;
}

export type ChallengeState = 'reserved' | 'negotiating' | 'funded' | 'passed' | 'failed' | 'abandoned';

export interface VerifierChallengesTable {
  id: string;
  seller_id: string;
  listing_id: string;
  request_id: string | null;
  negotiation_id: string | null;
  agreement_id: string | null;
  workload: string;
  seed: string;
  size: number;
  expected_digest: string;
  amount: bigint;
  state: ChallengeState;
  result: Json<Record<string, unknown> | null> | null;
  score_at_start: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface VerifierTables {
  verifier_state: VerifierStateTable;
  verifier_challenges: VerifierChallengesTable;
}
