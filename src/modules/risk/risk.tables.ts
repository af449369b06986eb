/** Row types of the risk module's tables (migration 0015-risk). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** numeric(40,0): read as a decimal string, written as a string or bigint. */
type Numeric = ColumnType<string, string | bigint, string | bigint>;

export interface RiskStateTable { id: number; outbox_seq: Generated<bigint> }

export interface RiskFactsTable {
  /** 'trade:<agreement id>', 'rating:<id>', 'dispute:<agreement id>': a second sighting is the same row. */
  key: string;
  kind: 'trade' | 'rating' | 'dispute';
  at: Timestamp;
  data: Json<Record<string, unknown>>;
}

export interface RiskAlertsTable {
  id: string;
  incident_key: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  status: 'open' | 'confirmed' | 'dismissed' | 'escalated';
  agents: Json<string[]>;
  cell: Json<{ category: string; region: string } | null>;
  evidence: Json<Record<string, unknown>>;
  first_seen: Timestamp;
  last_seen: Timestamp;
  decision: Json<{ decision: string; note: string | null; by: string; at: string } | null>;
  appeal: Json<{ reason: string; at: string } | null>;
}

export interface RiskAlertAgentsTable { alert_id: string; agent_id: string }

export type InterventionKind = 'discount_evidence' | 'hold_settlements' | 'freeze_listing' | 'suspend_agent' | 'pause_cell';

export interface RiskInterventionsTable {
  id: string;
  kind: InterventionKind;
  /** an agent id, a listing id, or 'category|region' */
  target: string;
  alert_id: string | null;
  reason: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  lifted_at: Timestamp | null;
  lifted_by: string | null;
  lift_reason: string | null;
}

export interface RiskAuditTable {
  seq: Generated<bigint>;
  at: Timestamp;
  actor: string;
  action: string;
  alert_id: string | null;
  intervention_id: string | null;
  detail: Json<Record<string, unknown>>;
}

export interface RiskMandatesTable {
  agent_id: string;
  per_day: Numeric | null;
  per_trade: Numeric | null;
  categories: Json<string[] | null>;
  min_seller_trust: number | null;
  max_open_agreements: number | null;
  expires_at: Timestamp | null;
  day: ColumnType<Date | null, Date | string | null, Date | string | null>;
  spent_today: ColumnType<string, string | bigint | undefined, string | bigint>;
  near_notified: Generated<boolean>;
  set_by: string;
  updated_at: Timestamp;
}

export interface RiskMandatePaymentsTable { agreement_id: string; agent_id: string; amount: Numeric; at: Timestamp }

export interface RiskTables {
  risk_state: RiskStateTable;
  risk_facts: RiskFactsTable;
  risk_alerts: RiskAlertsTable;
  risk_alert_agents: RiskAlertAgentsTable;
  risk_interventions: RiskInterventionsTable;
  risk_audit: RiskAuditTable;
  risk_mandates: RiskMandatesTable;
  risk_mandate_payments: RiskMandatePaymentsTable;
}
