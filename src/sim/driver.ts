/**
 * The market simulation: a seeded population of agents acting through the public API, hour by
 * simulated hour. Providers list; buyers request, take the engine's top match, negotiate (delegated
 * on both sides), fund; providers deliver or fail according to their hidden quality; buyers confirm or
 * dispute; the operator resolves disputes; parties rate each other. Attackers do what attackers do.
 * Virtual time: in-process runs advance a ManualClock and run the service's background jobs each hour.
 *
 * Determinism: every decision comes from seeded generators and runs in a fixed order, so the same seed
 * gives the same market outcomes (one generator, `rng`, drawn from in the order the steps below run:
 * reordering draws changes the market). Wall-clock timings (API latency, settlement processing time)
 * are reported separately and naturally vary.
 *
 * Layout: `MarketRun`, one method per step of the schedule (its `run()` reads as the schedule); the trades'
 * life cycle from agreement to settlement is trades.ts.
 * Length: past 400 lines because the steps share the run's state and one generator; splitting them
 * further would pass that state around.
 */
import { mulberry32, type Rng } from '../platform/rng.js';
import type { Category } from '../modules/trading/trading.types.js';
import { CATEGORY_COST, MALICIOUS_KINDS, SPEC, UNIT, demandAt, generatePopulation, type SimProvider, type SimRegion } from './population.js';
import { initialDemand, populationParams, type Scenario, type World } from './scenarios.js';
import { expectStatus, type Transport } from './transport.js';
import { Spool } from './spool.js';
import { REGION_COUNTRY, type SimAgentRecord, type SimRequestRecord, type SimTradeRecord } from './metrics.js';
import { HOUR, TradeDesk, fmt8, priceOf, type LiveBuyer, type LiveProvider } from './trades.js';
import { simulatedItems, type JobSpec } from '../modules/verifier/workloads.js';
import { Certifier, buyerMeasurements, type CertificationStats } from './certify.js';
import type { CertificationSummary, LoggedTrade } from './checks.js';
import { certificationReadout, marketDataCheck, rewardsReadout, riskReadout, verifierTrades, type MarketDataCheck, type RewardsReadout, type RiskReadout } from './readouts.js';

export interface SimOptions {
  agents: number;
  days: number;
  seed: number;
  scenario: Scenario;
  adminKey: string;
  /** Requests per buyer per day on average (demand scale). */
  requestsPerBuyerDay?: number;
  /** Advances virtual time by `ms` and runs the service's background jobs (in-process runs). */
  advance?: (ms: number) => Promise<void>;
  /**
   * Advances virtual time by `ms` without running jobs (in-process runs): a seller's response time within
   * the simulated hour, so the platform measures a challenge's delivery time as the seller's latency.
   */
  tick?: (ms: number) => void;
  /** Current virtual time. */
  now: () => Date;
  onProgress?: (p: SimProgress) => void;
  /** Control run: the same market with the scenario's attackers never arriving. */
  withoutAttackers?: boolean;
  /** Providers prove their keys, send hourly heartbeats and apply for certification; buyers report measurements. */
  certification?: boolean;
}

/** The service's subsystems read at the end of the run and set against what the simulation knows (checks.ts). */
export interface SimChecks {
  /** the trade log (with the verifier's trades) against GET /v1/market/overview and /prices */
  marketData: MarketDataCheck;
  /** the risk detectors' alerts against the known attackers */
  risk: RiskReadout;
  /** rewards paid against fees, per kind of agent */
  rewards: RewardsReadout;
  /** certification levels against hidden quality (certification runs), or why not */
  certification: (CertificationSummary & { activity: CertificationStats }) | { notRun: string };
}


/**
 * Progress after each simulated hour, and once more (`final`) after the open trades have settled at the
 * end: its counts are then the report's (`agreements`: funded; `settled`: trade records, all outcomes).
 */
export interface SimProgress { day: number; hour: number; requests: number; agreements: number; settled: number; calls: number; final?: boolean }

export interface SimResult {
  requests: SimRequestRecord[];
  trades: SimTradeRecord[];
  agents: SimAgentRecord[];
  mintedVolume: number;
  /** Agreements funded (each settles into one trade record). */
  agreements: number;
  ledger: { ok: boolean; violations: string[] };
  calls: number;
  errors: string[];
  /** Day the attackers joined (0: from the start). */
  attackersFromDay: number;
  /** The built-in verifier in this market: what it was given, what it spent, what its challenges found. */
  verifier: SimVerifierRecord;
  checks: SimChecks;
}

/**
 * The built-in verifier's part in a run (from GET /v1/admin/verifier/budget at the end). Amounts in AITBC.
 * `spent` is what left its wallet for good (funded less balance: challenges paid to sellers); `held` is
 * in escrows still open; refunds of failed challenges came back.
 */
