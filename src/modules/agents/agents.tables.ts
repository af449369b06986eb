/** Row types of the agents module's table (migration 0001-foundation). */
import type { Json, Timestamp } from '../../platform/db/schema.js';

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

export interface AgentsTables {
  agents: AgentsTable;
}
