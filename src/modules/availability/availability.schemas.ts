/** TypeBox schemas of the availability API. */
import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';
import { WINDOW_RULES } from './availability.model.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const HeartbeatBody = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('degraded')], { description: 'degraded: up, serving at reduced capacity or quality (default ok)' })),
  capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'Units the agent could take on now (informational, shown with the last heartbeat)' })),
}, { additionalProperties: false });

export const Heartbeat = Type.Object({
  agentId: Uuid,
  receivedAt: Timestamp,
  status: Type.String(),
  capacity: Nullable(Type.Integer()),
  heartbeatIntervalSeconds: Type.Integer({ description: 'Slot length: send a heartbeat every half slot' }),
  slot: Type.Object({ start: Timestamp, end: Timestamp }, { description: 'The slot this heartbeat counts for' }),
});

export const AvailabilityQuery = Type.Object({
  period: Type.Optional(Type.Union([Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')], { description: 'One period ending now (default: all three)' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'A custom period: its start (at most 30 days before until, within the 35-day retention)' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'A custom period: its end (default and at most: the start of the current slot)' })),
}, { additionalProperties: false });

const Period = Type.Object({
  name: Type.String({ description: '24h, 7d, 30d or custom' }),
  from: Timestamp,
  until: Timestamp,
  countedFrom: Nullable(Timestamp),
  uptimePercent: Nullable(Type.Number({ description: 'up / (up + down), in percent; null when nothing was counted' })),
  maintenanceCompliancePercent: Nullable(Type.Number({ description: 'excused / (excused + down): the announced share of the downtime; 100 without downtime' })),
  seconds: Type.Object({
    up: Type.Integer(), down: Type.Integer({ description: 'not excused' }), excused: Type.Integer({ description: 'down inside a maintenance window declared in advance' }),
    degraded: Type.Integer({ description: 'up, with a heartbeat reporting status degraded (part of up)' }), counted: Type.Integer(),
  }),
  outages: Type.Integer({ description: 'Stretches of unexcused downtime' }),
  maintenanceWindows: Type.Integer({ description: 'Declared windows overlapping the period' }),
});

export const Availability = Type.Object({
  agentId: Uuid,
  asOf: Timestamp,
  heartbeatIntervalSeconds: Type.Integer(),
  status: Type.String({ description: 'up, degraded, down, maintenance (down inside a declared window) or unknown (no heartbeat ever)' }),
  firstHeartbeatAt: Nullable(Timestamp),
  lastHeartbeat: Nullable(Type.Object({ at: Timestamp, status: Type.String(), capacity: Nullable(Type.Integer()) })),
  periods: Type.Array(Period),
  method: Type.String({ description: 'How the numbers are computed, in words' }),
});

export const WindowsBody = Type.Object({
  windows: Type.Array(Type.Object({
    start: Type.String({ format: 'date-time', description: `At least ${WINDOW_RULES.minNoticeMs / 60_000} minutes from now` }),
    end: Type.String({ format: 'date-time' }),
    reason: Type.Optional(Type.String({ maxLength: 500, description: 'Shown to the agent itself and the operator only' })),
  }, { additionalProperties: false }), { maxItems: WINDOW_RULES.maxUpcoming, description: 'The upcoming windows (replaces those not started yet; an empty list withdraws them)' }),
}, { additionalProperties: false });

export const Windows = Type.Object({
  agentId: Uuid,
  windows: Type.Array(Type.Object({
    id: Uuid, start: Timestamp, end: Timestamp, declaredAt: Timestamp,
    state: Type.String({ description: 'upcoming, ongoing or past' }),
    reason: Type.Optional(Nullable(Type.String())),
  })),
  rules: Type.Object({
    minNoticeMinutes: Type.Number(), minLengthMinutes: Type.Number(), maxLengthHours: Type.Number(), horizonDays: Type.Number(),
    maxUpcoming: Type.Integer(), maxHoursPerWeek: Type.Number(),
  }),
});