export interface SimVerifierRecord {
  used: true;
  funded: number;
  dailyBudget: number;
  /** the budget over the run: dailyBudget x days */
  budget: number;
  spent: number;
  held: number;
  balance: number;
  challengesPerRun: number;
  cooldownHours: number;
  maxPrice: number;
  /** challenges by final state: passed, failed (probe recorded), abandoned (no trade), in flight */
  challenges: { passed: number; failed: number; abandoned: number; inFlight: number };
  /** failed challenges by reason (not_delivered, wrong_digest, missing_digest) */
  failedBy: Record<string, number>;
  /** challenge deliveries the simulated sellers made, and how many carried the right digest */
  answered: number;
  answeredCorrectly: number;
}

export async function runSimulation(api: Transport, o: SimOptions): Promise<SimResult> {
  // The run's log is spooled to disk (read back at the end), so it does not count as the service's heap.
  const logs = { requests: new Spool<SimRequestRecord>('requests'), trades: new Spool<SimTradeRecord>('trades') };
  try {
    return await new MarketRun(api, o, logs).run();
  } catch (err) {
    logs.requests.discard();
    logs.trades.discard();
    throw err;
  }
}


/** What a buyer asked for in one trade request. */
interface Ask {
  category: Category;
  quantity: number;
  maxPrice: number;
}

/**
 * The built-in verifier's settings in the simulation: each provider about every other day (cooldown), at most
 * `challengesPerRun` a simulated hour (it runs hourly with the service's jobs), any listing up to maxPrice per unit.
 */
const VERIFIER_COOLDOWN_HOURS = 48;
const VERIFIER_MAX_PRICE = 40;
/** The escrow's default platform fee (2.5%), at which the report states what each kind of agent paid in fees. */
const PLATFORM_FEE_RATE = 0.025;

/**
 * One run of the market. `run()` reads as the schedule: set up the population, then each simulated day
 * (arrivals, the leaderboard, 24 hours of demand, attacks, the verifier's challenges and open trades moving on, repricing,
 * whitewashing), then the settling of what is still open, then the records.
 */
class MarketRun {
  private readonly rng: Rng;
  private readonly world: World;
  private readonly admin: string;
  /** Virtual time at the start of the run. */
  private readonly start: number;
  private readonly errors: string[] = [];
  /** Agreements from funding to settlement. */
  private readonly desk: TradeDesk;
  private minted = 0;
  private calls0 = 0;
  private readonly perBuyerDay: number;
  private readonly carefulShare: number;
  private readonly minTrust: number;
  /** Chance per simulated hour that a wash trader or Sybil rater makes one of its trades. */
  private readonly attackRate: number;
  /** Attackers arrive on this day (capped at half the run, so short runs see them too). */
  private readonly joinDay: number;
  /** On-off milkers turn halfway through their own stay. */
  private readonly milkFromDay: number;
  /** Attackers that join on `joinDay` (none when they are there from the start, or never come). */
  private readonly arriving: SimProvider[];
  private readonly providers: LiveProvider[] = [];
  private readonly providerByAgent = new Map<string, LiveProvider>();
  private readonly byCategory = new Map<Category, LiveProvider[]>();
  /**
   * The market's leaders by category, read once a simulated day from the public leaderboard: Sybil raters
   * bad-mouth the competitors that matter (as in the reputation benchmark, the top honest sellers).
   */
  private readonly leaders = new Map<Category, LiveProvider[]>();
  private readonly buyers: LiveBuyer[] = [];
  /** Agreements of buyers outside the simulation (the built-in verifier's challenges) already handled. */
  private readonly foreignHandled = new Set<string>();
  private verifierFunded = 0;
  /** The built-in verifier's buying agent: the one buyer outside the simulation. */
  private verifierId = '';
  private verifierDaily = 0;
  private verifierPerRun = 0;
  private answered = 0;
  private answeredCorrectly = 0;
  /** the simulation's own agents (its buyers and providers, every identity) */
  private readonly ownAgents = new Set<string>();
  /** every identity's kind (provider kinds, 'buyer'): the truth the risk alerts are scored against */
  private readonly kindOf = new Map<string, string>();
  /** the first member of each attack ring to join (the referrer its Sybils name in a referral attack) */
  private readonly ringReferrer = new Map<number, string>();
  private readonly certifier: Certifier | null;
  /** identities given up (whitewashers'), with their category */
  private readonly retired = new Map<string, string>();

