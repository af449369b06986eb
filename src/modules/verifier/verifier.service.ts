/**
 * The built-in verifier: the platform's probe agent. It buys small challenge jobs from sellers through the
 * ordinary trade flow (a trade request with a `job`, a negotiation at the listing's price, escrow funding,
 * the delivery, then confirm or dispute), checks the delivered `resultDigest` against the digest it
 * computed itself (workloads.ts), and records a probe measurement: accuracy 1 for the right digest, else the
 * share of the job's items right when the seller also delivered `itemDigests` (graded, 0 without), the platform-measured
 * time from funding to delivery as the response time, and availability false when nothing was delivered
 * by the deadline.
 *
 * Two agents (made once, at first start, through the agents service): the buyer, which trades like any
 * consumer (a plausible persona, a random id, nothing in any API field marks it), and the probe, the
 * pre-trusted agent in whose name the measurements are recorded. A seller therefore sees probe evidence
 * from the probe and an ordinary trade with an ordinary buyer, never a link between the two.
 *
 * Money: the budget is the buyer's wallet (the ledger's balance is the truth), funded by the operator
 * (mint or transfer) and optionally by a share of platform fees. A challenge reserves its price first,
 * under a lock (one process: a mutex; PostgreSQL: also the verifier_state row, FOR UPDATE) that checks
 * (a) the wallet's available balance minus reservations not yet funded, and (b) the daily budget
 * (everything committed in the last 24 hours). Nothing is offered to a seller before its price is reserved.
 *
 * Length: one class, because identity, the budget lock and every step of a challenge (reserve, trade, fund,
 * check, probe evidence) share the state row's lock and the verifier's two agents; the pure parts are in
 * workloads.ts, selection.ts and persona.ts. The next seam is the SQL on the verifier's own tables (a
 * verifier.repository.ts).
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import type { Principal } from '../../platform/http/auth.js';
import { AppError } from '../../platform/http/errors.js';
import { uuidFromName, uuidv7 } from '../../platform/ids.js';
import { formatAmount } from '../../platform/money.js';
import type { AgentRegistration } from '../agents/agents.port.js';
import { SYSTEM_ACCOUNTS, walletAccountId, type Outcome, type WalletLedger, type Tx } from '../ledger/ledger.port.js';
import type { ReputationProbes } from '../reputation/index.js';
import { listingJson, type TradingFlow } from '../trading/trading.port.js';
import type { BackgroundJob } from '../module.js';
import { challengeResponseMs, gradeItems, jobDigest, workloadFor, type JobSpec, type Workload } from './workloads.js';
import { selectTargets, type Candidate, type Selected } from './selection.js';
import { personaFrom } from './persona.js';
import type { ChallengeState, VerifierChallengesTable } from './verifier.tables.js';
import type { Selectable } from 'kysely';

export type ChallengeRow = Selectable<VerifierChallengesTable>;

/** The verifier's defaults from the environment (src/config.ts parses them; app.ts passes them in). */
export interface VerifierDefaults {
  intervalSeconds: number;
  challengesPerRun: number;
  /** base units */
  maxPrice: bigint;
  /** base units */
  dailyBudget: bigint;
  feeShareBps: number;
  cooldownHours: number;
}

export interface VerifierDeps {
  database: Database;
  clock: Clock;
  /** registers the verifier's buyer and probe agents */
  agents: AgentRegistration;
  /** the budget wallet */
  ledger: WalletLedger;
  /** the trading flow each challenge goes through */
  trading: TradingFlow;
  /** whom to challenge (leaderboard), the probe and its evidence */
  reputation: ReputationProbes;
  defaults: VerifierDefaults;
  logger?: Logger | undefined;
}

