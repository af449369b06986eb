/**
 * Rewards: programs (versioned), epochs (open -> closed -> distributed), statements, distribution.
 *
 * Close: the epoch's evidence is gathered through the ports (rewards.evidence.ts), computed with the
 * program version the epoch opened with (rewards.formula.ts) against a budget (the pool's balance less
 * what other closed epochs still owe, times the program's pool share, at most its epoch budget), and
 * stored in one transaction with the epoch row locked, so two processes closing it store one result.
 * Distribute: the payable statements are paid from system:rewards in ledger batches whose transfer ids
 * derive from (epoch, program version, agent); a re-run, a crash half-way or a second process re-submits
 * the same ids and the ledger creates each transfer once; statements are marked paid after.
 *
 * Length: close, preview and distribute share the epoch's locking and statement bookkeeping and are kept
 * together; the formula is in rewards.formula.ts, the evidence in rewards.evidence.ts, splits in rewards.splits.ts.
 */
import type { Clock } from '../../platform/clock.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { seesPrivateOf, type Principal } from '../../platform/http/auth.js';
import { formatAmount } from '../../platform/money.js';
import type { BackgroundJob } from '../module.js';
import type { Executor } from '../../database.js';
import type { RewardsDeps } from './rewards.deps.js';
import { gatherEvidence } from './rewards.evidence.js';
import { computeEpoch, type EpochResult, type Statement } from './rewards.formula.js';
import { DEFAULT_CONFIG, DEFAULT_PROGRAM_ID, programErrors, tierOf, type Program, type ProgramConfig } from './rewards.program.js';
import { rewardsRepository as repo, type EpochRow, type NewStatement } from './rewards.repository.js';
import { createSplitter } from './rewards.settlement.js';
import { HeldRewards } from './rewards.held.js';

/** The platform fee the escrow charges by default (ledger: DEFAULT_FEE_BPS). */
const PLATFORM_FEE_BPS = 250;
/** Transfers per ledger batch: the ledger's largest group (MAX_GROUP_TRANSFERS). */
const PAY_CHUNK = 10_000;
const PROGRAM_CACHE_MS = 10_000;