  constructor(
    private readonly api: Transport,
    private readonly o: SimOptions,
    private readonly logs: { requests: Spool<SimRequestRecord>; trades: Spool<SimTradeRecord> },
  ) {
    this.rng = mulberry32(o.seed ^ 0x5eed);
    const pop = generatePopulation(populationParams(o.scenario, o.agents, o.seed));
    this.world = { providers: pop.providers, buyers: pop.buyers, demand: initialDemand() };
    this.admin = o.adminKey;
    this.start = o.now().getTime();
    this.perBuyerDay = o.requestsPerBuyerDay ?? 0.15;
    this.carefulShare = o.scenario.buyers?.carefulShare ?? 0.9;
    this.minTrust = o.scenario.buyers?.minTrustScore ?? 100;
    this.attackRate = (o.scenario.attacksPerDay ?? 1) / 24;
    this.joinDay = Math.min(o.scenario.attackersJoinDay ?? 0, Math.floor(o.days / 2));
    this.milkFromDay = this.joinDay + Math.floor((o.days - this.joinDay) / 2);
    const attackers = this.world.providers.filter((s) => MALICIOUS_KINDS.has(s.kind));
    this.arriving = o.withoutAttackers || this.joinDay === 0 ? [] : attackers;
    this.desk = new TradeDesk({
      api, rng: this.rng, adminKey: o.adminKey, virtualTime: o.advance !== undefined, errors: this.errors, trades: logs.trades,
      isMalicious: (p, day) => this.isMalicious(p, day), ...(o.certification ? { measure: buyerMeasurements } : {}),
    });
    this.certifier = o.certification ? new Certifier(api, o.seed, this.errors) : null;
  }

  async run(): Promise<SimResult> {
    await this.populate();
    this.calls0 = this.api.latencies.length;
    for (let day = 0; day < this.o.days; day++) await this.simulateDay(day);
    await this.settleOpenTrades();
    this.progress(this.o.days - 1, 23, true);
    const agents = await this.agentRecords();
    const audit = expectStatus(await this.api.call<{ ok: boolean; violations: string[] }>('GET', '/v1/admin/ledger/audit', { key: this.admin }), 'audit', 200);
    const verifier = await this.verifierRecord();
    const requests = this.logs.requests.readAll();
    const trades = this.logs.trades.readAll();
    return {
      requests, trades, agents, mintedVolume: this.minted, agreements: this.desk.agreements,
      ledger: { ok: audit.ok, violations: audit.violations }, calls: this.api.latencies.length - this.calls0, errors: this.errors, attackersFromDay: this.joinDay,
      verifier, checks: await this.checks(trades),
    };
  }

  /** The service's market data, risk alerts, rewards and certificates at the end, against what the simulation knows. */
  private async checks(trades: readonly SimTradeRecord[]): Promise<SimChecks> {
    const categoryOf = (id: string) => this.providerByAgent.get(id)?.spec.category ?? this.retired.get(id);
    const own: LoggedTrade[] = trades.map((t) => ({ quantity: t.quantity ?? 0, price: t.price ?? '0', released: t.released ?? '0', settledAt: t.settledAt ?? null, category: t.category, sellerId: t.sellerId }));
    const challenges = await verifierTrades(this.api, this.admin, this.verifierId, categoryOf);
    const end = this.o.now().getTime() + 1;
    const marketData = await marketDataCheck(this.api, { from: this.start, to: end, trades: [...own, ...challenges], verifierTrades: challenges.length });
    const risk = await riskReadout(this.api, this.admin, this.kindOf, this.start + this.joinDay * 24 * HOUR);
    const soldBy = new Map<string, number>();
    for (const t of [...own, ...challenges]) soldBy.set(t.sellerId!, (soldBy.get(t.sellerId!) ?? 0) + Number(t.released));
    const quality = new Map(this.providers.map((p) => [p.agentId, p.spec.quality]));
    const everyone = [...this.kindOf].map(([id, kind]) => ({ id, kind, ...(quality.has(id) ? { quality: quality.get(id)! } : {}) }));
    const rewards = await rewardsReadout(this.api, this.admin, everyone, soldBy, PLATFORM_FEE_RATE);
    const certification = this.certifier
      ? { ...(await certificationReadout(this.api, this.providers.map((p) => ({ id: p.agentId, kind: p.spec.kind, quality: p.spec.quality })), MALICIOUS_KINDS)), activity: this.certifier.stats }
      : { notRun: 'certification is off in this run; --certification turns on keys, identity proofs, hourly heartbeats and weekly applications' };
    return { marketData, risk, rewards, certification };
  }

  // ------------------------------------------------------------------------------ population

  /** Providers (attackers that arrive later excepted), buyers with their budgets, the built-in verifier's budget. */
  private async populate(): Promise<void> {
    const later = new Set(this.o.withoutAttackers ? this.world.providers.filter((s) => MALICIOUS_KINDS.has(s.kind)) : this.arriving);
    for (const s of this.world.providers) if (!later.has(s)) await this.join(s);
    for (const s of this.world.buyers) {
      const a = await this.register(s.key, 'consumer', s.region, s.categories);
      await this.mint(a.agentId, s.budget);
      this.buyers.push({ spec: s, ...a, activeDays: new Set() });
      this.kindOf.set(a.agentId, 'buyer');
    }
    await this.setUpVerifier();
  }

