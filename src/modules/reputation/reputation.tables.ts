/** Row types of the reputation module's tables (migrations 0003-reputation, 0009-reputation-seed-epochs). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export type EvidenceRowType = 'trade' | 'probe' | 'rating' | 'community' | 'reliability' | 'dispute' | 'same_owner' | 'funding' | 'epoch';

/** The append-only evidence log. `data` holds the type-specific fields (see reputation.repository.ts). */
export interface ReputationEvidenceTable {
  seq: Generated<bigint>;
  id: string;
  type: EvidenceRowType;
  /** null only for an epoch (migration 0009) */
  subject_id: string | null;
  producer_id: string | null;
  trade_id: string | null;
  at: Timestamp;
  data: Json<Record<string, unknown>>;
  source: string;
  created_at: Timestamp;
}

export interface ReputationProbesTable {
  agent_id: string;
  created_at: Timestamp;
}

export interface ReputationSnapshotsTable {
  agent_id: string;
  at: Timestamp;
  score: number;
  raw: number;
  level: string;
  components: Json<Record<string, number>>;
  observations: number;
  evidence_seq: bigint;
}

export interface ReputationCheckpointsTable {
  evidence_seq: bigint;
  params_key: string;
  state: Uint8Array;
  created_at: Timestamp;
}

export interface ReputationTables {
  reputation_checkpoints: ReputationCheckpointsTable;
  reputation_evidence: ReputationEvidenceTable;
  reputation_probes: ReputationProbesTable;
  reputation_snapshots: ReputationSnapshotsTable;
}
