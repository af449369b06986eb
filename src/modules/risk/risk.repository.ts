/** All of the risk module's SQL. */
import { sql } from 'kysely';
import type { Executor, Tx } from '../../database.js';
import type { InterventionKind } from './risk.tables.js';

export interface OutboxRow { seq: number; type: string; data: Record<string, unknown>; at: Date }
export interface FactRow { key: string; kind: 'trade' | 'rating' | 'dispute'; at: Date; data: Record<string, unknown> }

export const riskRepository = {
  async outboxAfter(db: Executor, after: number, types: readonly string[], limit: number): Promise<OutboxRow[]> {
    const rows = await db.selectFrom('outbox_events').select(['seq', 'type', 'data', 'at'])
      .where('seq', '>', BigInt(after)).where('type', 'in', [...types]).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: (r.data ?? {}) as Record<string, unknown>, at: r.at }));
  },
  async cursor(db: Executor): Promise<number> {
    const r = await db.selectFrom('risk_state').select('outbox_seq').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(r.outbox_seq);
  },
  async storeFacts(tx: Tx, facts: readonly FactRow[], seq: number): Promise<number> {
    let n = 0;
    if (facts.length) {
      const r = await tx.insertInto('risk_facts').values(facts.map((f) => ({ key: f.key, kind: f.kind, at: f.at, data: JSON.stringify(f.data) })))
        .onConflict((oc) => oc.column('key').doNothing()).returning('key').execute();
      n = r.length;
    }
    await tx.updateTable('risk_state').set({ outbox_seq: sql`GREATEST(outbox_seq, ${BigInt(seq)})` as never }).where('id', '=', 1).execute();
    return n;
  },
  async factsSince(db: Executor, since: Date, limit: number): Promise<FactRow[]> {
    const rows = await db.selectFrom('risk_facts').selectAll().where('at', '>=', since).orderBy('at').limit(limit).execute();
    return rows.map((r) => ({ key: r.key, kind: r.kind, at: r.at, data: r.data as Record<string, unknown> }));
  },

  /** Inserts the alert, or refreshes an open one's evidence; returns whether it is new. */
  async upsertAlert(tx: Tx, a: { id: string; key: string; kind: string; severity: string; agents: string[]; cell: unknown; evidence: unknown; at: Date }): Promise<boolean> {
    const inserted = await tx.insertInto('risk_alerts').values({
      id: a.id, incident_key: a.key, kind: a.kind, severity: a.severity as 'info', status: 'open', agents: JSON.stringify(a.agents), cell: JSON.stringify(a.cell),
      evidence: JSON.stringify(a.evidence), first_seen: a.at, last_seen: a.at, decision: JSON.stringify(null), appeal: JSON.stringify(null),
    }).onConflict((oc) => oc.column('incident_key').doNothing()).returning('id').execute();
    if (inserted.length) {
      await tx.insertInto('risk_alert_agents').values(a.agents.map((agent_id) => ({ alert_id: a.id, agent_id }))).onConflict((oc) => oc.doNothing()).execute().catch(() => undefined);
      return true;
    }
    await tx.updateTable('risk_alerts').set({ last_seen: a.at, evidence: JSON.stringify(a.evidence) }).where('incident_key', '=', a.key).where('status', '=', 'open').execute();
    return false;
  },
  async listAlerts(db: Executor, q: { status?: string | undefined; kind?: string | undefined; agentId?: string | undefined; beforeId?: string | undefined; limit: number }) {
    let s = db.selectFrom('risk_alerts').selectAll();
    if (q.status) s = s.where('status', '=', q.status as 'open');
    if (q.kind) s = s.where('kind', '=', q.kind);
    if (q.agentId) s = s.where('id', 'in', db.selectFrom('risk_alert_agents').select('alert_id').where('agent_id', '=', q.agentId));
    if (q.beforeId) s = s.where('id', '<', q.beforeId);
    return s.orderBy('id', 'desc').limit(q.limit).execute();
  },
  getAlert(db: Executor, id: string, lock = false) {
    const s = db.selectFrom('risk_alerts').selectAll().where('id', '=', id);
    return (lock ? s.forUpdate() : s).executeTakeFirst();
  },
  async setAlert(tx: Tx, id: string, set: { status?: 'open' | 'confirmed' | 'dismissed' | 'escalated'; decision?: unknown; appeal?: unknown }) {
    await tx.updateTable('risk_alerts').set({
      ...(set.status ? { status: set.status } : {}), ...(set.decision !== undefined ? { decision: JSON.stringify(set.decision) } : {}), ...(set.appeal !== undefined ? { appeal: JSON.stringify(set.appeal) } : {}),
    }).where('id', '=', id).execute();
  },

  async insertIntervention(tx: Tx, v: { id: string; kind: InterventionKind; target: string; alertId: string | null; reason: string; by: string; at: Date; expiresAt: Date | null }) {
    await tx.insertInto('risk_interventions').values({ id: v.id, kind: v.kind, target: v.target, alert_id: v.alertId, reason: v.reason, created_by: v.by, created_at: v.at, expires_at: v.expiresAt, lifted_at: null, lifted_by: null, lift_reason: null }).execute();
  },
  getIntervention(db: Executor, id: string, lock = false) {
    const s = db.selectFrom('risk_interventions').selectAll().where('id', '=', id);
    return (lock ? s.forUpdate() : s).executeTakeFirst();
  },
  async liftIntervention(tx: Tx, id: string, by: string, reason: string, at: Date) {
    await tx.updateTable('risk_interventions').set({ lifted_at: at, lifted_by: by, lift_reason: reason }).where('id', '=', id).where('lifted_at', 'is', null).execute();
  },
  activeInterventionsOf(db: Executor, alertId: string) {
    return db.selectFrom('risk_interventions').selectAll().where('alert_id', '=', alertId).where('lifted_at', 'is', null).execute();
  },
  /** Whether an intervention of this kind on one of these targets is in force at `now`. */
  async active(db: Executor, kind: InterventionKind, targets: readonly string[], now: Date): Promise<{ id: string; target: string; reason: string } | undefined> {
    if (!targets.length) return undefined;
    return db.selectFrom('risk_interventions').select(['id', 'target', 'reason']).where('kind', '=', kind).where('target', 'in', [...targets])
      .where('lifted_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).limit(1).executeTakeFirst();
  },
  /** The targets of the interventions of this kind in force at `now`, oldest first. */
  activeOfKind(db: Executor, kind: InterventionKind, now: Date) {
    return db.selectFrom('risk_interventions').select(['id', 'target', 'created_at']).where('kind', '=', kind).where('lifted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).orderBy('created_at').execute();
  },
  listActive(db: Executor, now: Date) {
    return db.selectFrom('risk_interventions').selectAll().where('lifted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).orderBy('created_at', 'desc').limit(500).execute();
  },

  async audit(tx: Executor, e: { at: Date; actor: string; action: string; alertId?: string | null; interventionId?: string | null; detail: Record<string, unknown> }) {
    await tx.insertInto('risk_audit').values({ at: e.at, actor: e.actor, action: e.action, alert_id: e.alertId ?? null, intervention_id: e.interventionId ?? null, detail: JSON.stringify(e.detail) }).execute();
  },
  auditLog(db: Executor, q: { afterSeq?: number | undefined; alertId?: string | undefined; limit: number }) {
    let s = db.selectFrom('risk_audit').selectAll();
    if (q.afterSeq !== undefined) s = s.where('seq', '>', BigInt(q.afterSeq));
    if (q.alertId) s = s.where('alert_id', '=', q.alertId);
    return s.orderBy('seq').limit(q.limit).execute();
  },

  getMandate(db: Executor, agentId: string, lock = false) {
    const s = db.selectFrom('risk_mandates').selectAll().where('agent_id', '=', agentId);
    return (lock ? s.forUpdate() : s).executeTakeFirst();
  },
  /** The mandates of these agents, locked in agent order (concurrent groups lock them in one order). */
  lockMandates(tx: Tx, agentIds: readonly string[]) {
    if (!agentIds.length) return Promise.resolve([]);
    return tx.selectFrom('risk_mandates').selectAll().where('agent_id', 'in', [...agentIds]).orderBy('agent_id').forUpdate().execute();
  },
  async putMandate(tx: Tx, m: { agentId: string; perDay: bigint | null; perTrade: bigint | null; categories: string[] | null; minSellerTrust: number | null; maxOpenAgreements: number | null; expiresAt: Date | null; by: string; at: Date }) {
    const v = {
      per_day: m.perDay === null ? null : m.perDay.toString(), per_trade: m.perTrade === null ? null : m.perTrade.toString(), categories: JSON.stringify(m.categories),
      min_seller_trust: m.minSellerTrust, max_open_agreements: m.maxOpenAgreements, expires_at: m.expiresAt, set_by: m.by, updated_at: m.at, near_notified: false,
    };
    await tx.insertInto('risk_mandates').values({ agent_id: m.agentId, ...v }).onConflict((oc) => oc.column('agent_id').doUpdateSet(v)).execute();
  },
  /** Counts a payment once (by agreement); false when it was counted before. */
  async recordPayment(tx: Tx, p: { agreementId: string; agentId: string; amount: bigint; at: Date }): Promise<boolean> {
    const r = await tx.insertInto('risk_mandate_payments').values({ agreement_id: p.agreementId, agent_id: p.agentId, amount: p.amount.toString(), at: p.at })
      .onConflict((oc) => oc.column('agreement_id').doNothing()).returning('agreement_id').execute();
    return r.length > 0;
  },
  async setSpend(tx: Tx, agentId: string, day: string, spent: bigint, nearNotified: boolean) {
    await tx.updateTable('risk_mandates').set({ day, spent_today: spent.toString(), near_notified: nearNotified }).where('agent_id', '=', agentId).execute();
  },
};
