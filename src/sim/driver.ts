/**
 * The market simulation: a seeded population of agents acting through the public API, hour by
 * simulated hour. Providers list; buyers request, take the engine's top match, negotiate (delegated
 * on both sides), fund; providers deliver or fail according to their hidden quality; buyers confirm or
 * dispute; the operator resolves disputes; parties rate each other. Attackers do what attackers do.
 * Virtual time: in-process runs advance a ManualClock and run the service's background jobs each hour.
 *
 * Determinism: every decision comes from seeded generators and runs in a fixed order, so the same seed
 * gives the same market outcomes. Wall-clock timings (API latency, settlement processing time) are
 * reported separately and naturally vary.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32, type Rng } from '../platform/rng.js';
import type { Category } from '../modules/trading/trading.types.js';
import { formatAmount, parseAmount } from '../platform/money.js';
import { CATEGORY_COST, MALICIOUS_KINDS, SIM_REGIONS, demandAt, generatePopulation, type SimBuyer, type SimProvider, type SimRegion } from './population.js';

const SIM_REGIONS_LIST: readonly SimRegion[] = SIM_REGIONS;
import { initialDemand, populationParams, type Scenario, type World } from './scenarios.js';
import { expectStatus, type Transport } from './transport.js';
import { Spool } from './spool.js';
import { REGION_COUNTRY, type SimAgentRecord, type SimRequestRecord, type SimTradeRecord } from './metrics.js';

const HOUR = 3600_000;
const UNIT: Record<Category, string> = { gpu_compute: 'gpu_hour', training: 'gpu_hour', inference: '1k_tokens', model_services: '1k_tokens', data_services: 'job' };
const SPEC: Record<Category, Record<string, unknown>> = {
  gpu_compute: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 },
  training: { gpuModel: 'H100', vramGb: 80, gpuCount: 8 },
  inference: { modelName: 'llama-3-70b', contextSize: 32768 },
  model_services: { modelName: 'llama-3-8b', contextSize: 8192 },
  data_services: {},
};

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
  /** Current virtual time. */
  now: () => Date;
  onProgress?: (p: SimProgress) => void;
  /** Control run: the same market with the scenario's attackers never arriving. */
  withoutAttackers?: boolean;
}

interface LiveProvider { spec: SimProvider; agentId: string; key: string; listingId: string; identities: number; activeDays: Set<number>; soldToday: number; joinedDay: number }
interface LiveBuyer { spec: SimBuyer; agentId: string; key: string; activeDays: Set<number> }
interface OpenTrade {
  id: string;
  buyer: LiveBuyer | LiveProvider;
  seller: LiveProvider;
  category: Category;
  unitPrice: number;
  amount: number;
  day: number;
  /** Virtual time of the next step. */
  dueAt: number;
  /** The agreement's delivery deadline (server time). */
  deadlineAt: number;
  step: 'deliver' | 'review' | 'resolve' | 'await_timer';
  willDeliver: boolean;
  accuracy: number;
  latencyMs: number;
  fundMs: number;
  disputed: boolean;
  wash: boolean;
  badMouth: boolean;
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
}

const num = (s: string) => Number(s);
const fmt8 = (x: number) => formatAmount(BigInt(Math.max(1, Math.round(x * 1e8))));

export async function runSimulation(api: Transport, o: SimOptions): Promise<SimResult> {
  // The run's log is spooled to disk (read back at the end), so it does not count as the service's heap.
  const logs = { requests: new Spool<SimRequestRecord>('requests'), trades: new Spool<SimTradeRecord>('trades') };
  try {
    return await run(api, o, logs);
  } catch (err) {
    logs.requests.discard();
    logs.trades.discard();
    throw err;
  }
}