  /**
   * The operator sets up the built-in verifier (there are no simulated probe agents): every provider may be
   * challenged every other day, so the daily budget is a quarter more than half of one unit of every
   * provider's (attackers' included) list price; the wallet is funded for the whole run. The verifier then
   * runs with the service's background jobs (hourly here) and trades like any buyer.
   */
  private async setUpVerifier(): Promise<void> {
    const providers = this.o.withoutAttackers ? this.world.providers.filter((s) => !MALICIOUS_KINDS.has(s.kind)) : this.world.providers;
    const affordable = providers.map(priceOf).filter((x) => x <= VERIFIER_MAX_PRICE);
    const perDay = affordable.reduce((a, b) => a + b, 0) * (24 / VERIFIER_COOLDOWN_HOURS) * 1.25;
    this.verifierDaily = Math.max(1, Math.ceil(perDay));
    this.verifierPerRun = Math.max(1, Math.ceil((providers.length * 24) / VERIFIER_COOLDOWN_HOURS / 24 * 1.5));
    const cfg = expectStatus(await this.api.call<{ agentId: string }>('PUT', '/v1/admin/verifier', {
      key: this.admin,
      body: {
        enabled: true, challengesPerRun: this.verifierPerRun, cooldownHours: VERIFIER_COOLDOWN_HOURS, maxPrice: fmt8(VERIFIER_MAX_PRICE),
        dailyBudget: fmt8(this.verifierDaily),
      },
    }), 'verifier config', 200);
    this.verifierId = cfg.agentId;
    const fund = this.verifierDaily * (this.o.days + 1);
    expectStatus(await this.api.call('POST', '/v1/admin/verifier/fund', { key: this.admin, body: { amount: fmt8(fund), source: 'mint', memo: 'simulation budget' } }), 'verifier fund', 201);
    this.verifierFunded = fund;
    this.minted += fund;
  }

  private async register(name: string, type: string, region: SimRegion, categories: Category[]) {
    const publicKey = this.certifier && type === 'provider' ? this.certifier.publicKeyFor(name) : undefined;
    const r = expectStatus(await this.api.call<{ agent: { id: string }; apiKey: string }>('POST', '/v1/agents', {
      body: { displayName: name, type, country: REGION_COUNTRY[region], region, categories, ...(publicKey ? { publicKey } : {}) },
    }), 'register', 201);
    this.ownAgents.add(r.agent.id);
    return { agentId: r.agent.id, key: r.apiKey };
  }

  private async mint(agentId: string, amount: number): Promise<void> {
    expectStatus(await this.api.call('POST', '/v1/admin/mint', { key: this.admin, body: { agentId, amount: fmt8(amount) } }), 'mint', 201);
    this.minted += amount;
  }

  /** Lists the provider's offer (delegated negotiation with a reservation price); returns the listing id. */
  private async list(p: LiveProvider): Promise<string> {
    const s = p.spec;
    const listPrice = priceOf(s);
    const r = expectStatus(await this.api.call<{ id: string }>('POST', '/v1/listings', {
      key: p.key,
      body: {
        category: s.category, spec: SPEC[s.category], unit: UNIT[s.category], pricePerUnit: fmt8(listPrice), capacity: s.capacity, region: s.region,
        sla: { availability: 0.99, maxLatencyMs: Math.max(1, s.latencyMs * 2) },
        validUntil: new Date(this.start + (this.o.days + 30) * 24 * HOUR).toISOString(),
        negotiation: { strategy: 'balanced', reservationPrice: fmt8(s.kind === 'spoofer' ? listPrice * 0.95 : Math.min(listPrice, s.unitCost * 1.02)) },
      },
    }), 'listing', 201);
    return r.id;
  }

  private async join(s: SimProvider): Promise<LiveProvider> {
    const a = await this.register(`${s.key}-${s.kind}`, 'provider', s.region, [s.category]);
    const p: LiveProvider = { spec: s, ...a, listingId: '', identities: 1, activeDays: new Set(), soldToday: 0, joinedDay: 0 };
    this.kindOf.set(p.agentId, s.kind);
    p.listingId = await this.list(p);
    if (s.kind === 'wash' || s.kind === 'sybil_rater') await this.mint(p.agentId, 2000);
    await this.certifier?.proveIdentity(p, `${s.key}-${s.kind}`);
    if (this.o.scenario.referralRings && s.ring !== null) await this.referRing(p, s.ring);
    this.providers.push(p);
    this.providerByAgent.set(p.agentId, p);
    this.byCategory.set(s.category, [...(this.byCategory.get(s.category) ?? []), p]);
    return p;
  }

