/**
 * Risk management: a projection of the outbox into the risk module's window of facts (its own cursor, as
 * analytics' projection), the detectors run over that window, alerts raised once per incident key,
 * interventions (automatic per alert kind, or the operator's) with an append-only audit log, the review
 * queue, and spend mandates enforced inside the payment's transaction.
 *
 * The checks trading calls (`guards`) run inside trading's transaction: `beforeAgreement` (a frozen listing,
 * a suspended party or a paused cell refuses a new agreement), `beforePayment` (the buyer's mandate, its
 * row locked FOR UPDATE so concurrent payments are serialised), `settlementHeld` (a held seller's escrow is
 * not released: the money stays in escrow until the hold is lifted or expires).
 *
 * Length: the projection, alerts, interventions, review and mandates share the fact window and the audit
 * log writes; the detectors are in detectors.ts and the SQL in risk.repository.ts.
 */
import type { Database, Executor, Tx } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox, OutboxEvent } from '../../platform/events/outbox.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { formatAmount } from '../../platform/money.js';
import type { TradingMarketData } from '../trading/trading.market-data.port.js';
import type { AccountSignals } from '../reputation/index.js';
import {
  RISK_PARAMS, buyerExposure, counterpartyConcentration, detectConcentration, detectDisputeSpikes, detectPriceAnomalies, detectRatingRings, detectSpendVelocity,
  detectSpoofing, detectSybil, detectVolatility, detectWash, type AlertKind, type Finding, type RiskDispute, type RiskRating, type RiskTrade,
} from './detectors.js';
import { riskRepository as repo, type FactRow } from './risk.repository.js';
import type { InterventionKind, RiskAlertsTable, RiskInterventionsTable, RiskMandatesTable } from './risk.tables.js';
import type { ReviewDecisionHook } from './risk.port.js';
import type { Selectable } from 'kysely';
import type { SpendGate, SpendGuard, SpendPayment } from '../ledger/ledger.port.js';
import { MandateSpend, refusalError, refusalEvent, type MandateRefusal } from './risk.mandates.js';

export interface RiskAccounts {
  accountAttributes(opts?: { since: Date | null; ids: readonly string[] }): Promise<{ id: string; display_name: string; type: string; country: string; region: string; categories: string[]; public_key: string | null; created_at: Date }[]>;
}

/** What happens automatically when an alert of a kind is raised (the operator may always add or lift). */
export interface AutoIntervention { kind: InterventionKind; minutes: number | null }
export type InterventionPolicy = Partial<Record<AlertKind, AutoIntervention[]>>;

/**
 * Defaults: spoofing freezes the listings and holds the seller's settlements for review; a wash ring's
 * evidence is discounted and its settlements held; a critical volatility level pauses the cell for 15
 * minutes (the circuit breaker). The rest go to the review queue only.
 */
export const DEFAULT_POLICY: InterventionPolicy = {
  spoofing: [{ kind: 'freeze_listing', minutes: null }, { kind: 'hold_settlements', minutes: null }],
  wash: [{ kind: 'discount_evidence', minutes: null }, { kind: 'hold_settlements', minutes: null }],
  volatility: [{ kind: 'pause_cell', minutes: 15 }],
};

export interface RiskDeps {
  database: Database;
  clock: Clock;
  outbox: EventOutbox;
  market: TradingMarketData;
  accounts: RiskAccounts;
  trust: { trustScores(ids: readonly string[]): Promise<Map<string, number>> };
  policy?: InterventionPolicy;
  /** How far back the detectors look (default 7 days). */
  windowMs?: number;
  /** told of each confirm or dismiss inside its transaction (app.ts: rewards releases or forfeits held rewards) */
  reviewHooks?: ReviewDecisionHook[];
}

const TYPES = ['agreement.settled', 'agreement.refunded', 'agreement.resolved', 'agreement.disputed', 'rating.received'] as const;
const LOOKBACK = 1_000;
const PAGE = 2_000;
const WINDOW_LIMIT = 200_000;
/** How long a trust score read before a payment counts for it. */
const TRUST_TTL_MS = 60_000;