export function configToJson(c: ProgramConfig): Record<string, unknown> {
  const { id: _id, version: _v, createdAt: _c, ...config } = c as ProgramConfig & Partial<Program>;
  return JSON.parse(JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function configFromJson(j: Record<string, unknown>): ProgramConfig {
  const c = { ...DEFAULT_CONFIG, ...(j as Partial<ProgramConfig>) } as ProgramConfig;
  const f = c.funding as unknown as { epochBudget: string | null };
  const r = c.referral as unknown as { amount: string };
  return {
    ...c,
    funding: { ...c.funding, epochBudget: f.epochBudget === null || f.epochBudget === undefined ? null : BigInt(f.epochBudget) },
    referral: { ...c.referral, amount: BigInt(r.amount ?? DEFAULT_CONFIG.referral.amount) },
  };
}

export interface EpochView {
  id: string;
  programId: string;
  programVersion: number;
  number: number;
  startsAt: Date;
  endsAt: Date;
  status: string;
  poolBalance: bigint | null;
  budget: bigint | null;
  demand: bigint | null;
  paid: bigint | null;
  held: bigint | null;
  capped: bigint | null;
  remainderUnits: bigint | null;
  scalePpm: number | null;
  agents: number | null;
  closedAt: Date | null;
  distributedAt: Date | null;
}

function epochView(e: EpochRow): EpochView {
  return {
    id: e.id, programId: e.program_id, programVersion: e.program_version, number: e.number, startsAt: e.starts_at, endsAt: e.ends_at, status: e.status,
    poolBalance: e.pool_balance, budget: e.budget, demand: e.demand, paid: e.paid, held: e.held, capped: e.capped, remainderUnits: e.remainder_units,
    scalePpm: e.scale_ppm === null ? null : Number(e.scale_ppm), agents: e.agents, closedAt: e.closed_at, distributedAt: e.distributed_at,
  };
}

/** A statement as the agent and the operator see it: every factor, in AITBC where it is money. */
export function statementDetail(s: Statement, trust: number): Record<string, unknown> {
  const f = s.factors;
  return {
    base: formatAmount(f.base), tier: f.tier, trust, multiplier: f.multiplier, performance: f.performance, loyalty: f.loyalty, supplyBonus: f.supply,
    raw: formatAmount(s.raw), eligible: formatAmount(s.eligible), scaled: formatAmount(s.scaled), amount: formatAmount(s.amount), notes: s.notes,
  };
}

export class RewardsService {
  readonly jobs: BackgroundJob[];
  readonly splitter;
  /** held statements: released or forfeited (rewards.held.ts) */
  readonly held: HeldRewards;
  private programCache: { at: number; programs: Map<string, Program[]> } | undefined;

  constructor(readonly deps: RewardsDeps) {
    this.jobs = [{ name: 'rewards.epochs', intervalMs: 60_000, run: () => this.tick() }];
    this.held = new HeldRewards(deps, RewardsService.transferId);
    // inside the release transaction: read through it (PGlite has one connection)
    this.splitter = createSplitter(deps, async (db) => {
      const versions = (await this.programs(db)).get(DEFAULT_PROGRAM_ID);
      return versions?.length ? versions[versions.length - 1]! : DEFAULT_CONFIG;
    });
  }

  private get clock(): Clock {
    return this.deps.clock;
  }
  private get db() {
    return this.deps.database.db;
  }

  // ------------------------------------------------------------------------------ programs

  private async programs(db: Executor = this.db): Promise<Map<string, Program[]>> {
    const now = Date.now();
    if (this.programCache && now - this.programCache.at < PROGRAM_CACHE_MS) return this.programCache.programs;
    const rows = await repo.programVersions(db);
    const map = new Map<string, Program[]>();
    // until the first epoch opens (or the operator configures it) the default program is not stored: a read stores nothing
    if (!rows.some((r) => r.id === DEFAULT_PROGRAM_ID)) map.set(DEFAULT_PROGRAM_ID, [{ ...DEFAULT_CONFIG, id: DEFAULT_PROGRAM_ID, version: 1, createdAt: new Date(0) }]);
    for (const r of rows) map.set(r.id, [...(map.get(r.id) ?? []), { ...configFromJson(r.config), id: r.id, version: r.version, createdAt: r.created_at }]);
    this.programCache = { at: now, programs: map };
    return map;
  }

  /** Stores version 1 of the default program if it is not stored yet (before an epoch or a new version refers to it). */
  private async storeDefault(): Promise<void> {
    const stored = await repo.programVersions(this.db, DEFAULT_PROGRAM_ID);
    if (stored.length) return;
    await repo.insertProgram(this.db, { id: DEFAULT_PROGRAM_ID, version: 1, config: configToJson(DEFAULT_CONFIG), createdAt: this.clock.now() });
    this.programCache = undefined;
  }

  private reloadPrograms(): Promise<Map<string, Program[]>> {
    this.programCache = undefined;
    return this.programs();
  }

  async currentProgram(id: string): Promise<{ config: ProgramConfig; version: number }> {
    const versions = (await this.programs()).get(id);
    if (!versions?.length) throw notFound('reward program', id);
    const p = versions[versions.length - 1]!;
    return { config: p, version: p.version };
  }

  private async programVersion(id: string, version: number): Promise<Program> {
    let p = (await this.programs()).get(id)?.find((x) => x.version === version);
    if (!p) p = (await this.reloadPrograms()).get(id)?.find((x) => x.version === version);
    if (!p) throw notFound('reward program version', `${id}@${version}`);
    return p;
  }

  async listPrograms(): Promise<Program[]> {
    return [...(await this.programs()).values()].map((v) => v[v.length - 1]!);
  }

  /** The next version of a program: fields left out keep the current version's values. */
  async putProgram(id: string, patch: Partial<ProgramConfig>): Promise<Program> {
    if (id === DEFAULT_PROGRAM_ID) await this.storeDefault();
    const all = await this.reloadPrograms();
    const versions = all.get(id) ?? [];
    const cur = versions[versions.length - 1];
    // programs are configured, not invented by a typo: only existing ones ('default') take new versions
    if (!cur) throw notFound('reward program', id);
    const base: ProgramConfig = cur;
    const next: ProgramConfig = {
      ...base, ...patch,
      performance: { ...base.performance, ...(patch.performance ?? {}) },
      loyalty: { ...base.loyalty, ...(patch.loyalty ?? {}) },
      funding: { ...base.funding, ...(patch.funding ?? {}) },
      caps: { ...base.caps, ...(patch.caps ?? {}) },
      referral: { ...base.referral, ...(patch.referral ?? {}) },
    };
    const errors = programErrors(next);
    if (errors.length) throw new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
    const version = cur.version + 1;
    if (!(await repo.insertProgram(this.db, { id, version, config: configToJson(next), createdAt: this.clock.now() }))) {
      throw new AppError('conflict', `program ${id} changed meanwhile; retry`);
    }
    await this.reloadPrograms();
    return this.programVersion(id, version);
  }

  // ------------------------------------------------------------------------------ epochs

  /** The program's open epoch, opening one (aligned to the epoch length) when there is none. */
  async ensureOpen(programId: string): Promise<EpochRow> {
    const open = await repo.openEpoch(this.db, programId);
    if (open) return open;
    if (programId === DEFAULT_PROGRAM_ID) await this.storeDefault();
    const { config, version } = await this.currentProgram(programId);
    const last = await repo.lastEpoch(this.db, programId);
    const now = this.clock.now().getTime();
    const startsAt = last ? last.ends_at.getTime() : Math.floor(now / config.epochMs) * config.epochMs;
    const number = (last?.number ?? 0) + 1;
    // an epoch that would already be over starts now instead (a long pause of the job)
    const start = startsAt + config.epochMs <= now ? Math.floor(now / config.epochMs) * config.epochMs : startsAt;
    await repo.insertEpoch(this.db, {
      id: uuidFromName(`rewards:epoch:${programId}:${number}`), program_id: programId, program_version: version, number,
      starts_at: new Date(start), ends_at: new Date(Math.max(start + config.epochMs, startsAt + 1)),
    });
    return (await repo.openEpoch(this.db, programId)) ?? (await repo.lastEpoch(this.db, programId))!;
  }

  private async mustEpoch(id: string): Promise<EpochRow> {
    const e = await repo.epoch(this.db, id);
    if (!e) throw notFound('reward epoch', id);
    return e;
  }

  /** Computes an epoch from its evidence as of `until` (nothing stored). */
  async compute(e: EpochRow, until: Date): Promise<{ result: EpochResult; trust: Map<string, number>; poolBalance: bigint; trades: number; uncounted: Record<string, number>; referralIds: string[] }> {
    const program = await this.programVersion(e.program_id, e.program_version);
    const lookback = Math.ceil(program.loyalty.streakMax / Math.max(1e-9, program.loyalty.streakStep));
    const numbers = Array.from({ length: Math.min(lookback, e.number - 1) }, (_, i) => e.number - 1 - i);
    const active = await repo.activeIn(this.db, e.program_id, numbers);
    const seen = new Map<string, Set<number>>();
    for (const r of active) seen.set(r.agent_id, (seen.get(r.agent_id) ?? new Set()).add(r.number));
    const streaks = new Map<string, number>();
    for (const [id, s] of seen) { let k = 0; while (s.has(e.number - 1 - k)) k++; streaks.set(id, k); }
    const referrals = await this.dueReferrals(program);
    const gathered = await gatherEvidence(this.deps, { startsAt: e.starts_at, until }, {
      streaks, referrals: referrals.perReferrer, feeBps: PLATFORM_FEE_BPS,
      feeDiscounts: async (ids) => {
        const out = new Map<string, number>();
        for (let i = 0; i < ids.length; i += 5_000) {
          for (const t of await repo.tiersOf(this.db, ids.slice(i, i + 5_000))) out.set(t.agent_id, program.tiers.find((x) => x.name === t.tier)?.feeDiscountBps ?? 0);
        }
        return out;
      },
    });
    // reserved first: a payment or a release between the two reads can only make `available` smaller, never larger
    const reserved = await repo.reserved(this.db, e.id);
    const poolBalance = await this.deps.ledger.poolBalance();
    const available = poolBalance - reserved > 0n ? poolBalance - reserved : 0n;
    let budget = (available * BigInt(program.funding.poolShareBps)) / 10_000n;
    if (program.funding.epochBudget !== null && program.funding.epochBudget < budget) budget = program.funding.epochBudget;
    const result = computeEpoch(program, gathered.evidence, budget);
    const trust = new Map(gathered.evidence.map((x) => [x.agentId, x.trust]));
    return { result, trust, poolBalance, trades: gathered.trades, uncounted: gathered.uncounted, referralIds: referrals.referredIds };
  }

  /** Referrals whose referred agent reached the trust threshold, within each referrer's cap. */
  private async dueReferrals(p: ProgramConfig): Promise<{ perReferrer: Map<string, bigint>; referredIds: string[] }> {
    const perReferrer = new Map<string, bigint>();
    const referredIds: string[] = [];
    if (p.referral.amount <= 0n) return { perReferrer, referredIds };
    const unpaid = await repo.unpaidReferrals(this.db);
    if (!unpaid.length) return { perReferrer, referredIds };
    const paid = await repo.paidReferralCounts(this.db);
    const trust = await this.deps.reputation.trustScores(unpaid.map((r) => r.referred_id));
    for (const r of unpaid) {
      if ((trust.get(r.referred_id) ?? 0) < p.referral.minTrust) continue;
      const n = paid.get(r.referrer_id) ?? 0;
      if (n >= p.referral.maxPerReferrer) continue;
      paid.set(r.referrer_id, n + 1);
      perReferrer.set(r.referrer_id, (perReferrer.get(r.referrer_id) ?? 0n) + p.referral.amount);
      referredIds.push(r.referred_id);
    }
    return { perReferrer, referredIds };
  }

  /** Closes an open epoch now (or at its end, from the job): computes and stores its statements, opens the next. */
  async close(id: string, opts: { early?: boolean } = {}): Promise<EpochView> {
    const e = await this.mustEpoch(id);
    if (e.status !== 'open') throw new AppError('invalid_transition', `epoch ${id} is ${e.status}, not open`, { state: e.status, action: 'close' });
    const now = this.clock.now();
    const endsAt = opts.early && now.getTime() < e.ends_at.getTime() ? new Date(Math.max(now.getTime(), e.starts_at.getTime() + 1)) : e.ends_at;
    const c = await this.compute(e, endsAt);
    await this.storeClosed(id, c, endsAt, now);
    await this.ensureOpen(e.program_id);
    return epochView(await this.mustEpoch(id));
  }

  /**
   * Stores a computed epoch in one transaction with the epoch row locked (statements, tiers, referrals, the
   * epoch's totals); nothing when another process closed it meanwhile. bench/rewards.bench.ts times this step.
   */
  async storeClosed(id: string, c: Pick<Awaited<ReturnType<RewardsService['compute']>>, 'result' | 'trust' | 'poolBalance' | 'referralIds'>, endsAt: Date, now: Date): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const locked = await repo.lockEpoch(tx, id);
      if (!locked || locked.status !== 'open') return; // another process closed it meanwhile
      const rows: NewStatement[] = c.result.statements.map((s) => ({
        agentId: s.agentId, amount: s.amount, status: s.status, tier: s.factors.tier, trust: c.trust.get(s.agentId) ?? 0,
        detail: statementDetail(s, c.trust.get(s.agentId) ?? 0),
      }));
      await repo.insertStatements(tx, id, rows);
      await repo.upsertTiers(tx, id, rows.map((r) => ({ agentId: r.agentId, tier: r.tier, trust: r.trust })), now);
      await repo.markReferralsPaid(tx, c.referralIds, id, now);
      const r = c.result;
      await repo.closeEpoch(tx, id, {
        ends_at: endsAt, pool_balance: c.poolBalance, budget: r.budget, demand: r.demand, paid: r.paid, held: r.held, capped: r.capped,
        remainder_units: r.remainderUnits, scale_ppm: BigInt(r.scalePpm), agents: r.statements.length, closed_at: now,
      });
    });
  }

  /** What the epoch would pay: an open epoch computed as of now (nothing stored); a closed one as stored. */
  async preview(id: string, limit = 100) {
    const e = await this.mustEpoch(id);
    if (e.status === 'open') {
      const now = this.clock.now();
      const c = await this.compute(e, now < e.ends_at ? now : e.ends_at);
      const r = c.result;
      return {
        epoch: epochView(e), asOf: now, stored: false, poolBalance: c.poolBalance, budget: r.budget, demand: r.demand, paid: r.paid, held: r.held,
        capped: r.capped, remainderUnits: r.remainderUnits, scalePpm: r.scalePpm, agents: r.statements.length, trades: c.trades, uncounted: c.uncounted,
        statements: [...r.statements].sort((a, b) => (a.amount > b.amount ? -1 : a.amount < b.amount ? 1 : a.agentId < b.agentId ? -1 : 1)).slice(0, limit)
          .map((s) => ({ agentId: s.agentId, amount: s.amount, status: s.status, detail: statementDetail(s, c.trust.get(s.agentId) ?? 0) })),
      };
    }
    const top = await repo.topStatements(this.db, id, limit);
    return {
      epoch: epochView(e), asOf: e.closed_at ?? e.ends_at, stored: true, poolBalance: e.pool_balance, budget: e.budget, demand: e.demand, paid: e.paid,
      held: e.held, capped: e.capped, remainderUnits: e.remainder_units, scalePpm: e.scale_ppm === null ? null : Number(e.scale_ppm), agents: e.agents,
      trades: null, uncounted: null,
      statements: top.map((s) => ({ agentId: s.agent_id, amount: s.amount, status: s.status, detail: s.detail })),
    };
  }

  /** The transfer id that pays an agent for an epoch: the same in every process and on every re-run. */
  static transferId(e: Pick<EpochRow, 'id' | 'program_version'>, agentId: string): string {
    return uuidFromName(`rewards:${e.id}:v${e.program_version}:${agentId}`);
  }

  /**
   * Pays a closed epoch's payable statements (exactly once, whatever runs it again or beside it). Pipelined:
   * while the ledger writes chunk k, the statements of chunk k-1 are marked and chunk k+1 is read (other
   * connections; the ledger serialises its batches on the pool account anyway). `pipeline: false` runs the
   * steps one after another (the previous path, kept for the equivalence test and the bench).
   */
  async distribute(id: string, opts: { chunk?: number; pipeline?: boolean; afterChunk?: (n: number) => Promise<void> } = {}): Promise<{ epoch: EpochView; created: number; existing: number; rejected: number; paid: bigint }> {
    const e = await this.mustEpoch(id);
    if (e.status === 'open') throw new AppError('invalid_transition', `epoch ${id} is open: close it first`, { state: e.status, action: 'distribute' });
    let created = 0; let existing = 0; let rejected = 0; let paid = 0n;
    let chunks = 0;
    const size = opts.chunk ?? PAY_CHUNK;
    const pipeline = opts.pipeline ?? true;
    const mark = async (marks: { agentId: string; transferId: string; status: 'paid' | 'rejected' }[]) => {
      await repo.markPaid(this.db, id, marks, this.clock.now());
      chunks++;
      if (opts.afterChunk) await opts.afterChunk(chunks);
    };
    let marking: Promise<void> = Promise.resolve();
    let next = repo.payable(this.db, id, null, size);
    try {
      for (;;) {
        const rows = await next;
        if (!rows.length) break;
        const after = rows[rows.length - 1]!.agent_id;
        const payable = rows.filter((r) => r.amount > 0n).map((r) => ({ ...r, transferId: RewardsService.transferId(e, r.agent_id) }));
        const transfers = payable.map((r) => ({
          id: r.transferId, from: 'system:rewards', to: `wallet:${r.agent_id}`, amount: r.amount, code: 'reward', reference: `rewards:epoch:${id}`,
        }));
        if (pipeline) next = repo.payable(this.db, id, after, size);
        const outcomes = await this.deps.ledger.pay(transfers, id);
        const byId = new Map(outcomes.map((o) => [o.id, o]));
        const marks = payable.map((r) => {
          const o = byId.get(r.transferId);
          const ok = o?.status === 'created' || o?.status === 'exists';
          if (o?.status === 'created') { created++; paid += r.amount; } else if (o?.status === 'exists') existing++; else rejected++;
          return { agentId: r.agent_id, transferId: r.transferId, status: ok ? 'paid' as const : 'rejected' as const };
        });
        await marking;
        marking = mark(marks);
        if (!pipeline) { await marking; next = repo.payable(this.db, id, after, size); }
      }
    } finally {
      // a failed chunk leaves the marks already under way to finish (their transfers exist); the error is the ledger's
      await marking.catch(() => undefined);
      await next.catch(() => undefined);
    }
    await marking;
    await repo.markDistributed(this.db, id, this.clock.now());
    return { epoch: epochView(await this.mustEpoch(id)), created, existing, rejected, paid };
  }

  /** The job: closes epochs that ended, opens the next, pays closed ones when the program says so. */
  async tick(): Promise<{ closed: number; distributed: number }> {
    let closed = 0;
    let distributed = 0;
    await this.ensureOpen(DEFAULT_PROGRAM_ID);
    for (const e of await repo.dueOpenEpochs(this.db, this.clock.now())) {
      try { await this.close(e.id); closed++; } catch (err) { if (!(err instanceof AppError)) throw err; }
    }
    for (const e of await repo.closedEpochs(this.db)) {
      const p = await this.programVersion(e.program_id, e.program_version);
      if (p.autoDistribute) { await this.distribute(e.id); distributed++; }
    }
    return { closed, distributed };
  }

  // ------------------------------------------------------------------------------ reads

  async listEpochs(f: { programId?: string | undefined; before?: number | undefined; limit: number }): Promise<EpochView[]> {
    return (await repo.epochs(this.db, { programId: f.programId, beforeNumber: f.before, limit: f.limit })).map(epochView);
  }

  async epochDetail(id: string) {
    const e = await this.mustEpoch(id);
    const summary = await repo.epochSummary(this.db, id);
    const program = await this.programVersion(e.program_id, e.program_version);
    return {
      ...epochView(e),
      poolBalanceNow: await this.deps.ledger.poolBalance(),
      budgetRule: { epochBudget: program.funding.epochBudget, poolShareBps: program.funding.poolShareBps },
      statements: summary.byStatus.map((s) => ({ status: s.status, count: Number(s.n), amount: BigInt(s.amount) })),
      tiers: program.tiers.map((t) => {
        const x = summary.byTier.find((b) => b.tier === t.name);
        return { tier: t.name, agents: Number(x?.n ?? 0), amount: BigInt(x?.amount ?? '0') };
      }),
    };
  }

  /** An agent's statements, tier and referrals: the agent itself and the operator only. */
  async agentRewards(viewer: Principal, agentId: string, limit: number) {
    if (!seesPrivateOf(viewer, agentId)) throw new AppError('forbidden', 'only the agent itself and the operator may read its rewards');
    if (!(await this.deps.agents.exists(agentId))) throw notFound('agent', agentId);
    const [rows, tier, referrals] = await Promise.all([repo.statementsOf(this.db, agentId, limit), repo.tierOf(this.db, agentId), repo.referralsBy(this.db, agentId)]);
    const { config } = await this.currentProgram(DEFAULT_PROGRAM_ID);
    const t = tier ? config.tiers.find((x) => x.name === tier.tier) ?? tierOf(config.tiers, tier.trust) : tierOf(config.tiers, 0);
    return {
      agentId,
      tier: { name: t.name, trust: tier?.trust ?? null, multiplier: t.multiplier, feeDiscountBps: t.feeDiscountBps, maxOpenAgreements: t.maxOpenAgreements, asOfEpoch: tier?.epoch_id ?? null },
      totalPaid: rows.filter((r) => r.status === 'paid' || r.status === 'released').reduce((a, r) => a + r.amount, 0n),
      totalHeld: rows.filter((r) => r.status === 'held').reduce((a, r) => a + r.amount, 0n),
      statements: rows.map((r) => ({
        epochId: r.epoch_id, number: r.number, programId: r.program_id, programVersion: r.program_version, startsAt: r.starts_at, endsAt: r.ends_at,
        amount: r.amount, status: r.status, tier: r.tier, trust: r.trust, transferId: r.transfer_id, paidAt: r.paid_at, detail: r.detail,
        // held while under risk review, then released or forfeited: when, by whom and why
        hold: ['held', 'released', 'forfeited'].includes(r.status)
          ? { state: r.status, heldAt: r.closed_at, decidedAt: r.decided_at, decidedBy: r.decided_by, reason: r.decision_reason }
          : null,
      })),
      referrals: referrals.map((r) => ({ referredId: r.referred_id, createdAt: r.created_at, paidAt: r.paid_at, epochId: r.epoch_id })),
    };
  }

  /** The operator funds the pool from the treasury. */
  async grant(amount: bigint, memo: string | null): Promise<{ transferId: string; amount: bigint; poolBalance: bigint }> {
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be positive', { errors: [{ field: 'body.amount', message: 'must be positive' }] });
    const id = uuidv7(this.clock);
    const [o] = await this.deps.ledger.pay([{ id, from: 'system:treasury', to: 'system:rewards', amount, code: 'reward_grant', reference: memo ?? 'rewards:grant' }], id);
    if (!o || o.status === 'rejected') throw new AppError('unprocessable', `the ledger rejected the grant: ${o?.code ?? 'unknown'}`);
    return { transferId: id, amount, poolBalance: await this.deps.ledger.poolBalance() };
  }

  // ------------------------------------------------------------------------------ royalties, referrals

  async royalties(listingId: string) {
    const rows = await repo.royalties(this.db, listingId);
    return { listingId, recipients: rows.map((r) => ({ agentId: r.recipient_id, bps: r.bps, reason: r.reason })) };
  }

  /** The listing's seller names its royalty recipients (registered agents, at most 10,000 bps in all, not itself). */
  async setRoyalties(viewer: Principal, listingId: string, recipients: { agentId: string; bps: number; reason?: string | undefined }[]) {
    const seller = this.deps.market ? await this.deps.market.listingSeller(listingId) : undefined;
    if (!seller) throw notFound('listing', listingId);
    if (!(viewer.kind === 'admin' || (viewer.kind === 'agent' && viewer.agentId === seller))) throw new AppError('forbidden', 'only the listing\'s seller may name its royalty recipients');
    const errors: { field: string; message: string }[] = [];
    const seen = new Set<string>();
    let total = 0;
    for (const [i, r] of recipients.entries()) {
      if (r.agentId === seller) errors.push({ field: `body.recipients.${i}.agentId`, message: 'is the seller' });
      if (seen.has(r.agentId)) errors.push({ field: `body.recipients.${i}.agentId`, message: 'appears twice' });
      seen.add(r.agentId);
      total += r.bps;
      if (!(await this.deps.agents.exists(r.agentId))) errors.push({ field: `body.recipients.${i}.agentId`, message: 'is not a registered agent' });
    }
    if (total > 10_000) errors.push({ field: 'body.recipients', message: 'shares sum to more than 10000 bps' });
    if (errors.length) throw new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
    await this.deps.database.transaction((tx) => repo.setRoyalties(tx, listingId, recipients.map((r) => ({ recipientId: r.agentId, bps: r.bps, reason: r.reason ?? 'royalty' })), this.clock.now()));
    return this.royalties(listingId);
  }

  /** An agent names who referred it, once, within 7 days of registering; paid when it reaches the program's trust threshold. */
  async setReferrer(viewer: Principal, agentId: string, referrerId: string) {
    if (!(viewer.kind === 'agent' && viewer.agentId === agentId)) throw new AppError('forbidden', 'only the agent itself names its referrer');
    if (referrerId === agentId) throw new AppError('validation_failed', 'an agent cannot refer itself', { errors: [{ field: 'body.referrerId', message: 'is the agent' }] });
    if (!(await this.deps.agents.exists(referrerId))) throw new AppError('validation_failed', 'the referrer is not a registered agent', { errors: [{ field: 'body.referrerId', message: 'not found' }] });
    const reg = (await this.deps.agents.registeredAt([agentId])).get(agentId);
    if (!reg || this.clock.now().getTime() - reg.getTime() > 7 * 86_400_000) throw new AppError('unprocessable', 'a referrer can be named only within 7 days of registering');
    const existing = await repo.referralOf(this.db, agentId);
    if (existing && existing.referrer_id !== referrerId) throw new AppError('conflict', 'a referrer is already named');
    if (!existing) await repo.insertReferral(this.db, agentId, referrerId, this.clock.now());
    const r = (await repo.referralOf(this.db, agentId))!;
    return { referredId: r.referred_id, referrerId: r.referrer_id, createdAt: r.created_at, paidAt: r.paid_at };
  }

  /**
   * A seller's tier (as of the latest epoch close; the lowest tier before any) and the most open agreements
   * the current program allows it (null: no limit), for trading to enforce (app.ts). Reads through `db`:
   * trading asks inside its own transaction.
   */
  async openAgreementLimitIn(db: Executor, agentId: string): Promise<{ tier: string; max: number | null }> {
    const versions = (await this.programs(db)).get(DEFAULT_PROGRAM_ID);
    const config = versions?.length ? versions[versions.length - 1]! : DEFAULT_CONFIG;
    const tier = await repo.tierOf(db, agentId);
    const t = tier ? config.tiers.find((x) => x.name === tier.tier) ?? tierOf(config.tiers, tier.trust) : tierOf(config.tiers, 0);
    return { tier: t.name, max: t.maxOpenAgreements };
  }
}
