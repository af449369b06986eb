/**
 * Held rewards and their outcome. A statement computed for an agent under risk review is stored 'held':
 * the amount stays in the pool and reserved() keeps counting it. Each held statement is decided once:
 *
 *   held -> released   paid to the agent from system:rewards, with the epoch's own reward transfer id
 *                      (RewardsService.transferId: the one id that pays this agent for this epoch, whatever
 *                      path pays it), posted in the same transaction that marks the statement released;
 *   held -> forfeited  kept by the pool: no longer reserved, so the next epoch's budget can use it.
 *
 * Each with who decided, when and why. The statements are locked FOR UPDATE first, so of two deciders
 * (two releases, or a release and a forfeit) the second finds nothing held and is told the state it met.
 * A risk review decides them too (onReview, called inside the review's transaction): a confirmed alert
 * forfeits what its holds held, a dismissed one releases it for the agents no other hold still holds.
 */
import { sql } from 'kysely';
import type { Tx } from '../../database.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { RewardsDeps } from './rewards.deps.js';

export type HeldState = 'held' | 'released' | 'forfeited';
export type HeldAction = 'release' | 'forfeit';

export interface HeldStatement {
  agentId: string;
  epochId: string;
  epochNumber: number;
  programId: string;
  amount: bigint;
  state: HeldState;
  /** when the epoch closed (the statement was held from then) */
  heldAt: Date | null;
  decidedAt: Date | null;
  decidedBy: string | null;
  reason: string | null;
  transferId: string | null;
}

/** What the risk module says when it decides a review (a structural copy of risk.port's ReviewDecision). */
export interface ReviewOutcome {
  alertId: string;
  outcome: 'confirmed' | 'dismissed';
  /** agents whose settlements the alert's interventions held */
  heldAgents: readonly string[];
  /** of those, the ones another intervention still holds after the decision */
  stillHeld: readonly string[];
  note: string | null;
  actor: string;
  at: Date;
}

type Row = {
  agent_id: string; epoch_id: string; number: number; program_id: string; program_version: number; amount: string; status: string;
  closed_at: Date | null; decided_at: Date | null; decided_by: string | null; decision_reason: string | null; transfer_id: string | null;
};

const toDate = (x: Date | string | null): Date | null => (x === null ? null : x instanceof Date ? x : new Date(x));
function view(r: Row): HeldStatement {
  return {
    agentId: r.agent_id, epochId: r.epoch_id, epochNumber: r.number, programId: r.program_id, amount: BigInt(r.amount), state: r.status as HeldState,
    heldAt: toDate(r.closed_at), decidedAt: toDate(r.decided_at), decidedBy: r.decided_by, reason: r.decision_reason, transferId: r.transfer_id,
  };
}

const COLUMNS = sql`s.agent_id, s.epoch_id, e.number, e.program_id, e.program_version, s.amount::text AS amount, s.status, e.closed_at,
  s.decided_at, s.decided_by, s.decision_reason, s.transfer_id`;

export class HeldRewards {
  constructor(
    private readonly deps: RewardsDeps,
    /** the transfer id that pays an agent for an epoch (RewardsService.transferId) */
    private readonly transferId: (e: { id: string; program_version: number }, agentId: string) => string,
  ) {}

  /** Held (or released, or forfeited) statements by agent, then epoch id; with the count and sum of all that match. */
  async list(q: { state: HeldState; agentId?: string | undefined; after?: { agentId: string; epochId: string } | undefined; limit: number }) {
    const db = this.deps.database.db;
    const agent = q.agentId === undefined ? sql`` : sql`AND s.agent_id = ${q.agentId}::uuid`;
    const after = q.after === undefined ? sql`` : sql`AND (s.agent_id, s.epoch_id) > (${q.after.agentId}::uuid, ${q.after.epochId}::uuid)`;
    const rows = (await sql<Row>`
      SELECT ${COLUMNS} FROM rewards_statements s JOIN rewards_epochs e ON e.id = s.epoch_id
      WHERE s.status = ${q.state} ${agent} ${after} ORDER BY s.agent_id, s.epoch_id LIMIT ${q.limit}`.execute(db)).rows;
    const total = (await sql<{ n: string; s: string }>`
      SELECT count(*)::text AS n, coalesce(sum(s.amount), 0)::text AS s FROM rewards_statements s WHERE s.status = ${q.state} ${agent}`.execute(db)).rows[0];
    return { data: rows.map(view), count: Number(total?.n ?? 0), amount: BigInt(total?.s ?? '0') };
  }

