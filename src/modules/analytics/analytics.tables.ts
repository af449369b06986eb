/** Row types of the analytics module's tables (migration 0011-analytics). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** numeric(40,0): read as a decimal string, written as a string or bigint. */
type Numeric = ColumnType<string, string | bigint, string | bigint>;

export type Granularity = 'minute' | 'hour' | 'day';

export interface AnalyticsStateTable {
  id: number;
  /** The newest outbox seq the projection has read (it re-reads a window below it, see analytics.projection.ts). */
  outbox_seq: Generated<bigint>;
  agents_since: Timestamp | null;
  last_snapshot: Timestamp | null;
}

export interface AnalyticsFactsTable {
  /** What the fact is ('trade:<agreement id>', 'agent:<id>', 'snapshot:<minute>'): a second sighting is the same row. */
  key: string;
  seq: Generated<bigint>;
  kind: string;
  at: Timestamp;
  category: string | null;
  region: string | null;
  spec_class: string | null;
  data: Json<Record<string, unknown>>;
}

interface Cell {
  granularity: Granularity;
  bucket: Timestamp;
  category: string;
  region: string;
  spec_class: string;
}

export interface AnalyticsRollupsTable extends Cell {
  requests: Generated<bigint>;
  request_units: Generated<bigint>;
  agreements: Generated<bigint>;
  matched: Generated<bigint>;
  trades: Generated<bigint>;
  units: Generated<bigint>;
  notional: Numeric;
  volume: Numeric;
  disputes: Generated<bigint>;
  failures: Generated<bigint>;
  ended: Generated<bigint>;
  cross_border: Generated<bigint>;
}

export interface AnalyticsSketchesTable extends Cell {
  metric: 'price' | 'time_to_agreement' | 'time_to_settlement';
  bin: number;
  n: bigint;
}

export interface AnalyticsActivesTable extends Cell {
  role: 'buyer' | 'seller';
  agent_id: string;
}

/** Migration 0020: each agent's dense ordinal, its bit in analytics_active_bits (kept across rebuilds). */
export interface AnalyticsAgentOrdinalsTable {
  agent_id: string;
  ordinal: number;
}

/** Migration 0020: the agents of one (granularity, bucket, cell, role) of analytics_actives as a bitmap of their ordinals. */
export interface AnalyticsActiveBitsTable extends Cell {
  role: 'buyer' | 'seller';
  bits: Uint8Array;
}

export interface AnalyticsGeoFlowsTable {
  granularity: Granularity;
  bucket: Timestamp;
  buyer_country: string;
  buyer_region: string;
  seller_country: string;
  seller_region: string;
  trades: Generated<bigint>;
  volume: Numeric;
}

export interface AnalyticsNewAgentsTable {
  granularity: Granularity;
  bucket: Timestamp;
  country: string;
  region: string;
  agents: Generated<bigint>;
}

export interface AnalyticsGaugesTable extends Cell {
  snapshot_at: Timestamp;
  supply_units: bigint;
  supply_listings: bigint;
  demand_requests: bigint;
  demand_units: bigint;
}

export interface AnalyticsTables {
  analytics_state: AnalyticsStateTable;
  analytics_facts: AnalyticsFactsTable;
  analytics_rollups: AnalyticsRollupsTable;
  analytics_sketches: AnalyticsSketchesTable;
  analytics_actives: AnalyticsActivesTable;
  analytics_agent_ordinals: AnalyticsAgentOrdinalsTable;
  analytics_active_bits: AnalyticsActiveBitsTable;
  analytics_geo_flows: AnalyticsGeoFlowsTable;
  analytics_new_agents: AnalyticsNewAgentsTable;
  analytics_gauges: AnalyticsGaugesTable;
}
