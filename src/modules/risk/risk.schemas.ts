import { Type } from 'typebox';
import { Amount, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { ALERT_KINDS } from './detectors.js';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer> | ReturnType<typeof Type.Any>>(t: T) => Type.Union([t, Type.Null()]);
const Cell = Type.Union([Type.Object({ category: Type.String(), region: Type.String() }), Type.Null()]);
const InterventionKindSchema = Type.Union(['discount_evidence', 'hold_settlements', 'freeze_listing', 'suspend_agent', 'pause_cell'].map((k) => Type.Literal(k)));
const AlertStatus = Type.Union(['open', 'confirmed', 'dismissed', 'escalated'].map((k) => Type.Literal(k)));

export const Alert = Type.Object({
  id: Uuid,
  kind: Type.String({ description: `One of ${ALERT_KINDS.join(', ')}` }),
  severity: Type.String({ description: 'info, warning or critical' }),
  status: Type.String({ description: 'open, confirmed, dismissed or escalated' }),
  agents: Type.Array(Type.String()),
  cell: Cell,
  evidence: Type.Object({}, { additionalProperties: true, description: 'trades, agents, listings and figures that raised it' }),
  firstSeen: Timestamp,
  lastSeen: Timestamp,
  decision: Type.Union([Type.Object({ decision: Type.String(), note: Nullable(Type.String()), by: Type.String(), at: Timestamp }), Type.Null()]),
  appeal: Type.Union([Type.Object({ reason: Type.String(), at: Timestamp }), Type.Null()]),
});

export const Intervention = Type.Object({
  id: Uuid,
  kind: Type.String(),
  target: Type.String(),
  alertId: Nullable(Type.String()),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Timestamp,
  expiresAt: Nullable(Type.String()),
  liftedAt: Nullable(Type.String()),
  liftedBy: Nullable(Type.String()),
  liftReason: Nullable(Type.String()),
});

export const AlertDetail = Type.Object({ alert: Alert, interventions: Type.Array(Intervention) });
export const AlertList = Type.Object({ data: Type.Array(Alert), nextCursor: Nullable(Type.String()) });

export const AlertQuery = Type.Object({
  status: Type.Optional(AlertStatus),
  kind: Type.Optional(Type.Union(ALERT_KINDS.map((k) => Type.Literal(k)))),
  agentId: Type.Optional(Uuid),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Uuid),
}, { additionalProperties: false });

export const DecisionBody = Type.Object({
  decision: Type.Union([Type.Literal('confirm'), Type.Literal('dismiss'), Type.Literal('escalate')]),
  note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
}, { additionalProperties: false });

export const AppealBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });

export const InterventionBody = Type.Object({
  kind: InterventionKindSchema,
  target: Type.String({ minLength: 1, maxLength: 300, description: 'An agent id (hold_settlements, suspend_agent, discount_evidence), a listing id (freeze_listing) or "category|region" (pause_cell)' }),
  reason: Type.String({ minLength: 1, maxLength: 2000 }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  alertId: Type.Optional(Uuid),
}, { additionalProperties: false });

export const LiftQuery = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false });
export const InterventionList = Type.Object({ data: Type.Array(Intervention) });

export const AuditQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'Entries after this seq' })),
  alertId: Type.Optional(Uuid),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
}, { additionalProperties: false });
export const AuditEntry = Type.Object({
  seq: Type.Integer(), at: Timestamp, actor: Type.String(), action: Type.String(), alertId: Nullable(Type.String()), interventionId: Nullable(Type.String()),
  detail: Type.Object({}, { additionalProperties: true }),
});
export const AuditList = Type.Object({ data: Type.Array(AuditEntry) });

export const OwnAlert = Type.Object({ id: Uuid, kind: Type.String(), status: Type.String(), firstSeen: Timestamp, decision: Alert.properties.decision, appeal: Alert.properties.appeal, canAppeal: Type.Boolean() });
export const OwnAlertList = Type.Object({ data: Type.Array(OwnAlert) });

export const Indicators = Type.Object({
  at: Timestamp,
  cells: Type.Array(Type.Object({ category: Type.String(), region: Type.String(), hhi: Nullable(Type.Integer()), volatility: Type.Union([Type.Number(), Type.Null()]) })),
  counterpartyHhiMedian: Nullable(Type.Integer()),
  buyerExposure: Type.Object({
    median: Type.Union([Type.Number({ description: "median over buyers (>= 3 settled trades in the window) of the share of a buyer's spend with its largest seller, 0-1" }), Type.Null()]),
    over50: Type.Integer({ description: 'buyers (>= 3 settled trades) with more than half of their spend with one seller' }),
    buyers: Type.Integer(),
  }, { description: "Buyers' exposure to one seller" }),
  openAlerts: Type.Record(Type.String(), Type.Integer()),
  pausedCells: Type.Array(Type.String()),
});

export const MandateBody = Type.Object({
  perDay: Type.Optional(Type.Union([Amount, Type.Null()], { description: 'Budget per UTC day (AITBC)' })),
  perTrade: Type.Optional(Type.Union([Amount, Type.Null()], { description: 'Most one payment may be (AITBC)' })),
  categories: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }), Type.Null()])),
  minSellerTrust: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1000 }), Type.Null()])),
  maxOpenAgreements: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 100_000 }), Type.Null()])),
  expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
}, { additionalProperties: false });

export const Mandate = Type.Object({
  agentId: Type.String(),
  perDay: Nullable(Type.String()),
  perTrade: Nullable(Type.String()),
  categories: Type.Union([Type.Array(Type.String()), Type.Null()]),
  minSellerTrust: Nullable(Type.Integer()),
  maxOpenAgreements: Nullable(Type.Integer()),
  expiresAt: Nullable(Type.String()),
  spentToday: Type.String(),
  setBy: Type.String(),
  updatedAt: Timestamp,
});