  /**
   * The Sybil referral attack (scenarios with `referralRings`): the first member of a ring to join is the
   * referrer, and every other member names it when it registers, hoping the ring's trades lift them to the
   * referral's trust threshold.
   */
  private async referRing(p: LiveProvider, ring: number): Promise<void> {
    const referrer = this.ringReferrer.get(ring);
    if (!referrer) { this.ringReferrer.set(ring, p.agentId); return; }
    const r = await this.api.call('PUT', `/v1/agents/${p.agentId}/referrer`, { key: p.key, body: { referrerId: referrer } });
    if (r.status !== 200) this.errors.push(`referrer: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
  }

  // ------------------------------------------------------------------------------ one day

  private async simulateDay(day: number): Promise<void> {
    this.o.scenario.onDay?.(day, this.world);
    if (day === this.joinDay && this.joinDay > 0) for (const s of this.arriving) (await this.join(s)).joinedDay = day;
    if (day >= this.joinDay && this.providers.some((p) => p.spec.kind === 'sybil_rater')) await this.readLeaders();
    for (let hour = 0; hour < 24; hour++) await this.simulateHour(day, hour);
    await this.reprice(day);
    await this.whitewash(day);
    await this.certifier?.apply(this.providers, day);
  }

  private async readLeaders(): Promise<void> {
    for (const c of this.byCategory.keys()) {
      const r = await this.api.call<{ data: Array<{ agentId: string }> }>('GET', `/v1/leaderboard?category=${c}&limit=20`, { key: this.admin });
      if (r.status !== 200) { this.errors.push(`leaderboard: HTTP ${r.status}`); continue; }
      this.leaders.set(c, r.body.data.map((e) => this.providerByAgent.get(e.agentId)).filter((x): x is LiveProvider => x !== undefined && x.spec.ring === null).slice(0, 5));
    }
  }

  private async simulateHour(day: number, hour: number): Promise<void> {
    // Simulated time of this step (equal to the server's clock in-process; with --target the server
    // runs in real time and the simulated hours pass without waiting).
    const now = this.start + (day * 24 + hour) * HOUR;
    const serverNow = this.o.now().getTime();
    // Buyers' demand, in a fixed order.
    for (const b of this.buyers) {
      const lambda = (this.perBuyerDay * b.spec.requestsPerDay / 1.75 / 24) * demandAt(b.spec.region, hour) * this.world.demand[b.spec.region];
      for (let k = this.poisson(lambda); k > 0; k--) await this.buy(b, day, now, serverNow);
    }
    await this.attack(day, now);
    await this.serveForeignAgreements(day);
    await this.desk.moveOpenTrades(now, day);
    await this.certifier?.heartbeats(this.providers);
    if (this.o.advance) await this.o.advance(HOUR);
    this.progress(day, hour);
  }

  /**
   * One trade request of a buyer: ask, take one of the engine's top two matches, negotiate and fund.
   * Buyers pay into escrow up front, so most ask for sellers with a record (minTrustScore); when no seller
   * qualifies they withdraw the request and ask anyone. The rest try anyone at once, which is how
   * newcomers get their first jobs.
   */
  private async buy(b: LiveBuyer, day: number, now: number, serverNow: number): Promise<void> {
    const rng = this.rng;
    const category = b.spec.categories[Math.floor(rng() * b.spec.categories.length)]!;
    const quantity = 1 + Math.floor(rng() * 8);
    const ask: Ask = { category, quantity, maxPrice: CATEGORY_COST[category] * 1.6 };
    const careful = rng() < this.carefulShare;
    let asked = await this.requestMatches(b, ask, serverNow, careful ? this.minTrust : null);
    if (asked && careful && asked.candidates.length === 0) {
      const c = await this.api.call('POST', `/v1/trade-requests/${asked.id}/cancel`, { key: b.key });
      if (c.status !== 200) this.errors.push(`cancel: HTTP ${c.status}`);
      asked = await this.requestMatches(b, ask, serverNow, null);
    }
    if (!asked) return;
    const rec: SimRequestRecord = { id: asked.id, day, buyerId: b.agentId, region: b.spec.region, category, candidates: asked.candidates.length, agreed: false };
    for (const c of asked.candidates.slice(0, 2)) {
      const seller = this.providerByAgent.get(c.sellerId);
      if (!seller) continue;
      const deal = await this.desk.agreeAndFund(b, seller, asked.id, quantity, ask.maxPrice);
      if (!deal) continue;
      rec.agreed = true;
      b.activeDays.add(day);
      seller.activeDays.add(day);
      seller.soldToday++;
      const job = this.hiddenPerformance(seller, deal.amount, day);
      this.desk.open.push({
        id: deal.agreementId, buyer: b, seller, category, unitPrice: deal.unitPrice, amount: deal.amount, day, dueAt: now + HOUR * (1 + Math.floor(rng() * 3)),
        step: 'deliver', ...job, fundMs: deal.fundMs, deadlineAt: deal.deadlineAt, quantity: deal.quantity, price: deal.price, disputed: false, wash: false, badMouth: false,
      });
      break;
    }
    this.logs.requests.write(rec);
  }

  /** Posts a trade request (with a minimum trust score, or none) and reads its matches; null when refused. */
  private async requestMatches(b: LiveBuyer, ask: Ask, serverNow: number, minTrust: number | null) {
    const req = await this.api.call<{ id: string }>('POST', '/v1/trade-requests', {
      key: b.key,
      body: {
        category: ask.category, spec: {}, quantity: ask.quantity, budget: { max: fmt8(ask.maxPrice) }, deadline: new Date(serverNow + 6 * HOUR).toISOString(),
        urgency: 'normal', ...(minTrust !== null ? { minTrustScore: minTrust } : {}),
      },
    });
    if (req.status !== 201) { this.errors.push(`request: HTTP ${req.status}`); return null; }
    const m = await this.api.call<{ candidates: Array<{ listingId: string; sellerId: string }> }>('GET', `/v1/trade-requests/${req.body.id}/matches`, { key: b.key });
    return { id: req.body.id, candidates: m.status === 200 ? m.body.candidates : [] };
  }

  /** Wash traders trade inside their ring; Sybil raters buy from the category's leaders to bad-mouth them. */
  private async attack(day: number, now: number): Promise<void> {
    const rng = this.rng;
    for (const p of this.providers) {
      const k = p.spec.kind;
      if ((k === 'wash' || k === 'sybil_rater') && rng() < this.attackRate) {
        const peers = this.providers.filter((x) => x !== p && x.spec.ring === p.spec.ring);
        const rivals = this.leaders.get(p.spec.category) ?? [];
        const badMouth = k === 'sybil_rater' && rivals.length > 0 && rng() < 0.5;
        const target = badMouth ? rivals[Math.floor(rng() * rivals.length)]! : peers[Math.floor(rng() * peers.length)];
        if (!target) continue;
        const deal = await this.desk.agreeAndFund(p, target, null, 1, priceOf(target.spec) * 1.2);
        if (!deal) continue;
        p.activeDays.add(day);
        target.activeDays.add(day);
        this.desk.open.push({
          id: deal.agreementId, buyer: p, seller: target, category: target.spec.category, unitPrice: deal.unitPrice, amount: deal.amount, day, dueAt: now + HOUR,
          step: 'deliver', willDeliver: badMouth ? target.spec.quality > 0.5 : true, accuracy: badMouth ? target.spec.quality : 1,
          latencyMs: target.spec.latencyMs, fundMs: deal.fundMs, deadlineAt: deal.deadlineAt, quantity: deal.quantity, price: deal.price, disputed: false, wash: !badMouth, badMouth,
        });
      }
    }
  }

  /**
   * Dynamic pricing: honest providers review their price every third day. They follow the market's price
   * index for their category (the median unit price of the last three days' trades, public market data) a
   * third of the way, never below cost + 2%, and lean on their own utilisation (no sale since the last
   * review: 2% cheaper; six or more: 2% dearer). Regional prices converge because buyers can buy from
   * every region.
   */
  private async reprice(day: number): Promise<void> {
    const index = this.desk.priceIndex(day);
    for (let i = 0; i < this.providers.length; i++) {
      const p = this.providers[i]!;
      // Each provider reviews its price every third day (staggered); sales count since its last review.
      if (p.spec.kind !== 'honest' && p.spec.kind !== 'unreliable') { p.soldToday = 0; continue; }
      if ((i + day) % 3 !== 0) continue;
      const before = priceOf(p.spec);
      const market = index.get(p.spec.category);
      let next = market === undefined ? before : before + (market - before) / 3;
      next *= p.soldToday === 0 ? 0.98 : p.soldToday >= 6 ? 1.02 : 1;
      next = Math.max(p.spec.unitCost * 1.02, next);
      p.spec.markup = next / p.spec.unitCost - 1;
      p.soldToday = 0;
      if (fmt8(next) !== fmt8(before)) {
        const r = await this.api.call('PATCH', `/v1/listings/${p.listingId}`, { key: p.key, body: { pricePerUnit: fmt8(next) } });
        if (r.status !== 200) this.errors.push(`reprice: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      }
    }
  }

  /** Whitewashers with a poor score start over under a new identity (every fifth day). */
  private async whitewash(day: number): Promise<void> {
    for (const p of this.providers) {
      if (p.spec.kind !== 'whitewasher' || day % 5 !== 4) continue;
      const rep = await this.api.call<{ trustScore?: number }>('GET', `/v1/agents/${p.agentId}/reputation`, { key: p.key });
      if (rep.status !== 200 || (rep.body.trustScore ?? 1000) >= 450) continue;
      await this.api.call('DELETE', `/v1/agents/${p.agentId}`, { key: p.key });
      const a = await this.register(`${p.spec.key}-ww${p.identities}`, 'provider', p.spec.region, [p.spec.category]);
      this.kindOf.set(a.agentId, p.spec.kind);
      this.retired.set(p.agentId, p.spec.category);
      this.certifier?.forget(p.agentId);
      this.providerByAgent.delete(p.agentId);
      Object.assign(p, a, { identities: p.identities + 1, joinedDay: day + 1 });
      await this.certifier?.proveIdentity(p, `${p.spec.key}-ww${p.identities - 1}`);
      p.listingId = await this.list(p);
      this.providerByAgent.set(p.agentId, p);
    }
  }

  /** The provider's hidden behaviour on a job. */
  private hiddenPerformance(p: LiveProvider, amount: number, day: number) {
    const rng = this.rng;
    const s = p.spec;
    let q = s.quality;
    if (s.kind === 'milker' && day >= this.milkFromDay && amount >= CATEGORY_COST[s.category] * 4) q = 0.05;
    if (!s.online) q = 0;
    const willDeliver = s.kind !== 'spoofer' && rng() < 0.4 + 0.6 * q;
    const accuracy = Math.min(1, Math.max(0, q + (rng() - 0.5) * 0.1));
    return { willDeliver, accuracy, latencyMs: Math.round(s.latencyMs * (0.8 + rng() * 0.4)) };
  }

  /**
   * Agreements funded by buyers outside the simulation (the built-in verifier's challenge jobs). Each seller's
   * agent treats them as it treats every job: it delivers or not by its hidden behaviour (hiddenPerformance,
   * as for any buyer's job of that size), and answers the request's checkable job with the right digest with
   * item by item, each item right with the probability of its hidden quality (`simulatedItems`, a graded answer); a milker cheats on big jobs only, a spoofer
   * never delivers. Nothing here looks at who the buyer is: the harness only needs to know which agreements its
   * own buyers do not drive. Deliveries are made in order of the sellers' response times, advancing the
   * virtual clock between them, so the platform measures each challenge's delivery time as its seller's
   * latency, per prompt for a reference-prompts job (all of an hour's challenges were funded at the same
   * virtual time, by the verifier's run).
   * The operator resolves a disputed challenge (a wrong or missing digest) with a refund.
   */
  private async serveForeignAgreements(day: number): Promise<void> {
    type Ag = { id: string; buyerId: string; sellerId: string; requestId: string | null; amount: string; state: string };
    const foreign = async (state: string): Promise<Ag[]> => {
      const out: Ag[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        // the verifier is the one buyer outside the simulation: read its agreements only, not the whole market's
        const r: { status: number; body: { data: Ag[]; nextCursor: string | null } } = await this.api.call('GET', `/v1/agreements?agentId=${this.verifierId}&role=buyer&state=${state}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: this.admin });
        if (r.status !== 200) { this.errors.push(`agreements: HTTP ${r.status}`); break; }
        out.push(...r.body.data.filter((a) => !this.ownAgents.has(a.buyerId)));
        cursor = r.body.nextCursor;
        if (!cursor) break;
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    };
    const deliveries: Array<{ a: Ag; seller: LiveProvider; latencyMs: number; waitMs: number; accuracy: number; resultDigest?: string; itemDigests?: string[] }> = [];
    for (const a of await foreign('funded')) {
      if (this.foreignHandled.has(a.id)) continue;
      this.foreignHandled.add(a.id);
      const seller = this.providerByAgent.get(a.sellerId);
      if (!seller) continue;
      const job = this.hiddenPerformance(seller, Number(a.amount), day);
      if (!job.willDeliver) continue; // the deadline passes: the verifier records it as unavailable
      let resultDigest: string | undefined;
      let itemDigests: string[] | undefined;
      let jobOf: JobSpec | null = null;
      if (a.requestId) {
        const req = await this.api.call<{ job: JobSpec | null }>('GET', `/v1/trade-requests/${a.requestId}`, { key: seller.key });
        if (req.status === 200 && req.body.job) {
          jobOf = req.body.job;
          const milking = seller.spec.kind === 'milker' && day >= this.milkFromDay && Number(a.amount) >= CATEGORY_COST[seller.spec.category] * 4;
          const answer = simulatedItems(req.body.job, milking || !seller.spec.online ? 0.05 : seller.spec.quality, this.rng);
          resultDigest = answer.resultDigest;
          itemDigests = answer.itemDigests;
          this.answered++;
          if (answer.correct) this.answeredCorrectly++;
        } else if (req.status !== 200) this.errors.push(`request: HTTP ${req.status}`);
      }
      // a reference-prompts job is one request per prompt, each at the seller's latency
      const requests = jobOf?.workload === 'reference-prompts' ? jobOf.size : 1;
      deliveries.push({ a, seller, latencyMs: job.latencyMs, waitMs: job.latencyMs * requests, accuracy: job.accuracy, ...(resultDigest ? { resultDigest } : {}), ...(itemDigests ? { itemDigests } : {}) });
    }
    deliveries.sort((x, y) => x.waitMs - y.waitMs || (x.a.id < y.a.id ? -1 : 1));
    let waited = 0;
    for (const d of deliveries) {
      if (this.o.tick && d.waitMs > waited) { this.o.tick(d.waitMs - waited); waited = d.waitMs; }
      const r = await this.api.call('POST', `/v1/agreements/${d.a.id}/deliver`, {
        key: d.seller.key,
        body: { usage: 1, latencyMs: d.latencyMs, accuracy: d.accuracy, availability: d.accuracy > 0.5 ? 0.999 : 0.9, ...(d.resultDigest ? { resultDigest: d.resultDigest } : {}), ...(d.itemDigests ? { itemDigests: d.itemDigests } : {}) },
      });
      if (r.status !== 200) this.errors.push(`deliver (challenge): HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      else d.seller.activeDays.add(day);
    }
    for (const a of await foreign('disputed')) {
      const r = await this.api.call('POST', `/v1/agreements/${a.id}/resolve`, { key: this.admin, body: { outcome: 'refund' } });
      if (r.status !== 200) this.errors.push(`resolve (challenge): HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
    }
  }

  /** The verifier's budget, spend and challenges at the end of the run. */
  private async verifierRecord(): Promise<SimVerifierRecord> {
    type Budget = { balance: string; available: string; challenges: Record<string, { count: number; amount: string }>; history: Array<{ state: string; result: { reason?: string } | null }> };
    const b = expectStatus(await this.api.call<Budget>('GET', '/v1/admin/verifier/budget?limit=200', { key: this.admin }), 'verifier budget', 200);
    const count = (k: string) => b.challenges[k]?.count ?? 0;
    const failedBy: Record<string, number> = {};
    // reasons of the failed challenges (from the latest 200; all of them in runs with fewer)
    for (const h of b.history) if (h.state === 'failed') failedBy[h.result?.reason ?? 'unknown'] = (failedBy[h.result?.reason ?? 'unknown'] ?? 0) + 1;
    const balance = Number(b.balance);
    return {
      used: true, funded: this.verifierFunded, dailyBudget: this.verifierDaily, budget: this.verifierDaily * this.o.days,
      spent: this.verifierFunded - balance, held: balance - Number(b.available), balance,
      challengesPerRun: this.verifierPerRun, cooldownHours: VERIFIER_COOLDOWN_HOURS, maxPrice: VERIFIER_MAX_PRICE,
      challenges: { passed: count('passed'), failed: count('failed'), abandoned: count('abandoned'), inFlight: count('reserved') + count('negotiating') + count('funded') },
      failedBy, answered: this.answered, answeredCorrectly: this.answeredCorrectly,
    };
  }

  /** Lets the market settle what is still open (timers), without new demand, for up to three days. */
  private async settleOpenTrades(): Promise<void> {
    for (let h = 0; h < 72 && this.desk.open.length; h++) {
      await this.desk.moveOpenTrades(this.start + (this.o.days * 24 + h) * HOUR, this.o.days - 1);
      if (this.o.advance) await this.o.advance(HOUR);
    }
    this.desk.finishHeld();
  }

  // ------------------------------------------------------------------------------ helpers and records

  /** A job counts as routed to a malicious provider when the provider cheats: on-off milkers once they have turned. */
  private isMalicious(p: SimProvider, day: number): boolean {
    return MALICIOUS_KINDS.has(p.kind) && (p.kind !== 'milker' || day >= this.milkFromDay);
  }

  private poisson(lambda: number): number {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do { k++; p *= this.rng(); } while (p > l);
    return k - 1;
  }

  private progress(day: number, hour: number, final = false): void {
    const p: SimProgress = { day, hour, requests: this.logs.requests.count, agreements: this.desk.agreements, settled: this.logs.trades.count, calls: this.api.latencies.length - this.calls0 };
    this.o.onProgress?.(final ? { ...p, final: true } : p);
  }

  /** Every provider with its final trust score, and every buyer. */
  private async agentRecords(): Promise<SimAgentRecord[]> {
    const agents: SimAgentRecord[] = [];
    for (const p of this.providers) {
      const rep = await this.api.call<{ trustScore?: number }>('GET', `/v1/agents/${p.agentId}/reputation`, { key: p.key });
      agents.push({
        id: p.agentId, role: 'provider', kind: p.spec.kind, malicious: MALICIOUS_KINDS.has(p.spec.kind), trueQuality: p.spec.quality,
        ...(rep.status === 200 && typeof rep.body.trustScore === 'number' ? { trustScore: rep.body.trustScore } : {}), activeDays: p.activeDays, country: REGION_COUNTRY[p.spec.region],
      });
    }
    for (const b of this.buyers) agents.push({ id: b.agentId, role: 'buyer', malicious: false, activeDays: b.activeDays, country: REGION_COUNTRY[b.spec.region] });
    return agents;
  }
}