export type AlertRow = Selectable<RiskAlertsTable>;
export type InterventionRow = Selectable<RiskInterventionsTable>;
export type MandateRow = Selectable<RiskMandatesTable>;

export interface MandateInput {
  perDay?: bigint | null | undefined;
  perTrade?: bigint | null | undefined;
  categories?: string[] | null | undefined;
  minSellerTrust?: number | null | undefined;
  maxOpenAgreements?: number | null | undefined;
  expiresAt?: Date | null | undefined;
}

export class RiskService {
  private readonly policy: InterventionPolicy;
  private readonly windowMs: number;
  private current: Promise<unknown> = Promise.resolve();
  /** Latest indicators (public aggregates), from the last detector run. */
  private indicatorsCache: { at: string; cells: { category: string; region: string; hhi: number | null; volatility: number | null }[]; counterpartyHhiMedian: number | null; buyerExposure: { median: number | null; over50: number; buyers: number }; openAlerts: Record<string, number> } | null = null;
  readonly stats = { events: 0, facts: 0, runs: 0, raised: 0 };
  /** Sellers' trust scores read before a payment's transaction (`guards.prepare`). */
  private readonly trustCache = new Map<string, { score: number; at: number }>();

  constructor(readonly deps: RiskDeps) {
    this.policy = deps.policy ?? DEFAULT_POLICY;
    this.windowMs = deps.windowMs ?? 7 * 86_400_000;
  }

  // --- projection and detection ---------------------------------------------------------------

  /** Reads new events into the window and runs the detectors (serialised within the process). */
  sync(): Promise<Finding[]> {
    const p = this.current.then(() => this.runSync());
    this.current = p.catch(() => undefined);
    return p;
  }

  private async runSync(): Promise<Finding[]> {
    const db = this.deps.database.db;
    let from = Math.max(0, (await repo.cursor(db)) - LOOKBACK);
    for (;;) {
      const rows = await repo.outboxAfter(db, from, TYPES, PAGE);
      if (rows.length) await this.ingest(rows);
      if (rows.length < PAGE) break;
      from = rows[rows.length - 1]!.seq;
    }
    return this.detect();
  }

