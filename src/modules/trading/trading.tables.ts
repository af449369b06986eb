/** Row types of the trading module's tables (migration 0004-trading). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface TradingListingsTable {
  id: string;
  seller_id: string;
  category: string;
  spec: Json<Record<string, unknown>>;
  unit: string;
  price_per_unit: bigint;
  capacity_total: number;
  capacity_reserved: Generated<number>;
  /** `concurrent` (reserved units come back when the agreement ends) or `stock` (settled units are consumed); migration 0006. */
  capacity_model: Generated<string>;
  /** Stock listings: units sold by settled agreements (always 0 for concurrent capacity). */
  capacity_consumed: Generated<number>;
  region: string;
  sla_availability: number;
  sla_max_latency_ms: number;
  valid_from: Timestamp;
  valid_until: Timestamp;
  status: string;
  /** Seller's delegated negotiation: { strategy, beta?, reservationPrice (base units, string) } */
  auto_negotiation: Json<Record<string, unknown> | null> | null;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TradeRequestsTable {
  id: string;
  buyer_id: string;
  category: string;
  spec: Json<Record<string, unknown>>;
  quantity: number;
  budget_min: bigint;
  budget_max: bigint;
  allowed_regions: string[] | null;
  excluded_regions: string[] | null;
  max_latency_ms: number | null;
  min_trust_score: number | null;
  deadline: Timestamp;
  urgency: string;
  weights: Json<Record<string, number> | null> | null;
  exploration_share: number;
  state: string;
  agreement_id: string | null;
  /** An optional checkable job `{ workload, seed, size }` (migration 0010; see src/modules/verifier/workloads.ts). */
  job: Json<Record<string, unknown> | null> | null;
  /** The minimum certification level of the seller (migration 0014; levels in src/modules/certification/certification.port.ts). */
  min_certification_level: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NegotiationsTable {
  id: string;
  request_id: string | null;
  listing_id: string;
  buyer_id: string;
  seller_id: string;
  status: string;
  max_rounds: number;
  deadline: Timestamp;
  started_at: Timestamp;
  require_signatures: boolean;
  buyer_delegation: Json<Record<string, unknown> | null> | null;
  seller_delegation: Json<Record<string, unknown> | null> | null;
  delivery_deadline: Timestamp;
  review_window_ms: bigint;
  accepted_seq: number | null;
  accept_signature: string | null;
  ended_by: string | null;
  ended_at: Timestamp | null;
  end_reason: string | null;
  agreement_id: string | null;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NegotiationOffersTable {
  negotiation_id: string;
  seq: number;
  by_role: string;
  by_agent: string;
  price_per_unit: bigint;
  quantity: number;
  sla_availability: number;
  sla_max_latency_ms: number;
  settlement_type: string;
  signature: string | null;
  delegated: boolean;
  created_at: Timestamp;
}

export interface AgreementsTable {
  id: string;
  negotiation_id: string;
  request_id: string | null;
  listing_id: string;
  buyer_id: string;
  seller_id: string;
  category: string;
  price_per_unit: bigint;
  quantity: number;
  amount: bigint;
  sla_availability: number;
  sla_max_latency_ms: number;
  settlement_type: string;
  state: string;
  escrow_id: string | null;
  funding_deadline: Timestamp;
  delivery_deadline: Timestamp;
  review_window_ms: bigint;
  auto_release_at: Timestamp | null;
  released: Generated<bigint>;
  delivery: Json<Record<string, unknown> | null> | null;
  dispute: Json<Record<string, unknown> | null> | null;
  resolution: Json<Record<string, unknown> | null> | null;
  proof: Json<Record<string, unknown>>;
  capacity_released: Generated<boolean>;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AgreementEventsTable {
  seq: Generated<bigint>;
  agreement_id: string;
  from_state: string | null;
  to_state: string;
  action: string;
  actor: string;
  detail: Json<Record<string, unknown> | null> | null;
  at: Timestamp;
}

export interface TradingTables {
  trading_listings: TradingListingsTable;
  trade_requests: TradeRequestsTable;
  negotiations: NegotiationsTable;
  negotiation_offers: NegotiationOffersTable;
  agreements: AgreementsTable;
  agreement_events: AgreementEventsTable;
}