/** What the operator may change at run time (GET/PUT /v1/admin/verifier). */
export interface VerifierConfig {
  enabled: boolean;
  challengesPerRun: number;
  /** base units */
  maxPrice: bigint;
  /** base units */
  dailyBudget: bigint;
  feeShareBps: number;
  cooldownHours: number;
  /** a record with fewer observations than this is thin (challenged more often, first after newcomers) */
  thinObservations: number;
  /** the least time between two challenges of a seller whose record is thin; set, thin records are topped up first (-1, the default: off) */
  thinCooldownHours: number;
  /** a challenge's request deadline (and so its delivery deadline), from its start */
  deadlineMinutes: number;
}

export interface Identity { buyerId: string; probeId: string }

/** Job sizes: a small job of each workload, drawn between half and twice these. */
const BASE_SIZE: Record<Workload, number> = { 'hash-chain': 2_000, 'reference-prompts': 8, 'record-set': 500 };
const DAY_MS = 86_400_000;
const STALE_CLAIM_MS = 60_000;
const OPEN: ChallengeState[] = ['reserved', 'negotiating', 'funded'];

export interface RunSummary {
  started: { challengeId: string; sellerId: string; listingId: string; reason: string; amount: string }[];
  funded: number;
  passed: number;
  failed: number;
  abandoned: number;
  /** sellers selected but not challenged, and why (budget, the trade flow refused) */
  skipped: { sellerId: string; reason: string }[];
  feeShareSwept: string;
}

