import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, IdemHeader, errors } from '../../platform/http/schemas.js';
import { AppError } from '../../platform/http/errors.js';
import { assertActsFor, principalScope, requireAgent, seesPrivateOf } from '../../platform/http/auth.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import {
  AlertDetail, AlertList, AlertQuery, AppealBody, AuditList, AuditQuery, DecisionBody, Indicators, Intervention, InterventionBody, InterventionList,
  LiftQuery, Mandate, MandateBody, OwnAlertList, Alert,
} from './risk.schemas.js';
import type { AlertRow, InterventionRow, MandateRow, RiskService } from './risk.service.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
export const alertJson = (a: AlertRow) => ({
  id: a.id, kind: a.kind, severity: a.severity, status: a.status, agents: a.agents as string[], cell: a.cell as { category: string; region: string } | null,
  evidence: a.evidence as Record<string, unknown>, firstSeen: a.first_seen.toISOString(), lastSeen: a.last_seen.toISOString(),
  decision: a.decision as { decision: string; note: string | null; by: string; at: string } | null, appeal: a.appeal as { reason: string; at: string } | null,
});
export const interventionJson = (i: InterventionRow) => ({
  id: i.id, kind: i.kind, target: i.target, alertId: i.alert_id, reason: i.reason, createdBy: i.created_by, createdAt: i.created_at.toISOString(),
  expiresAt: iso(i.expires_at), liftedAt: iso(i.lifted_at), liftedBy: i.lifted_by, liftReason: i.lift_reason,
});
export const mandateJson = (m: MandateRow, today: string) => ({
  agentId: m.agent_id, perDay: m.per_day === null ? null : formatAmount(BigInt(m.per_day)), perTrade: m.per_trade === null ? null : formatAmount(BigInt(m.per_trade)),
  categories: m.categories as string[] | null, minSellerTrust: m.min_seller_trust, maxOpenAgreements: m.max_open_agreements, expiresAt: iso(m.expires_at),
  spentToday: formatAmount(m.day && m.day.toISOString().slice(0, 10) === today ? BigInt(m.spent_today) : 0n), setBy: m.set_by, updatedAt: m.updated_at.toISOString(),
});