  private async ingest(rows: { seq: number; type: string; data: Record<string, unknown>; at: Date }[]): Promise<void> {
    const ids = [...new Set(rows.filter((r) => r.type.startsWith('agreement.')).map((r) => String(r.data.agreementId)))];
    const attrs = new Map((await this.deps.market.agreements(ids)).map((a) => [a.id, a]));
    const facts: FactRow[] = [];
    for (const r of rows) {
      if (r.type === 'rating.received') {
        facts.push({ key: `rating:${String(r.data.ratingId)}`, kind: 'rating', at: r.at, data: { raterId: r.data.raterId, rateeId: r.data.rateeId, stars: r.data.stars } });
        continue;
      }
      const a = attrs.get(String(r.data.agreementId));
      if (!a) continue;
      const base = { buyerId: a.buyerId, sellerId: a.sellerId, listingId: a.listingId, category: a.category, region: a.region, amount: a.amount.toString(), pricePerUnit: a.pricePerUnit.toString() };
      if (r.type === 'agreement.disputed') { facts.push({ key: `dispute:${a.id}`, kind: 'dispute', at: r.at, data: base }); continue; }
      const success = r.type === 'agreement.settled' || (r.type === 'agreement.resolved' && r.data.outcome !== 'refund');
      facts.push({ key: `trade:${a.id}`, kind: 'trade', at: r.at, data: { ...base, success } });
    }
    const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);
    const n = await this.deps.database.transaction((tx) => repo.storeFacts(tx, facts, maxSeq));
    this.stats.events += rows.length;
    this.stats.facts += n;
  }

  /** Runs every detector over the window and raises what it finds. */
  async detect(): Promise<Finding[]> {
    const now = this.deps.clock.now();
    const facts = await repo.factsSince(this.deps.database.db, new Date(now.getTime() - this.windowMs), WINDOW_LIMIT);
    const trades: RiskTrade[] = [];
    const ratings: RiskRating[] = [];
    const disputes: RiskDispute[] = [];
    for (const f of facts) {
      const d = f.data as Record<string, string | number | boolean>;
      if (f.kind === 'trade') {
        trades.push({ id: f.key.slice(6), at: f.at.getTime(), buyerId: String(d.buyerId), sellerId: String(d.sellerId), listingId: String(d.listingId), category: String(d.category), region: String(d.region), amount: BigInt(String(d.amount)), pricePerUnit: BigInt(String(d.pricePerUnit)), success: d.success === true });
      } else if (f.kind === 'rating') ratings.push({ raterId: String(d.raterId), rateeId: String(d.rateeId), stars: Number(d.stars), at: f.at.getTime() });
      else disputes.push({ tradeId: f.key.slice(8), category: String(d.category), region: String(d.region), at: f.at.getTime() });
    }
    const accounts = await this.accountSignals(trades);
    const vol = detectVolatility(trades);
    const conc = detectConcentration(trades);
    const findings = [
      ...detectWash(trades), ...detectSybil(accounts, trades), ...detectRatingRings(ratings), ...detectSpoofing(trades), ...detectPriceAnomalies(trades),
      ...vol.findings, ...conc.findings, ...detectSpendVelocity(trades, now.getTime()), ...detectDisputeSpikes(disputes, now.getTime()),
    ];
    for (const f of findings) await this.raise(f, now);
    const cells = new Map<string, { category: string; region: string; hhi: number | null; volatility: number | null }>();
    for (const t of trades) cells.set(`${t.category}|${t.region}`, { category: t.category, region: t.region, hhi: null, volatility: null });
    for (const [k, h] of conc.hhi) cells.get(k)!.hhi = Math.round(h);
    for (const [k, s] of vol.sigma) cells.get(k)!.volatility = Math.round(s * 10_000) / 10_000;
    const cp = [...counterpartyConcentration(trades).values()].sort((a, b) => a - b);
    const open = await this.deps.database.db.selectFrom('risk_alerts').select(['kind', (eb) => eb.fn.countAll<string>().as('n')]).where('status', 'in', ['open', 'escalated']).groupBy('kind').execute();
    this.indicatorsCache = {
      at: now.toISOString(), cells: [...cells.values()], counterpartyHhiMedian: cp.length ? Math.round(cp[cp.length >> 1]!) : null, buyerExposure: exposureIndicator(trades),
      openAlerts: Object.fromEntries(open.map((r) => [r.kind, Number(r.n)])),
    };
    this.stats.runs++;
    return findings;
  }

  private async accountSignals(trades: readonly RiskTrade[]): Promise<AccountSignals[]> {
    const ids = [...new Set(trades.flatMap((t) => [t.buyerId, t.sellerId]))];
    if (!ids.length) return [];
    const rows = await this.deps.accounts.accountAttributes({ since: null, ids });
    return rows.map((a) => ({ id: a.id, displayName: a.display_name, type: a.type, country: a.country, region: a.region, categories: a.categories, publicKey: a.public_key, createdAt: a.created_at.getTime(), funder: null }));
  }

  /** One alert per incident key: a new one is stored, audited, announced to the operator and acted on per the policy. */
  private async raise(f: Finding, now: Date): Promise<void> {
    const id = uuidFromName(`risk:alert:${f.key}`);
    const evidence = { trades: f.trades, agents: f.agents, listings: f.listings, figures: f.figures };
    await this.deps.database.transaction(async (tx) => {
      const fresh = await repo.upsertAlert(tx, { id, key: f.key, kind: f.kind, severity: f.severity, agents: f.agents, cell: f.cell, evidence, at: now });
      if (!fresh) return;
      this.stats.raised++;
      await repo.audit(tx, { at: now, actor: 'system', action: 'alert.raised', alertId: id, detail: { kind: f.kind, severity: f.severity, key: f.key, figures: f.figures } });
      await this.deps.outbox.append(tx, [{ type: 'risk.alert_raised', agentIds: [], data: { alertId: id, kind: f.kind, severity: f.severity, cell: f.cell, agents: f.agents }, at: now.toISOString() }]);
      for (const p of this.policy[f.kind] ?? []) {
        for (const target of this.targetsOf(p.kind, f)) {
          await this.interveneIn(tx, { kind: p.kind, target, reason: `automatic on ${f.kind} alert ${id}`, expiresAt: p.minutes === null ? null : new Date(now.getTime() + p.minutes * 60_000), alertId: id }, 'system', now);
        }
      }
    });
  }

  private targetsOf(kind: InterventionKind, f: Finding): string[] {
    if (kind === 'freeze_listing') return f.listings;
    if (kind === 'pause_cell') return f.cell ? [`${f.cell.category}|${f.cell.region}`] : [];
    return f.agents;
  }

  indicators() {
    return this.indicatorsCache ?? { at: this.deps.clock.now().toISOString(), cells: [], counterpartyHhiMedian: null, buyerExposure: { median: null, over50: 0, buyers: 0 }, openAlerts: {} };
  }

  // --- interventions ------------------------------------------------------------------------

  async intervene(input: { kind: InterventionKind; target: string; reason: string; expiresAt?: Date | null | undefined; alertId?: string | null | undefined }, actor: string): Promise<InterventionRow> {
    const now = this.deps.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw new AppError('validation_failed', 'expiresAt must be in the future', { errors: [{ field: 'body.expiresAt', message: 'must be in the future' }] });
    }
    if (input.kind === 'pause_cell' && !/^[^|]+\|[^|]+$/.test(input.target)) {
      throw new AppError('validation_failed', 'a cell is "category|region"', { errors: [{ field: 'body.target', message: 'must be "category|region" for pause_cell' }] });
    }
    const id = await this.deps.database.transaction(async (tx) => {
      if (input.alertId && !await repo.getAlert(tx, input.alertId)) throw notFound('alert', input.alertId);
      return this.interveneIn(tx, { ...input, expiresAt: input.expiresAt ?? null, alertId: input.alertId ?? null }, actor, now);
    });
    return (await repo.getIntervention(this.deps.database.db, id))!;
  }

  private async interveneIn(tx: Tx, v: { kind: InterventionKind; target: string; reason: string; expiresAt: Date | null; alertId: string | null }, actor: string, now: Date): Promise<string> {
    const id = uuidv7(this.deps.clock);
    await repo.insertIntervention(tx, { id, ...v, by: actor, at: now });
    await repo.audit(tx, { at: now, actor, action: 'intervention.created', alertId: v.alertId, interventionId: id, detail: { kind: v.kind, target: v.target, reason: v.reason, expiresAt: v.expiresAt?.toISOString() ?? null } });
    const agentTarget = ['hold_settlements', 'suspend_agent', 'discount_evidence'].includes(v.kind) ? [v.target] : [];
    await this.deps.outbox.append(tx, [{ type: 'risk.intervention', agentIds: agentTarget, data: { interventionId: id, kind: v.kind, target: v.target, expiresAt: v.expiresAt?.toISOString() ?? null }, at: now.toISOString() }]);
    return id;
  }

  async lift(id: string, reason: string, actor: string): Promise<InterventionRow> {
    const now = this.deps.clock.now();
    await this.deps.database.transaction(async (tx) => {
      const row = await repo.getIntervention(tx, id, true);
      if (!row) throw notFound('intervention', id);
      if (row.lifted_at) throw new AppError('invalid_transition', `intervention ${id} was lifted already`, { state: 'lifted', action: 'lift' });
      await this.liftIn(tx, row, reason, actor, now);
    });
    return (await repo.getIntervention(this.deps.database.db, id))!;
  }

  private async liftIn(tx: Tx, row: InterventionRow, reason: string, actor: string, now: Date): Promise<void> {
    await repo.liftIntervention(tx, row.id, actor, reason, now);
    await repo.audit(tx, { at: now, actor, action: 'intervention.lifted', alertId: row.alert_id, interventionId: row.id, detail: { kind: row.kind, target: row.target, reason } });
    const agentTarget = ['hold_settlements', 'suspend_agent', 'discount_evidence'].includes(row.kind) ? [row.target] : [];
    await this.deps.outbox.append(tx, [{ type: 'risk.intervention_lifted', agentIds: agentTarget, data: { interventionId: row.id, kind: row.kind, target: row.target }, at: now.toISOString() }]);
  }

  listInterventions() {
    return repo.listActive(this.deps.database.db, this.deps.clock.now());
  }

  /** Whether the agent's settlements are held for review now (an active hold_settlements intervention). */
  async isHeld(agentId: string, db: Executor = this.deps.database.db): Promise<boolean> {
    return (await repo.active(db, 'hold_settlements', [agentId], this.deps.clock.now())) !== undefined;
  }

  /** Every agent whose settlements are held for review now: isHeld for all agents in one query (reward epochs). */
  async heldAgents(db: Executor = this.deps.database.db): Promise<Set<string>> {
    return new Set((await repo.activeOfKind(db, 'hold_settlements', this.deps.clock.now())).map((r) => r.target));
  }

  /** The suspend_agent intervention in force on the agent, if any (risk.suspension.ts: what it refuses). */
  suspensionOf(agentId: string): Promise<{ id: string; target: string; reason: string } | undefined> {
    return repo.active(this.deps.database.db, 'suspend_agent', [agentId], this.deps.clock.now());
  }

  /** Whether the agent's trade evidence is to be discounted (reputation may consume it). */
  async evidenceDiscounted(agentId: string): Promise<boolean> {
    return (await repo.active(this.deps.database.db, 'discount_evidence', [agentId], this.deps.clock.now())) !== undefined;
  }

  /** Every agent under a discount_evidence intervention in force now (reputation weighs their evidence zero). */
  async discountedAgents(): Promise<{ agentId: string; interventionId: string; since: Date }[]> {
    const rows = await repo.activeOfKind(this.deps.database.db, 'discount_evidence', this.deps.clock.now());
    return rows.map((r) => ({ agentId: r.target, interventionId: r.id, since: r.created_at }));
  }

  /** The checks trading runs inside its transactions (see the module comment). */
  readonly guards = {
    beforeAgreement: async (tx: Tx, a: { buyerId: string; sellerId: string; listingId: string; category: string; region: string }): Promise<void> => {
      const now = this.deps.clock.now();
      const frozen = await repo.active(tx, 'freeze_listing', [a.listingId], now);
      if (frozen) throw new AppError('risk_restricted', `listing ${a.listingId} is frozen for review`, { intervention: frozen.id, restriction: 'freeze_listing' });
      const suspended = await repo.active(tx, 'suspend_agent', [a.buyerId, a.sellerId], now);
      if (suspended) throw new AppError('risk_restricted', `agent ${suspended.target} is suspended`, { intervention: suspended.id, restriction: 'suspend_agent' });
      const paused = await repo.active(tx, 'pause_cell', [`${a.category}|${a.region}`], now);
      if (paused) throw new AppError('risk_restricted', `new agreements in ${a.category} x ${a.region} are paused (circuit breaker); try again later`, { intervention: paused.id, restriction: 'pause_cell' });
    },
    prepare: async (p: { buyerId: string; sellerId: string }): Promise<void> => {
      const m = await repo.getMandate(this.deps.database.db, p.buyerId);
      if (!m || m.min_seller_trust === null) return;
      const score = (await this.deps.trust.trustScores([p.sellerId])).get(p.sellerId) ?? 0;
      this.trustCache.set(p.sellerId, { score, at: this.deps.clock.now().getTime() });
    },
    beforePayment: (tx: Tx, p: PaymentCheck): Promise<void> => this.checkMandate(tx, p),
    settlementHeld: async (tx: Tx, sellerId: string): Promise<boolean> => this.isHeld(sellerId, tx),
  };

  // --- review queue -------------------------------------------------------------------------

  listAlerts(q: { status?: string | undefined; kind?: string | undefined; agentId?: string | undefined; beforeId?: string | undefined; limit: number }) {
    return repo.listAlerts(this.deps.database.db, q);
  }

  async getAlert(id: string): Promise<{ alert: AlertRow; interventions: InterventionRow[] }> {
    const alert = await repo.getAlert(this.deps.database.db, id);
    if (!alert) throw notFound('alert', id);
    const interventions = await this.deps.database.db.selectFrom('risk_interventions').selectAll().where('alert_id', '=', id).orderBy('created_at').execute();
    return { alert, interventions };
  }

  /** confirm: the interventions stay; dismiss: they are lifted; escalate: stays in the queue, marked for a senior review. */
  async decide(id: string, decision: 'confirm' | 'dismiss' | 'escalate', note: string | null, actor: string): Promise<AlertRow> {
    const now = this.deps.clock.now();
    await this.deps.database.transaction(async (tx) => {
      const a = await repo.getAlert(tx, id, true);
      if (!a) throw notFound('alert', id);
      if (a.status === 'confirmed' || a.status === 'dismissed') {
        if (!a.appeal) throw new AppError('invalid_transition', `alert ${id} was decided already (${a.status})`, { state: a.status, action: decision });
      }
      const status = decision === 'confirm' ? 'confirmed' : decision === 'dismiss' ? 'dismissed' : 'escalated';
      await repo.setAlert(tx, id, { status, decision: { decision, note, by: actor, at: now.toISOString() } });
      await repo.audit(tx, { at: now, actor, action: `alert.${decision}`, alertId: id, detail: { note, previous: a.status } });
      const active = await repo.activeInterventionsOf(tx, id);
      if (decision === 'dismiss') for (const iv of active) await this.liftIn(tx, iv, `alert dismissed: ${note ?? ''}`.trim(), actor, now);
      if (decision !== 'escalate' && this.deps.reviewHooks?.length) {
        const heldAgents = [...new Set(active.filter((iv) => iv.kind === 'hold_settlements').map((iv) => iv.target))].sort();
        const stillHeld: string[] = [];
        for (const agentId of heldAgents) if (await this.isHeld(agentId, tx)) stillHeld.push(agentId);
        for (const hook of this.deps.reviewHooks) await hook(tx, { alertId: id, outcome: status as 'confirmed' | 'dismissed', heldAgents, stillHeld, note, actor, at: now });
      }
      if (decision !== 'escalate') {
        await this.deps.outbox.append(tx, [{ type: 'risk.alert_decided', agentIds: a.agents as string[], data: { alertId: id, kind: a.kind, outcome: status }, at: now.toISOString() }]);
      }
    });
    return (await repo.getAlert(this.deps.database.db, id))!;
  }

  /** An agent's own alerts (the outcome, not the evidence). */
  async ownAlerts(agentId: string, limit: number) {
    return repo.listAlerts(this.deps.database.db, { agentId, limit });
  }

  /** An agent appeals a decision on one of its alerts, once; the alert goes back to the queue (escalated). */
  async appeal(agentId: string, id: string, reason: string): Promise<AlertRow> {
    const now = this.deps.clock.now();
    await this.deps.database.transaction(async (tx) => {
      const a = await repo.getAlert(tx, id, true);
      if (!a || !(a.agents as string[]).includes(agentId)) throw notFound('alert', id);
      if (a.appeal) throw new AppError('conflict', 'this alert was appealed already (one appeal per alert)');
      if (a.status !== 'confirmed') throw new AppError('invalid_transition', `only a confirmed alert can be appealed (this one is ${a.status})`, { state: a.status, action: 'appeal' });
      await repo.setAlert(tx, id, { status: 'escalated', appeal: { reason, at: now.toISOString() } });
      await repo.audit(tx, { at: now, actor: `agent:${agentId}`, action: 'alert.appealed', alertId: id, detail: { reason } });
    });
    return (await repo.getAlert(this.deps.database.db, id))!;
  }

  audit(q: { afterSeq?: number | undefined; alertId?: string | undefined; limit: number }) {
    return repo.auditLog(this.deps.database.db, q);
  }

  // --- mandates -----------------------------------------------------------------------------

  async putMandate(agentId: string, m: MandateInput, actor: string): Promise<MandateRow> {
    const now = this.deps.clock.now();
    if (m.expiresAt && m.expiresAt.getTime() <= now.getTime()) throw new AppError('validation_failed', 'expiresAt must be in the future', { errors: [{ field: 'body.expiresAt', message: 'must be in the future' }] });
    if (!(await this.deps.accounts.accountAttributes({ since: null, ids: [agentId] })).length) throw notFound('agent', agentId);
    await this.deps.database.transaction(async (tx) => {
      await repo.putMandate(tx, {
        agentId, perDay: m.perDay ?? null, perTrade: m.perTrade ?? null, categories: m.categories ?? null, minSellerTrust: m.minSellerTrust ?? null,
        maxOpenAgreements: m.maxOpenAgreements ?? null, expiresAt: m.expiresAt ?? null, by: actor, at: now,
      });
      await repo.audit(tx, { at: now, actor, action: 'mandate.set', detail: { agentId, ...mandateAudit(m) } });
    });
    return (await repo.getMandate(this.deps.database.db, agentId))!;
  }

  /** Today's UTC date (the mandates' day). */
  today(): string {
    return this.deps.clock.now().toISOString().slice(0, 10);
  }

  getMandate(agentId: string) {
    return repo.getMandate(this.deps.database.db, agentId);
  }

  /** The buyer's mandate against a payment into escrow, in the funding transaction (the mandate row locked): the shared spending limits, then the trade-only ones. */
  private async checkMandate(tx: Tx, p: PaymentCheck): Promise<void> {
    const m = await repo.getMandate(tx, p.buyerId, true);
    if (!m) return;
    const now = this.deps.clock.now();
    const budget = new MandateSpend(m, now);
    const refuse = (r: MandateRefusal): never => {
      this.announceLater([refusalEvent(p.buyerId, r, p.amount, now, { agreementId: p.agreementId })]);
      throw refusalError(r);
    };
    const spending = budget.refusal(p.amount);
    if (spending) refuse(spending);
    const cats = m.categories as string[] | null;
    if (cats && !cats.includes(p.category)) refuse({ limit: 'categories', detail: `category ${p.category} is not allowed by the mandate (allowed: ${cats.join(', ')})`, extra: { allowed: cats } });
    if (m.min_seller_trust !== null) {
      // read before the transaction (`prepare`): reputation's read would wait for this transaction's connection on PGlite
      const cached = this.trustCache.get(p.sellerId);
      if (!cached || now.getTime() - cached.at > TRUST_TTL_MS) refuse({ limit: 'minSellerTrust', detail: "the seller's trust score is not known here: fund the agreement with POST /v1/agreements/{id}/fund", extra: {} });
      const trust = cached!.score;
      if (trust < m.min_seller_trust) refuse({ limit: 'minSellerTrust', detail: `the seller's trust score ${trust} is below the mandate's minimum ${m.min_seller_trust}`, extra: { trust, min: m.min_seller_trust } });
    }
    if (m.max_open_agreements !== null) {
      const open = await p.openAgreements();
      if (open >= m.max_open_agreements) refuse({ limit: 'maxOpenAgreements', detail: `the agent has ${open} open agreements, the mandate allows ${m.max_open_agreements}`, extra: { open, max: m.max_open_agreements } });
    }
    if (!await repo.recordPayment(tx, { agreementId: p.agreementId, agentId: p.buyerId, amount: p.amount, at: now })) return;
    const events = budget.add(p.amount);
    await budget.write(tx);
    await this.deps.outbox.append(tx, events);
  }

  /**
   * The ledger's spend guard (direct transfers, POST /v1/transfers): opened in the group commit's transaction
   * before the wallets are locked, it locks the payers' mandates and keeps each one's budget while the ledger
   * decides the group's payments in order, so two payments in one group count against one budget. A refused
   * payment moves nothing and is announced in the same transaction.
   */
  readonly spendGuard: SpendGuard = {
    open: async (tx: Tx, payerIds: readonly string[]): Promise<SpendGate | null> => {
      const rows = await repo.lockMandates(tx, payerIds);
      if (!rows.length) return null;
      const now = this.deps.clock.now();
      const budgets = new Map(rows.map((m) => [m.agent_id, new MandateSpend(m, now)]));
      const counted: { p: SpendPayment; b: MandateSpend }[] = [];
      const events: OutboxEvent[] = [];
      return {
        check: (ps) => {
          const before = new Map<string, bigint>();
          for (const p of ps) {
            const b = budgets.get(p.payerAgentId);
            if (!b) continue;
            // the call's earlier payments count against the day's budget too
            const r = b.refusal(p.amount, before.get(p.payerAgentId) ?? 0n);
            before.set(p.payerAgentId, (before.get(p.payerAgentId) ?? 0n) + p.amount);
            if (r) {
              events.push(refusalEvent(p.payerAgentId, r, p.amount, now, { transferId: p.transferId }));
              return refusalError(r);
            }
          }
          return null;
        },
        count: (ps) => {
          for (const p of ps) {
            const b = budgets.get(p.payerAgentId);
            if (!b) continue;
            events.push(...b.add(p.amount));
            counted.push({ p, b });
          }
        },
        close: async (w: Tx) => {
          for (const { p } of counted) await repo.recordPayment(w, { agreementId: `transfer:${p.transferId}`, agentId: p.payerAgentId, amount: p.amount, at: now });
          for (const b of new Set(counted.map((c) => c.b))) await b.write(w);
          await this.deps.outbox.append(w, events);
        },
      };
    },
  };

  /** An event about a refused payment: its transaction rolls back, so it is appended on its own afterwards. */
  private announceLater(events: OutboxEvent[]): void {
    setImmediate(() => { void this.deps.outbox.emit(events).catch(() => undefined); });
  }
}