async function run(api: Transport, o: SimOptions, logs: { requests: Spool<SimRequestRecord>; trades: Spool<SimTradeRecord> }): Promise<SimResult> {
  const rng: Rng = mulberry32(o.seed ^ 0x5eed);
  const pop = generatePopulation(populationParams(o.scenario, o.agents, o.seed));
  const world: World = { providers: pop.providers, buyers: pop.buyers, demand: initialDemand() };
  const admin = o.adminKey;
  const start = o.now().getTime();
  const errors: string[] = [];
  const requestLog = logs.requests;
  const tradeLog = logs.trades;
  /** The last three days of trades, for the providers' price index. */
  let recentTrades: SimTradeRecord[] = [];
  const open: OpenTrade[] = [];
  let minted = 0;
  let agreements = 0;
  const perBuyerDay = o.requestsPerBuyerDay ?? 0.15;
  const carefulShare = o.scenario.buyers?.carefulShare ?? 0.9;
  const minTrust = o.scenario.buyers?.minTrustScore ?? 100;
  /** Chance per simulated hour that a wash trader or Sybil rater makes one of its trades. */
  const attackRate = (o.scenario.attacksPerDay ?? 1) / 24;

  const register = async (name: string, type: string, region: SimRegion, categories: Category[]) => {
    const r = expectStatus(await api.call<{ agent: { id: string }; apiKey: string }>('POST', '/v1/agents', {
      body: { displayName: name, type, country: REGION_COUNTRY[region], region, categories },
    }), 'register', 201);
    return { agentId: r.agent.id, key: r.apiKey };
  };
  const mint = async (agentId: string, amount: number) => {
    expectStatus(await api.call('POST', '/v1/admin/mint', { key: admin, body: { agentId, amount: fmt8(amount) } }), 'mint', 201);
    minted += amount;
  };
  const price = (p: SimProvider) => p.unitCost * (1 + p.markup);
  const list = async (p: LiveProvider) => {
    const s = p.spec;
    const listPrice = price(s);
    const r = expectStatus(await api.call<{ id: string }>('POST', '/v1/listings', {
      key: p.key,
      body: {
        category: s.category, spec: SPEC[s.category], unit: UNIT[s.category], pricePerUnit: fmt8(listPrice), capacity: s.capacity, region: s.region,
        sla: { availability: 0.99, maxLatencyMs: Math.max(1, s.latencyMs * 2) },
        validUntil: new Date(start + (o.days + 30) * 24 * HOUR).toISOString(),
        negotiation: { strategy: 'balanced', reservationPrice: fmt8(s.kind === 'spoofer' ? listPrice * 0.95 : Math.min(listPrice, s.unitCost * 1.02)) },
      },
    }), 'listing', 201);
    return r.id;
  };

  // ---- population
  // Attackers arrive on the scenario's join day (capped at half the run, so short runs see them too);
  // on-off milkers turn halfway through their own stay.
  const joinDay = Math.min(o.scenario.attackersJoinDay ?? 0, Math.floor(o.days / 2));
  const milkFromDay = joinDay + Math.floor((o.days - joinDay) / 2);
  const providers: LiveProvider[] = [];
  const providerByAgent = new Map<string, LiveProvider>();
  const byCategory = new Map<Category, LiveProvider[]>();
  /**
   * The market's leaders by category, read once a simulated day from the public leaderboard: Sybil raters
   * bad-mouth the competitors that matter (as in the reputation benchmark, the top honest sellers).
   */
  const leaders = new Map<Category, LiveProvider[]>();
  const readLeaders = async () => {
    for (const c of byCategory.keys()) {
      const r = await api.call<{ data: Array<{ agentId: string }> }>('GET', `/v1/leaderboard?category=${c}&limit=20`, { key: admin });
      if (r.status !== 200) { errors.push(`leaderboard: HTTP ${r.status}`); continue; }
      leaders.set(c, r.body.data.map((e) => providerByAgent.get(e.agentId)).filter((x): x is LiveProvider => x !== undefined && x.spec.ring === null).slice(0, 5));
    }
  };
  const join = async (s: SimProvider) => {
    const a = await register(`${s.key}-${s.kind}`, 'provider', s.region, [s.category]);
    const p: LiveProvider = { spec: s, ...a, listingId: '', identities: 1, activeDays: new Set(), soldToday: 0, joinedDay: 0 };
    p.listingId = await list(p);
    if (s.kind === 'wash' || s.kind === 'sybil_rater') await mint(p.agentId, 2000);
    providers.push(p);
    providerByAgent.set(p.agentId, p);
    byCategory.set(s.category, [...(byCategory.get(s.category) ?? []), p]);
    return p;
  };
  /** A job counts as routed to a malicious provider when the provider cheats: on-off milkers once they have turned. */
  const isMalicious = (p: SimProvider, day: number) => MALICIOUS_KINDS.has(p.kind) && (p.kind !== 'milker' || day >= milkFromDay);
  const attackers = world.providers.filter((s) => MALICIOUS_KINDS.has(s.kind));
  const arriving = o.withoutAttackers || joinDay === 0 ? [] : attackers;
  const later = new Set(o.withoutAttackers ? attackers : arriving);
  for (const s of world.providers) if (!later.has(s)) await join(s);
  const buyers: LiveBuyer[] = [];
  for (const s of world.buyers) {
    const a = await register(s.key, 'consumer', s.region, s.categories);
    await mint(a.agentId, s.budget);
    buyers.push({ spec: s, ...a, activeDays: new Set() });
  }
  // The operator's probe agents: the trusted seed of the trust graph. Each provider is measured every
  // few days (latency, availability, accuracy on known-answer tasks) according to its hidden quality.
  const probes: Array<{ agentId: string; key: string }> = [];
  for (let i = 0; i < 3; i++) {
    const a = await register(`probe-${i}`, 'consumer', SIM_REGIONS_LIST[i % SIM_REGIONS_LIST.length]!, ['inference']);
    expectStatus(await api.call('PUT', `/v1/reputation/probes/${a.agentId}`, { key: admin }), 'probe', 200, 201);
    probes.push(a);
  }
  // Every provider every fifth day; a new identity (a newcomer, a re-registered one) daily for its first
  // three days, as the operator verifies new listings.
  const probeEvery = 5;
  const onboardingDays = 3;
  const runProbes = async (day: number) => {
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i]!;
      if ((i + day) % probeEvery !== 0 && day - p.joinedDay >= onboardingDays) continue;
      const probe = probes[(i + day) % probes.length]!;
      const s = p.spec;
      // Milkers and spoofers game what they can: milkers pass probes; spoofers answer but badly.
      const q = s.kind === 'milker' ? 0.97 : s.quality;
      const r = await api.call('POST', '/v1/evidence', {
        key: probe.key,
        body: {
          type: 'probe', agentId: p.agentId, responseMs: Math.round(s.latencyMs * (0.8 + rng() * 0.4)),
          available: s.online && rng() < 0.9 + 0.1 * q, accuracy: Math.min(1, Math.max(0, q + (rng() - 0.5) * 0.06)),
        },
      });
      if (r.status !== 201 && r.status !== 200) errors.push(`probe: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
    }
  };


  const poisson = (lambda: number) => {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do { k++; p *= rng(); } while (p > l);
    return k - 1;
  };

  /** The provider's hidden behaviour on a job. */
  const performance_ = (p: LiveProvider, amount: number, day: number) => {
    const s = p.spec;
    let q = s.quality;
    if (s.kind === 'milker' && day >= milkFromDay && amount >= CATEGORY_COST[s.category] * 4) q = 0.05;
    if (!s.online) q = 0;
    const willDeliver = s.kind !== 'spoofer' && rng() < 0.4 + 0.6 * q;
    const accuracy = Math.min(1, Math.max(0, q + (rng() - 0.5) * 0.1));
    return { willDeliver, accuracy, latencyMs: Math.round(s.latencyMs * (0.8 + rng() * 0.4)) };
  };

  /** Negotiates on a listing (delegated both sides, falling back to the list price) and funds. */
  const agreeAndFund = async (buyer: { agentId: string; key: string }, seller: LiveProvider, requestId: string | null, quantity: number, maxPrice: number) => {
    const listPrice = price(seller.spec);
    const body: Record<string, unknown> = { listingId: seller.listingId, ...(requestId ? { requestId } : {}) };
    let neg = await api.call<{ status: string; agreementId: string | null }>('POST', '/v1/negotiations', {
      key: buyer.key,
      body: { ...body, delegate: { strategy: 'balanced', targetPrice: fmt8(listPrice * 0.85), reservationPrice: fmt8(Math.max(maxPrice, listPrice * 0.86)) } },
    });
    if (neg.status !== 201 || neg.body.status !== 'agreed') {
      if (listPrice > maxPrice) return null;
      neg = await api.call('POST', '/v1/negotiations', {
        key: buyer.key, body: { ...body, offer: { pricePerUnit: fmt8(listPrice), quantity, settlementType: 'escrow' } },
      });
      if (neg.status !== 201) return null;
      if (neg.body.status === 'open') {
        // The seller's side did not answer automatically: the buyer accepts nothing; give up.
        return null;
      }
    }
    const agreementId = neg.body.agreementId;
    if (neg.body.status !== 'agreed' || !agreementId) return null;
    const t0 = performance.now();
    const funded = await api.call<{ amount: string; terms: { pricePerUnit: string }; deliveryDeadline: string }>('POST', `/v1/agreements/${agreementId}/fund`, { key: buyer.key });
    const fundMs = performance.now() - t0;
    if (funded.status !== 200) return null;
    agreements++;
    return { agreementId, amount: num(funded.body.amount), unitPrice: num(funded.body.terms.pricePerUnit), fundMs, deadlineAt: Date.parse(funded.body.deliveryDeadline) };
  };

  const finish = (t: OpenTrade, outcome: SimTradeRecord['outcome'], settleMs: number) => {
    const rec: SimTradeRecord = {
      id: t.id, day: t.day, buyerId: t.buyer.agentId, sellerId: t.seller.agentId, region: t.seller.spec.region, category: t.category,
      unitPrice: t.unitPrice, amount: t.amount, outcome, settlementMs: t.fundMs + settleMs, sellerMalicious: isMalicious(t.seller.spec, t.day), sellerKind: t.seller.spec.kind,
      routed: !t.wash && !t.badMouth, buyerCountry: REGION_COUNTRY[t.buyer.spec.region], sellerCountry: REGION_COUNTRY[t.seller.spec.region],
    };
    tradeLog.write(rec);
    recentTrades.push(rec);
  };

  const rate = async (t: OpenTrade, stars: number) => {
    const r = await api.call('POST', '/v1/ratings', { key: t.buyer.key, body: { tradeId: t.id, stars } });
    if (r.status !== 201 && r.status !== 200) errors.push(`rating: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
  };

  /** Moves an open trade along when its time has come. Returns true when it is finished. */
  const step = async (t: OpenTrade, now: number, day: number): Promise<boolean> => {
    if (t.dueAt > now) return false;
    switch (t.step) {
      case 'deliver': {
        if (!t.willDeliver) {
          // In virtual time the escrow's timer refunds at the deadline: look once, an hour after it.
          if (o.advance) { t.step = 'await_timer'; t.dueAt = Math.max(now + HOUR, t.deadlineAt + HOUR); return false; }
          // Real time (--target): nobody waits hours for the delivery deadline; the buyer disputes.
          const r = await api.call('POST', `/v1/agreements/${t.id}/dispute`, { key: t.buyer.key, body: { reason: 'not delivered' } });
          if (r.status === 200) { t.disputed = true; t.accuracy = 0; t.step = 'resolve'; t.dueAt = now; return false; }
          t.step = 'await_timer'; t.dueAt = now + HOUR; return false;
        }
        const r = await api.call('POST', `/v1/agreements/${t.id}/deliver`, {
          key: t.seller.key, body: { usage: 1, latencyMs: t.latencyMs, accuracy: t.accuracy, availability: t.accuracy > 0.5 ? 0.999 : 0.9 },
        });
        if (r.status !== 200) { t.step = 'await_timer'; t.dueAt = now + HOUR; return false; }
        t.seller.activeDays.add(day);
        t.step = 'review';
        t.dueAt = now + HOUR * (1 + Math.floor(rng() * 3));
        return false;
      }
      case 'review': {
        const good = t.accuracy >= 0.8 || t.wash;
        const buyerSpec = 'requestsPerDay' in t.buyer.spec ? t.buyer.spec : null;
        if (!good && rng() < (buyerSpec?.disputeRate ?? 0.5)) {
          const r = await api.call('POST', `/v1/agreements/${t.id}/dispute`, { key: t.buyer.key, body: { reason: `accuracy ${t.accuracy.toFixed(2)} below the SLA` } });
          if (r.status === 200) { t.disputed = true; t.step = 'resolve'; t.dueAt = now + 12 * HOUR; return false; }
        }
        const t0 = performance.now();
        const r = await api.call('POST', `/v1/agreements/${t.id}/confirm`, { key: t.buyer.key });
        const ms = performance.now() - t0;
        if (r.status !== 200) errors.push(`confirm: HTTP ${r.status}`);
        finish(t, 'released', ms);
        await rate(t, t.badMouth ? 1 : t.wash ? 5 : Math.max(1, Math.min(5, Math.round(1 + 4 * t.accuracy))));
        return true;
      }
      case 'resolve': {
        const outcome = t.accuracy < 0.5 ? 'refund' : 'split';
        const body: Record<string, unknown> = { outcome };
        if (outcome === 'split') body.sellerAmount = fmt8(t.amount * t.accuracy);
        const t0 = performance.now();
        const r = await api.call('POST', `/v1/agreements/${t.id}/resolve`, { key: admin, body });
        if (r.status !== 200) errors.push(`resolve: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        finish(t, outcome === 'refund' ? 'refunded' : 'split', performance.now() - t0);
        await rate(t, outcome === 'refund' ? 1 : 2);
        return true;
      }
      case 'await_timer': {
        // Undelivered: the delivery deadline refunds the buyer through the escrow's timer.
        const r = await api.call<{ state: string }>('GET', `/v1/agreements/${t.id}`, { key: t.buyer.key });
        if (r.status === 200 && ['refunded', 'cancelled', 'settled', 'resolved'].includes(r.body.state)) {
          finish(t, r.body.state === 'settled' ? 'released' : 'failed', 0);
          await rate(t, 1);
          return true;
        }
        t.dueAt = now + HOUR;
        return false;
      }
    }
  };

  const calls0 = api.latencies.length;
  for (let day = 0; day < o.days; day++) {
    o.scenario.onDay?.(day, world);
    if (day === joinDay && joinDay > 0) for (const s of arriving) (await join(s)).joinedDay = day;
    await runProbes(day);
    if (day >= joinDay && providers.some((p) => p.spec.kind === 'sybil_rater')) await readLeaders();
    for (let hour = 0; hour < 24; hour++) {
      // Simulated time of this step (equal to the server's clock in-process; with --target the server
      // runs in real time and the simulated hours pass without waiting).
      const now = start + (day * 24 + hour) * HOUR;
      const serverNow = o.now().getTime();
      // Buyers' demand, in a fixed order.
      for (const b of buyers) {
        const lambda = (perBuyerDay * b.spec.requestsPerDay / 1.75 / 24) * demandAt(b.spec.region, hour) * world.demand[b.spec.region];
        for (let k = poisson(lambda); k > 0; k--) {
          const category = b.spec.categories[Math.floor(rng() * b.spec.categories.length)]!;
          const quantity = 1 + Math.floor(rng() * 8);
          const maxPrice = CATEGORY_COST[category] * 1.6;
          // Buyers pay into escrow up front, so most ask for sellers with a record (minTrustScore); when no
          // seller qualifies they withdraw the request and ask anyone. The rest try anyone at once, which is
          // how newcomers get their first jobs.
          const careful = rng() < carefulShare;
          const ask = async (minTrust: number | null) => {
            const req = await api.call<{ id: string }>('POST', '/v1/trade-requests', {
              key: b.key,
              body: {
                category, spec: {}, quantity, budget: { max: fmt8(maxPrice) }, deadline: new Date(serverNow + 6 * HOUR).toISOString(),
                urgency: 'normal', ...(minTrust !== null ? { minTrustScore: minTrust } : {}),
              },
            });
            if (req.status !== 201) { errors.push(`request: HTTP ${req.status}`); return null; }
            const m = await api.call<{ candidates: Array<{ listingId: string; sellerId: string }> }>('GET', `/v1/trade-requests/${req.body.id}/matches`, { key: b.key });
            return { id: req.body.id, candidates: m.status === 200 ? m.body.candidates : [] };
          };
          let asked = await ask(careful ? minTrust : null);
          if (asked && careful && asked.candidates.length === 0) {
            const c = await api.call('POST', `/v1/trade-requests/${asked.id}/cancel`, { key: b.key });
            if (c.status !== 200) errors.push(`cancel: HTTP ${c.status}`);
            asked = await ask(null);
          }
          if (!asked) continue;
          const req = { body: { id: asked.id } };
          const candidates = asked.candidates;
          const rec: SimRequestRecord = { id: req.body.id, day, buyerId: b.agentId, region: b.spec.region, category, candidates: candidates.length, agreed: false };
          for (const c of candidates.slice(0, 2)) {
            const seller = providerByAgent.get(c.sellerId);
            if (!seller) continue;
            const deal = await agreeAndFund(b, seller, req.body.id, quantity, maxPrice);
            if (!deal) continue;
            rec.agreed = true;
            b.activeDays.add(day);
            seller.activeDays.add(day);
            seller.soldToday++;
            const perf = performance_(seller, deal.amount, day);
            open.push({
              id: deal.agreementId, buyer: b, seller, category, unitPrice: deal.unitPrice, amount: deal.amount, day, dueAt: now + HOUR * (1 + Math.floor(rng() * 3)),
              step: 'deliver', ...perf, fundMs: deal.fundMs, deadlineAt: deal.deadlineAt, disputed: false, wash: false, badMouth: false,
            });
            break;
          }
          requestLog.write(rec);
        }
      }
      // Attackers.
      for (const p of providers) {
        const k = p.spec.kind;
        if ((k === 'wash' || k === 'sybil_rater') && rng() < attackRate) {
          const peers = providers.filter((x) => x !== p && x.spec.ring === p.spec.ring);
          const rivals = leaders.get(p.spec.category) ?? [];
          const badMouth = k === 'sybil_rater' && rivals.length > 0 && rng() < 0.5;
          const target = badMouth ? rivals[Math.floor(rng() * rivals.length)]! : peers[Math.floor(rng() * peers.length)];
          if (!target) continue;
          const deal = await agreeAndFund(p, target, null, 1, price(target.spec) * 1.2);
          if (!deal) continue;
          p.activeDays.add(day);
          target.activeDays.add(day);
          open.push({
            id: deal.agreementId, buyer: p, seller: target, category: target.spec.category, unitPrice: deal.unitPrice, amount: deal.amount, day, dueAt: now + HOUR,
            step: 'deliver', willDeliver: badMouth ? target.spec.quality > 0.5 : true, accuracy: badMouth ? target.spec.quality : 1,
            latencyMs: target.spec.latencyMs, fundMs: deal.fundMs, deadlineAt: deal.deadlineAt, disputed: false, wash: !badMouth, badMouth,
          });
        }
      }
      // Open trades move on, in creation order.
      for (let i = 0; i < open.length; i++) {
        if (await step(open[i]!, now, day)) { open.splice(i, 1); i--; }
      }
      if (o.advance) await o.advance(HOUR);
      o.onProgress?.({ day, hour, requests: requestLog.count, agreements, settled: tradeLog.count, calls: api.latencies.length - calls0 });
    }
    // Dynamic pricing: honest providers review their price every third day. They follow the market's
    // price index for their category (the median unit price of the last three days' trades, public
    // market data) a third of the way, never below cost + 2%, and lean on their own utilisation
    // (no sale since the last review: 2% cheaper; six or more: 2% dearer).
    // Regional prices converge because buyers can buy from every region.
    const dayPrices = new Map<Category, number[]>();
    const addPrice = (c: Category, v: number) => {
      const list = dayPrices.get(c);
      if (list) list.push(v);
      else dayPrices.set(c, [v]);
    };
    recentTrades = recentTrades.filter((t) => t.day > day - 3);
    for (const t of recentTrades) if (t.outcome !== 'failed') addPrice(t.category as Category, t.unitPrice);
    for (const t of open) if (t.day > day - 3) addPrice(t.category, t.unitPrice);
    const index = new Map([...dayPrices].map(([c, ps]) => [c, [...ps].sort((a, b) => a - b)[ps.length >> 1]!] as const));
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i]!;
      // Each provider reviews its price every third day (staggered); sales count since its last review.
      if (p.spec.kind !== 'honest' && p.spec.kind !== 'unreliable') { p.soldToday = 0; continue; }
      if ((i + day) % 3 !== 0) continue;
      const before = price(p.spec);
      const market = index.get(p.spec.category);
      let next = market === undefined ? before : before + (market - before) / 3;
      next *= p.soldToday === 0 ? 0.98 : p.soldToday >= 6 ? 1.02 : 1;
      next = Math.max(p.spec.unitCost * 1.02, next);
      p.spec.markup = next / p.spec.unitCost - 1;
      p.soldToday = 0;
      if (fmt8(next) !== fmt8(before)) {
        const r = await api.call('PATCH', `/v1/listings/${p.listingId}`, { key: p.key, body: { pricePerUnit: fmt8(next) } });
        if (r.status !== 200) errors.push(`reprice: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      }
    }
    // Whitewashers with a poor score start over under a new identity.
    for (const p of providers) {
      if (p.spec.kind !== 'whitewasher' || day % 5 !== 4) continue;
      const rep = await api.call<{ trustScore?: number }>('GET', `/v1/agents/${p.agentId}/reputation`, { key: p.key });
      if (rep.status !== 200 || (rep.body.trustScore ?? 1000) >= 450) continue;
      await api.call('DELETE', `/v1/agents/${p.agentId}`, { key: p.key });
      const a = await register(`${p.spec.key}-ww${p.identities}`, 'provider', p.spec.region, [p.spec.category]);
      providerByAgent.delete(p.agentId);
      Object.assign(p, a, { identities: p.identities + 1, joinedDay: day + 1 });
      p.listingId = await list(p);
      providerByAgent.set(p.agentId, p);
    }
  }
  // Let the market settle what is still open (timers), without new demand.
  for (let h = 0; h < 72 && open.length; h++) {
    const now = start + (o.days * 24 + h) * HOUR;
    for (let i = 0; i < open.length; i++) {
      if (await step(open[i]!, now, o.days - 1)) { open.splice(i, 1); i--; }
    }
    if (o.advance) await o.advance(HOUR);
  }
  o.onProgress?.({ day: o.days - 1, hour: 23, requests: requestLog.count, agreements, settled: tradeLog.count, calls: api.latencies.length - calls0, final: true });

  const agents: SimAgentRecord[] = [];
  for (const p of providers) {
    const rep = await api.call<{ trustScore?: number }>('GET', `/v1/agents/${p.agentId}/reputation`, { key: p.key });
    agents.push({
      id: p.agentId, role: 'provider', kind: p.spec.kind, malicious: MALICIOUS_KINDS.has(p.spec.kind), trueQuality: p.spec.quality,
      ...(rep.status === 200 && typeof rep.body.trustScore === 'number' ? { trustScore: rep.body.trustScore } : {}), activeDays: p.activeDays, country: REGION_COUNTRY[p.spec.region],
    });
  }
  for (const b of buyers) agents.push({ id: b.agentId, role: 'buyer', malicious: false, activeDays: b.activeDays, country: REGION_COUNTRY[b.spec.region] });
  const audit = expectStatus(await api.call<{ ok: boolean; violations: string[] }>('GET', '/v1/admin/ledger/audit', { key: admin }), 'audit', 200);
  return { requests: requestLog.readAll(), trades: tradeLog.readAll(), agents, mintedVolume: minted, agreements, ledger: { ok: audit.ok, violations: audit.violations }, calls: api.latencies.length - calls0, errors, attackersFromDay: joinDay };
}

export { parseAmount };
