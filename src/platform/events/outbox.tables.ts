/** Row types of the event outbox (migrations 0004-trading, renamed by 0007-outbox). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface OutboxEventsTable {
  seq: Generated<bigint>;
  type: string;
  agent_ids: string[];
  data: Json<Record<string, unknown> | null> | null;
  at: Timestamp;
}

export interface OutboxStateTable {
  id: number;
  /** Events with seq up to this may have been deleted by the prune. */
  pruned_through: bigint;
}

export interface OutboxTables {
  outbox_events: OutboxEventsTable;
  outbox_state: OutboxStateTable;
}