export async function riskRoutes(fastify: FastifyInstance, opts: { risk: RiskService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { risk } = opts;
  const tags = ['risk'];

  app.get('/v1/risk/indicators', {
    schema: {
      tags, summary: 'Market risk indicators (public aggregates)',
      description: 'Per category x region traded in the detectors\' window (7 days): seller concentration (HHI of volume, 0-10,000) and EWMA volatility of the hourly median unit price; ' +
        'the median counterparty HHI of agents; buyers\' exposure to one seller (share of spend with their largest seller); counts of open alerts by kind; the cells paused by the circuit breaker. No agent is named.',
      response: { 200: Indicators },
    },
  }, async () => {
    const ind = risk.indicators();
    const paused = (await risk.listInterventions()).filter((i) => i.kind === 'pause_cell').map((i) => i.target);
    return { ...ind, pausedCells: [...new Set(paused)] };
  });

  app.get('/v1/admin/risk/alerts', {
    schema: {
      tags, summary: 'Review queue: alerts (operator)', querystring: AlertQuery, security: AuthHeader,
      description: 'Alerts newest first (keyset pages by id), filtered by status, kind or agent. One alert per incident: seen again, its evidence and lastSeen are refreshed.',
      response: { 200: AlertList, ...errors(400, 401, 403) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await risk.listAlerts({ status: req.query.status, kind: req.query.kind, agentId: req.query.agentId, beforeId: req.query.cursor, limit });
    return { data: rows.map(alertJson), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null };
  });

  app.get('/v1/admin/risk/alerts/:id', {
    schema: { tags, summary: 'An alert with its evidence and interventions (operator)', params: IdParams, security: AuthHeader, response: { 200: AlertDetail, ...errors(400, 401, 403, 404) } },
    config: { auth: 'admin' },
  }, async (req) => {
    const { alert, interventions } = await risk.getAlert(req.params.id);
    return { alert: alertJson(alert), interventions: interventions.map(interventionJson) };
  });

  app.post('/v1/admin/risk/alerts/:id/decision', {
    schema: {
      tags, summary: 'Decide an alert (operator)', params: IdParams, headers: IdemHeader, body: DecisionBody, security: AuthHeader,
      description: 'confirm: the alert stands and its interventions stay; dismiss: it was a false alarm, its interventions are lifted; escalate: it stays in the queue for a senior review. ' +
        'Recorded in the audit log; the agents named learn the outcome (risk.alert_decided). A decided alert can be decided again only after an appeal.',
      response: { 200: Alert, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => alertJson(await risk.decide(req.params.id, req.body.decision, req.body.note ?? null, 'admin')));

  app.get('/v1/admin/risk/interventions', {
    schema: { tags, summary: 'Interventions in force (operator)', security: AuthHeader, response: { 200: InterventionList, ...errors(401, 403) } },
    config: { auth: 'admin' },
  }, async () => ({ data: (await risk.listInterventions()).map(interventionJson) }));

  app.post('/v1/admin/risk/interventions', {
    schema: {
      tags, summary: 'Take an intervention (operator)', headers: IdemHeader, body: InterventionBody, security: AuthHeader,
      description: 'discount_evidence (an agent), hold_settlements (an agent: releases to it are refused, the money stays in escrow), freeze_listing (no new agreements on it), ' +
        'suspend_agent (no new agreements with it; it may finish its open agreements but not list, request, negotiate, pay, escrow, withdraw or rate: risk.suspension.ts), pause_cell ("category|region": the circuit breaker, new agreements there are refused until it expires or is lifted). ' +
        'With a reason and an optional expiry; recorded in the append-only audit log.',
      response: { 201: Intervention, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => {
    const expiresAt = req.body.expiresAt ? new Date(req.body.expiresAt) : null;
    const row = await risk.intervene({ kind: req.body.kind as InterventionRow['kind'], target: req.body.target, reason: req.body.reason, expiresAt, alertId: req.body.alertId ?? null }, 'admin');
    return reply.code(201).send(interventionJson(row));
  });

  app.delete('/v1/admin/risk/interventions/:id', {
    schema: { tags, summary: 'Lift an intervention (operator)', params: IdParams, querystring: LiftQuery, headers: IdemHeader, security: AuthHeader, response: { 200: Intervention, ...errors(400, 401, 403, 404, 409) } },
    config: { auth: 'admin' },
  }, async (req) => interventionJson(await risk.lift(req.params.id, req.query.reason ?? 'lifted by the operator', 'admin')));

  app.get('/v1/admin/risk/audit', {
    schema: { tags, summary: 'The risk audit log (operator)', querystring: AuditQuery, security: AuthHeader, description: 'Append-only: alerts raised and decided, interventions taken and lifted, appeals, mandates set.', response: { 200: AuditList, ...errors(400, 401, 403) } },
    config: { auth: 'admin' },
  }, async (req) => {
    const rows = await risk.audit({ afterSeq: req.query.after, alertId: req.query.alertId, limit: req.query.limit ?? 100 });
    return { data: rows.map((r) => ({ seq: Number(r.seq), at: r.at.toISOString(), actor: r.actor, action: r.action, alertId: r.alert_id, interventionId: r.intervention_id, detail: r.detail as Record<string, unknown> })) };
  });

  app.get('/v1/risk/alerts', {
    schema: {
      tags, summary: 'My alerts and their outcome (agent)', security: AuthHeader,
      description: 'The alerts that name the calling agent: kind, status and the decision, without the evidence about others. A confirmed alert may be appealed once.',
      response: { 200: OwnAlertList, ...errors(401, 403) },
    },
    config: { auth: 'agent' },
  }, async (req) => {
    const agentId = requireAgent(req.principal);
    const rows = await risk.ownAlerts(agentId, 200);
    return { data: rows.map((a) => ({ id: a.id, kind: a.kind, status: a.status, firstSeen: a.first_seen.toISOString(), decision: alertJson(a).decision, appeal: alertJson(a).appeal, canAppeal: a.status === 'confirmed' && !a.appeal })) };
  });

  app.post('/v1/risk/alerts/:id/appeal', {
    schema: { tags, summary: 'Appeal a confirmed alert, once (agent)', params: IdParams, headers: IdemHeader, body: AppealBody, security: AuthHeader, response: { 200: OwnAlertList.properties.data.items, ...errors(400, 401, 403, 404, 409) } },
    config: { auth: 'agent' },
  }, async (req) => {
    const a = await risk.appeal(requireAgent(req.principal), req.params.id, req.body.reason);
    return { id: a.id, kind: a.kind, status: a.status, firstSeen: a.first_seen.toISOString(), decision: alertJson(a).decision, appeal: alertJson(a).appeal, canAppeal: false };
  });

  app.put('/v1/agents/:id/mandate', {
    schema: {
      tags, summary: "Set an agent's spend mandate", params: IdParams, headers: IdemHeader, body: MandateBody, security: AuthHeader,
      description: 'Limits on what the agent may pay into escrow: perDay (budget per UTC day), perTrade, categories allowed, minSellerTrust (0-1000), maxOpenAgreements, expiresAt ' +
        '(after it every payment is refused until a new mandate is set). Fields left out or null are unlimited. Enforced in the funding transaction with the mandate row locked, so ' +
        'concurrent payments cannot exceed it; a refused payment is 422 mandate_exceeded naming the `limit`. Events: mandate.near_limit (80 % of the day\'s budget), mandate.limit_reached. ' +
        'Set with the agent\'s own key or the operator key; replaces the previous mandate (today\'s spend is kept).',
      response: { 200: Mandate, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    assertActsFor(req.principal, req.params.id);
    const b = req.body;
    const amt = (s: string | null | undefined) => (s === undefined || s === null ? null : parseAmount(s));
    if (b.expiresAt && Number.isNaN(Date.parse(b.expiresAt))) throw new AppError('validation_failed', 'expiresAt is not a date', { errors: [{ field: 'body.expiresAt', message: 'must be a date-time' }] });
    const m = await risk.putMandate(req.params.id, {
      perDay: amt(b.perDay), perTrade: amt(b.perTrade), categories: b.categories ?? null, minSellerTrust: b.minSellerTrust ?? null, maxOpenAgreements: b.maxOpenAgreements ?? null,
      expiresAt: b.expiresAt ? new Date(b.expiresAt) : null,
    }, principalScope(req.principal));
    return mandateJson(m, risk.today());
  });

  app.get('/v1/agents/:id/mandate', {
    schema: { tags, summary: "An agent's spend mandate (the agent or the operator)", params: IdParams, security: AuthHeader, response: { 200: Mandate, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => {
    if (!seesPrivateOf(req.principal, req.params.id)) throw new AppError('forbidden', "an agent's mandate is private to it and the operator");
    const m = await risk.getMandate(req.params.id);
    if (!m) throw new AppError('not_found', `agent ${req.params.id} has no mandate`);
    return mandateJson(m, risk.today());
  });
}