export interface PaymentCheck {
  agreementId: string;
  buyerId: string;
  sellerId: string;
  category: string;
  amount: bigint;
  /** The buyer's open agreements (funded, delivered or disputed), counted by trading. */
  openAgreements: () => Promise<number>;
}

/** Buyers' exposure to one seller over buyers with >= 3 settled trades (fewer say little: one trade is 100 %). */
function exposureIndicator(trades: readonly RiskTrade[]): { median: number | null; over50: number; buyers: number } {
  const xs = [...buyerExposure(trades).values()].filter((e) => e.trades >= 3).map((e) => e.share).sort((a, b) => a - b);
  return { median: xs.length ? Math.round(xs[xs.length >> 1]! * 1000) / 1000 : null, over50: xs.filter((x) => x > 0.5).length, buyers: xs.length };
}

function mandateAudit(m: MandateInput) {
  return {
    perDay: m.perDay == null ? null : formatAmount(m.perDay), perTrade: m.perTrade == null ? null : formatAmount(m.perTrade), categories: m.categories ?? null,
    minSellerTrust: m.minSellerTrust ?? null, maxOpenAgreements: m.maxOpenAgreements ?? null, expiresAt: m.expiresAt?.toISOString() ?? null,
  };
}

export { RISK_PARAMS };
