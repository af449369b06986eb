/**
 * Partnership programs (technology, service, reseller, integration, affiliate). A seller applies, naming
 * the partner and the revenue share it grants the partner out of its sales (basis points of the gross); the
 * operator approves or rejects, may suspend, resume and end it. Only an active partnership yields shares
 * (`sharesFor`), which settlement pays as linked legs of the seller's proceeds (the rewards module's splits).
 */
import type { Database, Executor } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import { assertActsFor, type Principal } from '../../platform/http/auth.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { certificationRepository as repo, type PartnershipRow } from './certification.repository.js';
import type { PartnershipProgram, PartnershipStatus } from './certification.tables.js';

/** At most this share of a seller's sales goes to all its active partnerships together. */
export const MAX_TOTAL_SHARE_BPS = 5000;
/** Programs whose terms pay a partner (a reseller or affiliate without a partner is meaningless). */
const NEEDS_PARTNER: PartnershipProgram[] = ['reseller', 'affiliate'];

export type PartnershipAction = 'approve' | 'reject' | 'suspend' | 'resume' | 'end';
const TRANSITIONS: Record<PartnershipAction, { from: PartnershipStatus[]; to: PartnershipStatus }> = {
  approve: { from: ['pending'], to: 'active' },
  reject: { from: ['pending'], to: 'rejected' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  end: { from: ['active', 'suspended'], to: 'ended' },
};

export interface PartnershipShare { agentId: string; bps: number; reason: string }

export interface PartnershipsDeps {
  database: Database;
  clock: Clock;
  outbox: EventOutbox;
  exists(agentId: string): Promise<boolean>;
}

export class PartnershipsService {
  constructor(private readonly deps: PartnershipsDeps) {}

  async apply(p: Principal, input: { agentId: string; program: PartnershipProgram; partnerId?: string | undefined; revenueShareBps?: number | undefined; terms: { description: string; endsAt?: string | undefined } }) {
    assertActsFor(p, input.agentId);
    const bps = input.revenueShareBps ?? 0;
    const field = (f: string, m: string) => new AppError('validation_failed', `${f} ${m}`, { errors: [{ field: f, message: m }] });
    if (input.partnerId === input.agentId) throw field('body.partnerId', 'must be another agent');
    if (bps > 0 && !input.partnerId) throw field('body.partnerId', 'is required with a revenue share');
    if (NEEDS_PARTNER.includes(input.program) && !input.partnerId) throw field('body.partnerId', `is required for a ${input.program} partnership`);
    const now = this.deps.clock.now();
    if (input.terms.endsAt !== undefined && !(Date.parse(input.terms.endsAt) > now.getTime())) throw field('body.terms.endsAt', 'must be in the future');
    if (!(await this.deps.exists(input.agentId))) throw notFound('agent', input.agentId);
    if (input.partnerId && !(await this.deps.exists(input.partnerId))) throw notFound('agent', input.partnerId);
    const id = uuidv7(this.deps.clock);
    const row = {
      id, agent_id: input.agentId, program: input.program, partner_id: input.partnerId ?? null, status: 'pending' as const, revenue_share_bps: bps,
      terms: JSON.stringify(input.terms), created_at: now, updated_at: now, decided_by: null, reason: null,
      history: JSON.stringify([{ action: 'applied', by: p.kind === 'agent' ? p.agentId : 'operator', at: now.toISOString() }]),
    };
    await this.deps.database.transaction(async (tx) => {
      await repo.insertPartnership(tx, row);
      await this.deps.outbox.append(tx, [{ type: 'partnership.applied', agentIds: [input.agentId, ...(input.partnerId ? [input.partnerId] : [])], data: { partnershipId: id, program: input.program }, at: now.toISOString() }]);
    });
    return partnershipJson((await repo.partnership(this.deps.database.db, id))!);
  }

  async get(p: Principal, id: string) {
    const row = await repo.partnership(this.deps.database.db, id);
    if (!row) throw notFound('partnership', id);
    // the terms are the parties' business: the seller, the partner and the operator see them
    if (!(p.kind === 'admin' || (p.kind === 'agent' && (p.agentId === row.agent_id || p.agentId === row.partner_id)))) {
      if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
      throw new AppError('forbidden', 'only the parties and the operator see a partnership');
    }
    return partnershipJson(row);
  }

  /** The operator's decisions: approve, reject, suspend, resume, end (each with a reason, kept in the history). */
  async decide(id: string, action: PartnershipAction, reason: string | undefined) {
    const t = TRANSITIONS[action];
    const now = this.deps.clock.now();
    return this.deps.database.transaction(async (tx) => {
      const cur = await repo.partnership(tx, id);
      if (!cur) throw notFound('partnership', id);
      if (!t.from.includes(cur.status)) throw new AppError('invalid_transition', `cannot ${action} a partnership that is ${cur.status}`, { state: cur.status, action });
      if (t.to === 'active' && cur.revenue_share_bps > 0) {
        const others = (await repo.partnershipsOf(tx, cur.agent_id, 'active')).filter((x) => x.id !== id).reduce((s, x) => s + x.revenue_share_bps, 0);
        if (others + cur.revenue_share_bps > MAX_TOTAL_SHARE_BPS) {
          throw new AppError('conflict', `the seller's active partnerships would share ${others + cur.revenue_share_bps} bps of its sales; at most ${MAX_TOTAL_SHARE_BPS}`);
        }
      }
      const history = [...(cur.history as Record<string, unknown>[]), { action, by: 'operator', reason: reason ?? null, at: now.toISOString() }];
      const row = await repo.updatePartnership(tx, id, t.from, { status: t.to, decided_by: 'operator', reason: reason ?? null, updated_at: now, history: JSON.stringify(history) });
      if (!row) throw new AppError('conflict', 'the partnership changed meanwhile; retry');
      await this.deps.outbox.append(tx, [{ type: `partnership.${t.to}`, agentIds: [row.agent_id, ...(row.partner_id ? [row.partner_id] : [])], data: { partnershipId: id, status: t.to, reason: reason ?? null }, at: now.toISOString() }]);
      return partnershipJson(row);
    });
  }

  /** The revenue shares a seller's active partnerships take of a sale (the rewards module's SplitSource). */
  async sharesFor(agreement: { sellerId: string; at?: Date | undefined }, db: Executor = this.deps.database.db): Promise<PartnershipShare[]> {
    const at = (agreement.at ?? this.deps.clock.now()).getTime();
    const rows = await repo.partnershipsOf(db, agreement.sellerId, 'active');
    return rows.filter((r) => r.partner_id && r.revenue_share_bps > 0 && r.created_at.getTime() <= at)
      .filter((r) => { const e = (r.terms as { endsAt?: string }).endsAt; return e === undefined || Date.parse(e) > at; })
      .map((r) => ({ agentId: r.partner_id!, bps: r.revenue_share_bps, reason: `partnership ${r.id} (${r.program})` }));
  }
}

export function partnershipJson(r: PartnershipRow) {
  return {
    id: r.id, agentId: r.agent_id, program: r.program, partnerId: r.partner_id, status: r.status, revenueShareBps: r.revenue_share_bps,
    terms: r.terms as Record<string, unknown>, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
    decidedBy: r.decided_by, reason: r.reason, history: r.history as Record<string, unknown>[],
  };
}