export class VerifierService {
  readonly jobs: BackgroundJob[];
  private identity: Promise<Identity> | undefined;
  /** serialises budget decisions within this process (across processes: the state row's lock) */
  private lockChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: VerifierDeps) {
    this.jobs = [
      // made at first start (and checked once per process)
      { name: 'verifier.init', intervalMs: 1_000, run: () => this.ensure() },
      ...(deps.defaults.intervalSeconds > 0 ? [{
        name: 'verifier.run', intervalMs: deps.defaults.intervalSeconds * 1000,
        run: async () => { if ((await this.config()).enabled) await this.run(); },
      }] : []),
    ];
  }

  private get db() {
    return this.deps.database.db;
  }

  private random(n: number): Buffer {
    return (this.deps.clock.randomBytes ?? cryptoRandomBytes)(n);
  }

  private rng(): () => number {
    return () => this.random(4).readUInt32BE(0) / 2 ** 32;
  }

  // --------------------------------------------------------------------------------------- identity

  /** The verifier's agents, made once across restarts and processes (a claim on the state row). */
  ensure(): Promise<Identity> {
    this.identity ??= this.makeIdentity().catch((err: unknown) => { this.identity = undefined; throw err; });
    return this.identity;
  }

  private async makeIdentity(): Promise<Identity> {
    for (let attempt = 0; attempt < 600; attempt++) {
      const row = await this.db.selectFrom('verifier_state').selectAll().where('id', '=', 1).executeTakeFirst();
      if (row?.buyer_agent_id && row.probe_agent_id) {
        return { buyerId: row.buyer_agent_id, probeId: row.probe_agent_id };
      }
      const now = this.deps.clock.now();
      const claim = this.random(16).toString('hex');
      let mine = false;
      if (!row) {
        const r = await this.db.insertInto('verifier_state').values({ id: 1, claim, claimed_at: now, updated_at: now })
          .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
        mine = Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
      } else if (now.getTime() - row.claimed_at.getTime() > STALE_CLAIM_MS) {
        // the process that claimed it did not finish: take over (keeping an agent it already made)
        const r = await this.db.updateTable('verifier_state').set({ claim, claimed_at: now }).where('id', '=', 1).where('claim', '=', row.claim).executeTakeFirst();
        mine = Number(r.numUpdatedRows) > 0;
      }
      if (mine) {
        let buyerId = row?.buyer_agent_id ?? null;
        if (!buyerId) {
          buyerId = (await this.deps.agents.register(personaFrom(this.random(8)))).agent.id;
          await this.db.updateTable('verifier_state').set({ buyer_agent_id: buyerId, updated_at: now }).where('id', '=', 1).where('claim', '=', claim).execute();
        }
        const probeId = (await this.deps.agents.register({ displayName: 'Platform probe', type: 'consumer', country: 'DE', region: 'eu-west', categories: [] })).agent.id;
        await this.db.updateTable('verifier_state').set({ probe_agent_id: probeId, updated_at: now }).where('id', '=', 1).where('claim', '=', claim).execute();
        continue; // read back what was stored
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new AppError('service_unavailable', 'the verifier\'s agents are being created by another process; retry shortly');
  }

  // ----------------------------------------------------------------------------------------- config

  async config(): Promise<VerifierConfig> {
    const d = this.deps.defaults;
    const row = await this.db.selectFrom('verifier_state').select('config').where('id', '=', 1).executeTakeFirst();
    const o = (row?.config ?? {}) as Record<string, unknown>;
    const n = (k: string, def: number) => (typeof o[k] === 'number' ? o[k] as number : def);
    const amt = (k: string, def: bigint) => (typeof o[k] === 'string' ? BigInt(o[k] as string) : def);
    return {
      enabled: typeof o.enabled === 'boolean' ? o.enabled : true,
      challengesPerRun: n('challengesPerRun', d.challengesPerRun), maxPrice: amt('maxPrice', d.maxPrice), dailyBudget: amt('dailyBudget', d.dailyBudget),
      feeShareBps: n('feeShareBps', d.feeShareBps), cooldownHours: n('cooldownHours', d.cooldownHours),
      thinObservations: n('thinObservations', 10), thinCooldownHours: n('thinCooldownHours', -1), deadlineMinutes: n('deadlineMinutes', 120),
    };
  }

  async updateConfig(patch: Partial<VerifierConfig>): Promise<VerifierConfig> {
    await this.ensure();
    const row = await this.db.selectFrom('verifier_state').select('config').where('id', '=', 1).executeTakeFirstOrThrow();
    const next: Record<string, unknown> = { ...(row.config as Record<string, unknown>) };
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) next[k] = typeof v === 'bigint' ? v.toString() : v;
    await this.db.updateTable('verifier_state').set({ config: JSON.stringify(next), updated_at: this.deps.clock.now() }).where('id', '=', 1).execute();
    return this.config();
  }

  // ----------------------------------------------------------------------------------------- budget

  /** Runs `fn` holding the verifier's budget lock (in this process, and on PostgreSQL across processes). */
  private withLock<T>(fn: (tx: Tx | null) => Promise<T>): Promise<T> {
    const run = this.lockChain.then(() => (this.deps.database.kind === 'postgres'
      ? this.deps.database.transaction(async (tx) => {
        await tx.selectFrom('verifier_state').select('id').where('id', '=', 1).forUpdate().execute();
        return fn(tx);
      })
      : fn(null)));
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  /** The wallet (ledger truth) and what is committed: reservations not yet funded, and the last 24 hours. */
  private async position(buyerId: string, exec: Tx | null) {
    const acct = await this.deps.ledger.getAccount(walletAccountId(buyerId));
    const balance = acct ? acct.credits_posted - acct.debits_posted : 0n;
    const available = acct ? balance - acct.debits_pending : 0n;
    const since = new Date(this.deps.clock.now().getTime() - DAY_MS);
    const rows = await (exec ?? this.db).selectFrom('verifier_challenges').select(['amount', 'state', 'created_at'])
      .where((eb) => eb.or([eb('state', 'in', ['reserved', 'negotiating']), eb.and([eb('created_at', '>', since), eb('state', '!=', 'abandoned')])]))
      .execute();
    let reserved = 0n;
    let committed24h = 0n;
    for (const r of rows) {
      if (r.state === 'reserved' || r.state === 'negotiating') reserved += r.amount;
      if (r.created_at.getTime() > since.getTime() && r.state !== 'abandoned') committed24h += r.amount;
    }
    return { balance, available, reserved, committed24h };
  }

  async budget(limit = 50) {
    const id = await this.ensure();
    const cfg = await this.config();
    const pos = await this.position(id.buyerId, null);
    const totals = await this.db.selectFrom('verifier_challenges').select(['state', (eb) => eb.fn.countAll<bigint>().as('n'), (eb) => eb.fn.sum<bigint>('amount').as('amount')])
      .groupBy('state').execute();
    const history = await this.db.selectFrom('verifier_challenges').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    const ledger = await this.deps.ledger.walletHistory(id.buyerId, { limit });
    const state = await this.db.selectFrom('verifier_state').select('fee_share_swept').where('id', '=', 1).executeTakeFirstOrThrow();
    const headroom = [cfg.dailyBudget - pos.committed24h, pos.available - pos.reserved].reduce((a, b) => (a < b ? a : b));
    return {
      agentId: id.buyerId, probeId: id.probeId,
      balance: formatAmount(pos.balance), available: formatAmount(pos.available), reserved: formatAmount(pos.reserved),
      dailyBudget: formatAmount(cfg.dailyBudget), committedLast24h: formatAmount(pos.committed24h), remaining: formatAmount(headroom > 0n ? headroom : 0n),
      feeShare: { bps: cfg.feeShareBps, swept: formatAmount(BigInt(state.fee_share_swept)) },
      challenges: Object.fromEntries(totals.map((t) => [t.state, { count: Number(t.n), amount: formatAmount(BigInt(t.amount ?? 0)) }])),
      history: history.map(challengeJson),
      ledger: ledger.map((h) => ({
        transferId: h.transferId, code: h.code, direction: h.side === 'credit' ? 'in' : 'out', counterparty: h.counterpartyKey,
        amount: formatAmount(h.postedDelta < 0n ? -h.postedDelta : h.postedDelta), held: formatAmount(h.pendingDelta),
        balanceAfter: formatAmount(h.balanceAfter), reference: h.reference, createdAt: h.createdAt.toISOString(),
      })),
    };
  }

  /** The operator funds the budget: a mint from the treasury, or a transfer out of the fee account. */
  async fund(input: { amount: bigint; id?: string | undefined; source: 'mint' | 'fees'; memo?: string | undefined }): Promise<Outcome> {
    const id = await this.ensure();
    const [o] = await this.deps.ledger.execute([{
      id: input.id ?? uuidv7(this.deps.clock), kind: 'posted', debitAccountId: input.source === 'mint' ? SYSTEM_ACCOUNTS.treasury : SYSTEM_ACCOUNTS.fees,
      creditAccountId: walletAccountId(id.buyerId), amount: input.amount, code: input.source === 'mint' ? 'mint' : 'fee_share', reference: input.memo ?? 'verifier budget',
    }]);
    return o!;
  }

  /** Sweeps `feeShareBps` of all fees ever collected (less what was swept before) into the budget. */
  private async sweepFeeShare(cfg: VerifierConfig, id: Identity): Promise<bigint> {
    if (cfg.feeShareBps <= 0) return 0n;
    return this.withLock(async (tx) => {
      const exec = tx ?? this.db;
      const st = await exec.selectFrom('verifier_state').select('fee_share_swept').where('id', '=', 1).executeTakeFirstOrThrow();
      const fees = await this.deps.ledger.getAccount(SYSTEM_ACCOUNTS.fees);
      const target = ((fees?.credits_posted ?? 0n) * BigInt(cfg.feeShareBps)) / 10_000n;
      const swept = BigInt(st.fee_share_swept);
      if (target <= swept) return 0n;
      // the id names the cumulative target: a retry after a crash finds the transfer instead of paying twice
      const [o] = await this.deps.ledger.execute([{
        id: uuidFromName(`verifier:fee-share:${target}`), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.fees,
        creditAccountId: walletAccountId(id.buyerId), amount: target - swept, code: 'fee_share', reference: 'verifier budget: share of fees',
      }]);
      if (o?.status === 'rejected') return 0n;
      await exec.updateTable('verifier_state').set({ fee_share_swept: target, updated_at: this.deps.clock.now() }).where('id', '=', 1).execute();
      return target - swept;
    });
  }

  // -------------------------------------------------------------------------------------------- run

  /** One pass: sweep the fee share, move the challenges in flight on, then start new ones. */
  async run(opts: { sellerIds?: string[] | undefined } = {}): Promise<RunSummary> {
    const id = await this.ensure();
    const cfg = await this.config();
    const summary: RunSummary = { started: [], funded: 0, passed: 0, failed: 0, abandoned: 0, skipped: [], feeShareSwept: '0' };
    summary.feeShareSwept = formatAmount(await this.sweepFeeShare(cfg, id));
    const open = await this.db.selectFrom('verifier_challenges').selectAll().where('state', 'in', OPEN).orderBy('created_at').execute();
    for (const ch of open) {
      const r = await this.advance(id, ch).catch((err: unknown) => { this.deps.logger?.warn({ err, challenge: ch.id }, 'verifier: could not advance a challenge'); return null; });
      if (r) summary[r]++;
    }
    // nothing to spend (an unfunded verifier, or the day's budget used up): no need to look at the market
    const pos = await this.position(id.buyerId, null);
    if (cfg.challengesPerRun === 0 || pos.available - pos.reserved <= 0n || pos.committed24h >= cfg.dailyBudget) return summary;
    const targets = selectTargets(await this.candidates(id, opts.sellerIds), {
      count: cfg.challengesPerRun, now: this.deps.clock.now().getTime(), maxPrice: cfg.maxPrice, cooldownMs: cfg.cooldownHours * 3600_000,
      thinObservations: cfg.thinObservations, thinCooldownMs: cfg.thinCooldownHours >= 0 ? cfg.thinCooldownHours * 3600_000 : undefined,
    }, this.rng());
    for (const t of targets) {
      const r = await this.start(id, cfg, t).catch((err: unknown) => ({ skipped: err instanceof AppError ? err.message : 'failed' }));
      if ('skipped' in r) summary.skipped.push({ sellerId: t.sellerId, reason: r.skipped });
      else {
        summary.started.push({ challengeId: r.challenge.id, sellerId: t.sellerId, listingId: t.listingId, reason: t.reason, amount: formatAmount(r.challenge.amount) });
        if (r.funded) summary.funded++;
      }
    }
    return summary;
  }

  /** Sellers with an active listing that has a free unit, with what selection needs to know about them. */
  private async candidates(id: Identity, only: string[] | undefined): Promise<Candidate[]> {
    const now = this.deps.clock.now().getTime();
    const admin: Principal = { kind: 'admin' };
    const listings = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const r = await this.deps.trading.market.listListings({ status: 'active', limit: 200, cursor });
      listings.push(...r.rows);
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    const usable = listings.filter((l) => l.seller_id !== id.buyerId && l.seller_id !== id.probeId && (!only || only.includes(l.seller_id))
      && l.valid_until.getTime() > now + 3600_000 && l.valid_from.getTime() <= now && listingJson(l, admin).capacity.available >= 1);
    const sellers = [...new Set(usable.map((l) => l.seller_id))];
    if (sellers.length === 0) return [];
    const board = new Map((await this.deps.reputation.leaderboard({})).map((e) => [e.agentId, e]));
    const last = await this.db.selectFrom('verifier_challenges').select(['seller_id', 'state', 'created_at', 'score_at_start'])
      .where('seller_id', 'in', sellers).orderBy('created_at', 'desc').execute();
    const lastOf = new Map<string, { at: number; score: number | null; inFlight: boolean }>();
    for (const r of last) {
      const cur = lastOf.get(r.seller_id);
      const inFlight = OPEN.includes(r.state);
      if (!cur) lastOf.set(r.seller_id, { at: r.created_at.getTime(), score: r.score_at_start, inFlight });
      else if (inFlight) cur.inFlight = true;
    }
    return usable.map((l) => {
      const b = board.get(l.seller_id);
      const lo = lastOf.get(l.seller_id);
      return {
        sellerId: l.seller_id, listingId: l.id, category: l.category, pricePerUnit: l.price_per_unit, listedAt: l.created_at.getTime(),
        observations: b?.observations ?? 0, score: b?.trustScore ?? 0, last: lo ? { at: lo.at, score: lo.score } : null, inFlight: lo?.inFlight ?? false,
      };
    });
  }

  private async start(id: Identity, cfg: VerifierConfig, t: Selected): Promise<{ challenge: ChallengeRow; funded: boolean } | { skipped: string }> {
    const workload = workloadFor(t.category);
    const base = BASE_SIZE[workload];
    const job: JobSpec = { workload, seed: this.random(16).toString('hex'), size: Math.max(1, Math.round(base / 2 + this.rng()() * base * 1.5)) };
    const amount = t.pricePerUnit; // one unit
    const now = this.deps.clock.now();
    const challengeId = uuidv7(this.deps.clock);
    // reserve the price under the budget lock before anything is offered to the seller
    const reserved = await this.withLock(async (tx) => {
      const busy = await (tx ?? this.db).selectFrom('verifier_challenges').select('id').where('seller_id', '=', t.sellerId).where('state', 'in', OPEN).executeTakeFirst();
      if (busy) return 'a challenge of this seller is in flight';
      const pos = await this.position(id.buyerId, tx);
      if (pos.available - pos.reserved < amount) return `the budget wallet has ${formatAmount(pos.available - pos.reserved)} AITBC free, the listing costs ${formatAmount(amount)}`;
      if (pos.committed24h + amount > cfg.dailyBudget) return `the daily budget of ${formatAmount(cfg.dailyBudget)} AITBC is used up (${formatAmount(pos.committed24h)} committed)`;
      await (tx ?? this.db).insertInto('verifier_challenges').values({
        id: challengeId, seller_id: t.sellerId, listing_id: t.listingId, request_id: null, negotiation_id: null, agreement_id: null,
        workload, seed: job.seed, size: job.size, expected_digest: jobDigest(job), amount, state: 'reserved', result: JSON.stringify(null),
        score_at_start: Math.round(t.score), created_at: now, updated_at: now, finished_at: null,
      }).execute();
      return null;
    });
    if (reserved !== null) return { skipped: reserved };
    let row = await this.getChallenge(challengeId);
    const buyer: Principal = { kind: 'agent', agentId: id.buyerId };
    try {
      const listing = await this.deps.trading.market.getListing(t.listingId);
      const spec = listing.spec as { gpuModel?: string; modelName?: string };
      const { row: request } = await this.deps.trading.market.createRequest(id.buyerId, {
        category: listing.category as never, quantity: 1, budgetMax: listing.price_per_unit,
        spec: { ...(spec.gpuModel ? { acceptedGpuModels: [spec.gpuModel] } : {}), ...(spec.modelName ? { modelName: spec.modelName } : {}) },
        deadline: new Date(now.getTime() + cfg.deadlineMinutes * 60_000), job,
      });
      row = await this.setChallenge(row, { request_id: request.id, state: 'negotiating' });
      const n = await this.deps.trading.negotiations.createNegotiation(id.buyerId, {
        listingId: listing.id, requestId: request.id, offer: { pricePerUnit: listing.price_per_unit, quantity: 1, settlementType: 'escrow' },
      });
      row = await this.setChallenge(row, { negotiation_id: n.row.id, agreement_id: n.row.agreement_id });
      if (n.row.agreement_id) {
        row = await this.fundChallenge(buyer, row, n.row.agreement_id);
        return { challenge: row, funded: row.state === 'funded' };
      }
      return { challenge: row, funded: false };
    } catch (err) {
      await this.abandon(buyer, row, err instanceof AppError ? err.message : 'the trade could not be started');
      throw err;
    }
  }

  private getChallenge(id: string): Promise<ChallengeRow> {
    return this.db.selectFrom('verifier_challenges').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** Updates a challenge; with `from`, only if it is still in that state (null when another run moved it). */
  private async setChallenge(row: ChallengeRow, set: Partial<Omit<ChallengeRow, 'result'>> & { result?: Record<string, unknown> }, from?: ChallengeState): Promise<ChallengeRow> {
    const { result, ...rest } = set;
    let q = this.db.updateTable('verifier_challenges').set({ ...rest, ...(result ? { result: JSON.stringify(result) } : {}), updated_at: this.deps.clock.now() })
      .where('id', '=', row.id);
    if (from) q = q.where('state', '=', from);
    const out = await q.returningAll().executeTakeFirst();
    if (!out) throw new ChallengeMoved();
    return out;
  }

  private async fundChallenge(buyer: Principal, row: ChallengeRow, agreementId: string): Promise<ChallengeRow> {
    await this.deps.trading.agreements.fund(buyer, agreementId);
    return this.setChallenge(row, { agreement_id: agreementId, state: 'funded' });
  }

  private async abandon(buyer: Principal, row: ChallengeRow, reason: string): Promise<void> {
    if (row.request_id) await this.deps.trading.market.cancelRequest(buyer, row.request_id).catch(() => undefined);
    await this.setChallenge(row, { state: 'abandoned', finished_at: this.deps.clock.now(), result: { reason } }).catch(() => undefined);
  }

  /** Moves one challenge on: fund an agreed negotiation, check a delivery, note a refund or a dead negotiation. */
  private async advance(id: Identity, row: ChallengeRow): Promise<'funded' | 'passed' | 'failed' | 'abandoned' | null> {
    const buyer: Principal = { kind: 'agent', agentId: id.buyerId };
    const now = this.deps.clock.now();
    try {
      if (row.state === 'reserved') {
        // a run that stopped between reserving and opening the trade
        if (now.getTime() - row.created_at.getTime() < 10 * 60_000) return null;
        await this.abandon(buyer, row, 'the trade was never opened');
        return 'abandoned';
      }
      if (row.state === 'negotiating') {
        if (!row.negotiation_id) {
          if (now.getTime() - row.updated_at.getTime() < 10 * 60_000) return null;
          await this.abandon(buyer, row, 'the negotiation was never opened');
          return 'abandoned';
        }
        const n = await this.deps.trading.negotiations.getNegotiation(buyer, row.negotiation_id);
        if (n.row.status === 'open') return null;
        if (n.row.status === 'agreed' && n.row.agreement_id) {
          const a = await this.deps.trading.agreements.getAgreement(buyer, n.row.agreement_id);
          if (a.row.state === 'pending_funding') {
            await this.fundChallenge(buyer, row, n.row.agreement_id);
            return 'funded';
          }
        }
        await this.abandon(buyer, row, `the seller did not agree (negotiation ${n.row.status})`);
        return 'abandoned';
      }
      if (row.state !== 'funded' || !row.agreement_id) return null;
      const { row: a } = await this.deps.trading.agreements.getAgreement(buyer, row.agreement_id);
      if (a.state === 'funded' || a.state === 'pending_funding') return null;
      return await this.check(id, row, a);
    } catch (err) {
      if (err instanceof ChallengeMoved) return null; // another run (or process) moved it first
      throw err;
    }
  }

  /** A delivery (or its absence) is judged: the digest, the response time; then confirm or reject, and the probe evidence. */
  private async check(id: Identity, row: ChallengeRow, a: { id: string; state: string; delivery: unknown; delivery_deadline: Date; quantity: number }): Promise<'passed' | 'failed'> {
    const buyer: Principal = { kind: 'agent', agentId: id.buyerId };
    const now = this.deps.clock.now();
    const job: JobSpec = { workload: row.workload as Workload, seed: row.seed, size: row.size };
    const d = (a.delivery ?? null) as { resultDigest?: string; itemDigests?: unknown; platform?: { deliveryMs?: number | null; fundedAt?: string | null } } | null;
    const delivered = d !== null;
    // the verifier does the job itself (it stored the digest at the start; recomputing it times the workload),
    // timed on the service's clock, the clock the turnaround is measured on: wall time in a server, none under
    // a virtual clock (the simulator, tests), where the turnaround holds no real compute either (deterministic)
    const t0 = this.deps.clock.now().getTime();
    const expected = jobDigest(job);
    const computeMs = this.deps.clock.now().getTime() - t0;
    const pass = delivered && typeof d.resultDigest === 'string' && d.resultDigest.toLowerCase() === expected;
    // graded: the share of the job's items right when the seller delivered item digests; all or nothing otherwise
    const graded = delivered && Array.isArray(d.itemDigests) ? gradeItems(job, d.itemDigests) : null;
    const accuracy = pass ? 1 : graded && graded.total > 0 ? graded.right / graded.total : 0;
    const fundedAt = d?.platform?.fundedAt ? Date.parse(d.platform.fundedAt) : row.updated_at.getTime();
    // the platform's measurement of the delivery; without one, how long the verifier waited
    const turnaroundMs = d?.platform?.deliveryMs ?? Math.max(0, Math.min(now.getTime(), a.delivery_deadline.getTime()) - fundedAt);
    // on the latency curve's scale: the workload's own time off, per prompt for inference (workloads.ts)
    const responseMs = delivered ? challengeResponseMs(job, turnaroundMs, computeMs) : turnaroundMs;
    const reason = !delivered ? 'not_delivered' : d.resultDigest === undefined ? 'missing_digest' : pass ? 'digest_ok' : 'wrong_digest';
    // claim the verdict first (a concurrent run finds the challenge moved and stops)
    const moved = await this.setChallenge(row, { state: pass ? 'passed' : 'failed', finished_at: now, result: { reason, responseMs, turnaroundMs, computeMs, delivered, agreementState: a.state, ...(graded ? { itemsRight: graded.right, items: graded.total } : {}) } }, 'funded');
    if (a.state === 'delivered') {
      if (pass) await this.deps.trading.agreements.confirm(buyer, a.id, { measurements: { accepted: true } });
      else {
        await this.deps.trading.agreements.dispute(buyer, a.id, {
          reason: d?.resultDigest === undefined ? 'no result was delivered for the job' : 'the delivered result does not match the job', measurements: { accepted: false, accuracy },
        });
      }
    }
    // pre-trusted from its first measurement on (as PUT /v1/reputation/probes/{id}; idempotent): a verifier
    // that never measured anything leaves the trust graph's seed as the operator configured it
    await this.deps.reputation.addProbe(id.probeId);
    await this.deps.reputation.submitEvidence({ kind: 'agent', agentId: id.probeId }, {
      type: 'probe', agentId: moved.seller_id, responseMs, available: delivered, accuracy,
    });
    return pass ? 'passed' : 'failed';
  }

  /** Verdicts of challenges bought from this seller that finished since `sinceMs` (certification, badges), oldest first. */
  async resultsFor(sellerId: string, sinceMs: number): Promise<{ state: 'passed' | 'failed'; finishedAtMs: number }[]> {
    const rows = await this.db.selectFrom('verifier_challenges').select(['state', 'finished_at']).where('seller_id', '=', sellerId)
      .where('state', 'in', ['passed', 'failed']).where('finished_at', '>=', new Date(sinceMs)).orderBy('finished_at').execute();
    return rows.map((r) => ({ state: r.state as 'passed' | 'failed', finishedAtMs: r.finished_at!.getTime() }));
  }

  async listChallenges(q: { sellerId?: string | undefined; limit: number }): Promise<ChallengeRow[]> {
    let s = this.db.selectFrom('verifier_challenges').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit);
    if (q.sellerId) s = s.where('seller_id', '=', q.sellerId);
    return s.execute();
  }
}

class ChallengeMoved extends Error {}

export function challengeJson(c: ChallengeRow) {
  return {
    id: c.id, sellerId: c.seller_id, listingId: c.listing_id, requestId: c.request_id, negotiationId: c.negotiation_id, agreementId: c.agreement_id,
    workload: c.workload, size: c.size, amount: formatAmount(c.amount), state: c.state, result: (c.result ?? null) as Record<string, unknown> | null,
    createdAt: c.created_at.toISOString(), finishedAt: c.finished_at ? c.finished_at.toISOString() : null,
  };
}