  /**
   * The operator releases or forfeits an agent's held statements (one epoch's, with epochId). 404: no such
   * agent, epoch or statement, or nothing was ever held; 409: what it would decide is decided already (or not
   * held: paid, payable, zero), with that state.
   */
  async decide(action: HeldAction, agentId: string, o: { reason: string; epochId?: string | undefined; actor: string }): Promise<{ statements: HeldStatement[]; amount: bigint; transfers: number }> {
    if (!(await this.deps.agents.exists(agentId))) throw notFound('agent', agentId);
    const at = this.deps.clock.now();
    const done = await this.deps.database.transaction((tx) => this.decideIn(tx, action, agentId, { ...o, at }));
    if (done.length) return { statements: done, amount: done.reduce((a, s) => a + s.amount, 0n), transfers: done.filter((s) => s.state === 'released' && s.amount > 0n).length };
    const db = this.deps.database.db;
    if (o.epochId !== undefined) {
      const s = await db.selectFrom('rewards_statements').select('status').where('agent_id', '=', agentId).where('epoch_id', '=', o.epochId).executeTakeFirst();
      if (!s) throw notFound('reward statement of agent ' + agentId + ' in epoch', o.epochId);
      throw new AppError('invalid_transition', `the statement of epoch ${o.epochId} is ${s.status}, not held: it cannot be ${action === 'release' ? 'released' : 'forfeited'}`, { state: s.status, action });
    }
    const last = (await sql<Row>`
      SELECT ${COLUMNS} FROM rewards_statements s JOIN rewards_epochs e ON e.id = s.epoch_id
      WHERE s.agent_id = ${agentId}::uuid AND s.status IN ('released', 'forfeited') ORDER BY s.decided_at DESC, s.epoch_id DESC LIMIT 1`.execute(db)).rows[0];
    if (!last) throw notFound('held reward statement of agent', agentId);
    throw new AppError('invalid_transition', `agent ${agentId} has no held reward statement: the last was ${last.status} at ${toDate(last.decided_at)!.toISOString()}`, {
      state: last.status, action, epochId: last.epoch_id,
    });
  }

  /**
   * Inside `tx`: locks the agent's held statements (one epoch's, with epochId), then releases them (pays each
   * positive amount, exactly once: the ledger creates each transfer id once, and the lock lets one decider
   * through) or forfeits them. Returns what it decided (nothing: nothing was held).
   */
  async decideIn(tx: Tx, action: HeldAction, agentId: string, o: { reason: string; epochId?: string | undefined; actor: string; at: Date }): Promise<HeldStatement[]> {
    const epoch = o.epochId === undefined ? sql`` : sql`AND s.epoch_id = ${o.epochId}::uuid`;
    // the statements only are locked (not their epochs: deciders of other agents need not wait)
    const locked = (await sql<{ epoch_id: string }>`
      SELECT s.epoch_id FROM rewards_statements s WHERE s.agent_id = ${agentId}::uuid AND s.status = 'held' ${epoch} ORDER BY s.epoch_id FOR UPDATE`.execute(tx)).rows;
    if (!locked.length) return [];
    const rows = (await sql<Row>`
      SELECT ${COLUMNS} FROM rewards_statements s JOIN rewards_epochs e ON e.id = s.epoch_id
      WHERE s.agent_id = ${agentId}::uuid AND s.status = 'held' AND s.epoch_id = ANY(${locked.map((r) => r.epoch_id)}::uuid[]) ORDER BY s.epoch_id`.execute(tx)).rows;
    const out: HeldStatement[] = [];
    for (const r of rows) {
      const amount = BigInt(r.amount);
      let transferId: string | null = null;
      if (action === 'release' && amount > 0n) {
        transferId = this.transferId({ id: r.epoch_id, program_version: r.program_version }, agentId);
        // the fields distribute would use for this agent and epoch: either path finds the other's transfer as 'exists'
        const [res] = await this.deps.ledger.payIn(tx, [{ id: transferId, from: 'system:rewards', to: `wallet:${agentId}`, amount, code: 'reward', reference: `rewards:epoch:${r.epoch_id}` }], r.epoch_id);
        if (!res || res.status === 'rejected') throw new AppError('unprocessable', `the ledger refused the release of epoch ${r.epoch_id}: ${res?.code ?? 'no outcome'}`, { epochId: r.epoch_id, ledgerCode: res?.code ?? null });
      }
      const state: HeldState = action === 'release' ? 'released' : 'forfeited';
      const u = await tx.updateTable('rewards_statements').set({
        status: state, transfer_id: transferId, paid_at: transferId === null ? null : o.at, decided_at: o.at, decided_by: o.actor, decision_reason: o.reason,
      }).where('epoch_id', '=', r.epoch_id).where('agent_id', '=', agentId).where('status', '=', 'held').executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) throw new AppError('conflict', `the statement of epoch ${r.epoch_id} changed meanwhile; retry`);
      out.push({ ...view(r), state, decidedAt: o.at, decidedBy: o.actor, reason: o.reason, transferId });
    }
    return out;
  }

  /** A risk review decided (inside its transaction): confirmed forfeits what its holds held; dismissed releases it where no other hold remains. */
  async onReview(tx: Tx, d: ReviewOutcome): Promise<void> {
    const reason = `risk alert ${d.alertId} ${d.outcome}${d.note ? `: ${d.note}` : ''}`;
    const still = new Set(d.stillHeld);
    for (const agentId of [...new Set(d.heldAgents)].sort()) {
      if (d.outcome === 'confirmed') await this.decideIn(tx, 'forfeit', agentId, { reason, actor: d.actor, at: d.at });
      else if (!still.has(agentId)) await this.decideIn(tx, 'release', agentId, { reason, actor: d.actor, at: d.at });
    }
  }
}
