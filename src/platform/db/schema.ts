/** Row types of every table, as both backends return them (see database.ts for the type parsers). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

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

export interface DB {
  agents: AgentsTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type { Generated };
