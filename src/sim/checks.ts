/**
 * The simulator's checks of the service's own subsystems against what the simulation knows (pure: the
 * driver and readouts.ts fetch, this computes):
 * - the market data the analytics API states against the simulator's trade log (exact, in base units);
 * - the risk detectors' alerts against the scenario's known attackers (precision and recall over agents);
 * - rewards received against fees paid, per kind of agent;
 * - certification levels against hidden quality.
 */
import { formatAmount, parseAmount } from '../platform/money.js';

// ------------------------------------------------------------------------------ log vs analytics

/** One trade as the log (or the API, for the verifier's) states it: decimal AITBC strings. */
export interface LoggedTrade { quantity: number; price: string; released: string; settledAt: number | null; category: string; sellerId?: string }

/** The analytics API's trade figures: trades, units, volume (released to sellers), VWAP = notional / units. */
export interface TradeFigures { trades: number; units: number; volume: string; vwap: string | null }

/**
 * The log's figures by the analytics projection's rule: a trade is an agreement that ended with something
 * released to the seller (settled, or a dispute resolved by a split); its volume is what was released.
 */
export function logFigures(trades: readonly LoggedTrade[]): TradeFigures {
  let n = 0;
  let units = 0n;
  let volume = 0n;
  let notional = 0n;
  for (const t of trades) {
    const released = parseAmount(t.released);
    if (released <= 0n) continue;
    n++;
    units += BigInt(t.quantity);
    volume += released;
    notional += parseAmount(t.price) * BigInt(t.quantity);
  }
  return { trades: n, units: Number(units), volume: formatAmount(volume), vwap: units > 0n ? formatAmount(notional / units) : null };
}

/** Trades grouped by a key (the UTC day of their end, or their category). */
export function groupTrades(trades: readonly LoggedTrade[], key: (t: LoggedTrade) => string | null): Map<string, LoggedTrade[]> {
  const out = new Map<string, LoggedTrade[]>();
  for (const t of trades) {
    const k = key(t);
    if (k === null) continue;
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

export const dayOf = (t: LoggedTrade) => (t.settledAt === null ? null : new Date(t.settledAt).toISOString().slice(0, 10));

export interface FiguresRow { scope: string; log: TradeFigures; api: TradeFigures; equal: boolean }

export function figuresRow(scope: string, log: TradeFigures, api: TradeFigures): FiguresRow {
  const equal = log.trades === api.trades && log.units === api.units && parseAmount(log.volume) === parseAmount(api.volume)
    && (log.vwap === null ? api.vwap === null : api.vwap !== null && parseAmount(log.vwap) === parseAmount(api.vwap));
  return { scope, log, api, equal };
}

// ------------------------------------------------------------------------------ risk alerts vs known attackers

export interface SimAlert { kind: string; agents: readonly string[]; firstSeen: number }

export interface DetectorScore {
  detector: string;
  /** The provider kinds the detector is scored against (empty: no attacker of this scenario is its target). */
  targets: string[];
  alerts: number;
  flagged: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number | null;
  recall: number | null;
  honestFlagged: number;
  honestAgents: number;
  /** honest agents flagged / honest agents */
  falsePositiveRate: number;
  /** Hours from the attackers' arrival to each attacker's first alert: median and max over the detected ones. */
  hoursToDetect: { median: number | null; max: number | null };
}

/**
 * Which kinds of simulated agent each detector should flag: wash trading is what wash rings and Sybil raters do
 * inside their rings (they pay each other and rate each other 5); the same-owner (sybil) detector's targets are the
 * ring members, one operator's identities; rating rings are the Sybil raters; spoofing, the price spoofers.
 */
export const DETECTOR_TARGETS: Record<string, string[]> = {
  wash: ['wash', 'sybil_rater'],
  sybil: ['wash', 'sybil_rater'],
  rating_ring: ['sybil_rater'],
  spoofing: ['spoofer'],
};

/**
 * Per detector kind: precision and recall over agents (an agent counts once, at its first alert), false positives
 * on honest agents, and time to detection from `attackFrom` (virtual ms).
 * `kindOf` maps every identity the simulation registered to its kind ('buyer' for buyers); agents it does not
 * know (the built-in verifier) count as neither attacker nor honest.
 */
export function scoreAlerts(alerts: readonly SimAlert[], kindOf: ReadonlyMap<string, string>, attackFrom: number): DetectorScore[] {
  const honestKinds = new Set(['honest', 'unreliable', 'buyer']);
  const honest = [...kindOf].filter(([, k]) => honestKinds.has(k)).map(([a]) => a);
  const kinds = [...new Set([...Object.keys(DETECTOR_TARGETS), ...alerts.map((a) => a.kind)])];
  return kinds.map((detector) => {
    const targets = DETECTOR_TARGETS[detector] ?? [];
    const first = new Map<string, number>();
    let count = 0;
    for (const a of alerts) {
      if (a.kind !== detector) continue;
      count++;
      for (const id of a.agents) if (!first.has(id) || first.get(id)! > a.firstSeen) first.set(id, a.firstSeen);
    }
    const positives = [...kindOf].filter(([, k]) => targets.includes(k)).map(([a]) => a);
    const pos = new Set(positives);
    let tp = 0;
    let fp = 0;
    const delays: number[] = [];
    for (const [id, at] of first) {
      if (!kindOf.has(id)) continue;
      if (pos.has(id)) { tp++; delays.push(Math.max(0, (at - attackFrom) / 3_600_000)); } else fp++;
    }
    const honestFlagged = honest.filter((a) => first.has(a)).length;
    delays.sort((a, b) => a - b);
    return {
      detector, targets, alerts: count, flagged: first.size, truePositives: tp, falsePositives: fp, falseNegatives: pos.size - tp,
      precision: tp + fp > 0 ? tp / (tp + fp) : null, recall: pos.size > 0 ? tp / pos.size : null,
      honestFlagged, honestAgents: honest.length, falsePositiveRate: honest.length ? honestFlagged / honest.length : 0,
      hoursToDetect: { median: delays.length ? delays[delays.length >> 1]! : null, max: delays.length ? delays[delays.length - 1]! : null },
    };
  });
}

// ------------------------------------------------------------------------------ rewards vs fees

export interface AgentRewardFacts { id: string; kind: string; quality?: number; paid: number; tier: string; referralsPaid: number }

export interface RewardsByKind {
  kind: string;
  agents: number;
  /** AITBC received as rewards (statements and referral rewards paid) */
  rewards: number;
  /** AITBC of platform fees on their sales, at the nominal fee rate */
  fees: number;
  /** AITBC sold (released to them as sellers) */
  sold: number;
  /** (rewards - fees) / fees: below 0, the kind paid more in fees than it received; null without fees */
  rewardReturn: number | null;
  /** rewards per AITBC sold */
  rewardsPerSold: number | null;
  referralsPaid: number;
}

/** Honest providers are split by hidden quality, so "high-quality providers earn the most per unit of work" can be read off. */
export function rewardKind(kind: string, quality: number | undefined): string {
  if (kind !== 'honest' || quality === undefined) return kind;
  return quality >= 0.93 ? 'honest (quality >= 0.93)' : 'honest (quality < 0.93)';
}

export function rewardsByKind(agents: readonly AgentRewardFacts[], soldBy: ReadonlyMap<string, number>, feeRate: number): RewardsByKind[] {
  const groups = new Map<string, AgentRewardFacts[]>();
  for (const a of agents) {
    const k = rewardKind(a.kind, a.quality);
    groups.set(k, [...(groups.get(k) ?? []), a]);
  }
  return [...groups].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([kind, list]) => {
    const rewards = list.reduce((s, a) => s + a.paid, 0);
    const sold = list.reduce((s, a) => s + (soldBy.get(a.id) ?? 0), 0);
    const fees = sold * feeRate;
    return {
      kind, agents: list.length, rewards, fees, sold, rewardReturn: fees > 0 ? (rewards - fees) / fees : null, rewardsPerSold: sold > 0 ? rewards / sold : null,
      referralsPaid: list.reduce((s, a) => s + a.referralsPaid, 0),
    };
  });
}

/** Agents per reward tier (from the last closed epoch's statements). */
export function tierCounts(agents: readonly AgentRewardFacts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of agents) out[a.tier] = (out[a.tier] ?? 0) + 1;
  return out;
}

// ------------------------------------------------------------------------------ certification vs hidden quality

export const LEVELS = ['basic', 'intermediate', 'advanced', 'enterprise'] as const;

export interface CertFacts { kind: string; quality: number; level: string | null }

export interface CertificationSummary {
  /** provider kind -> level ('none' for no live certificate) -> providers */
  byKind: Record<string, Record<string, number>>;
  /** share of honest providers of hidden quality >= 0.9 holding basic or above, and advanced or above */
  highQuality: { providers: number; basicOrAbove: number; advancedOrAbove: number };
  /** the same for low-quality providers (hidden quality < 0.7: unreliable ones) */
  lowQuality: { providers: number; basicOrAbove: number; advancedOrAbove: number };
  /** attackers holding any live certificate, by kind */
  attackersCertified: Record<string, number>;
}

const rank = (level: string | null) => (level === null ? -1 : LEVELS.indexOf(level as (typeof LEVELS)[number]));

export function certificationSummary(providers: readonly CertFacts[], attackerKinds: ReadonlySet<string>): CertificationSummary {
  const byKind: Record<string, Record<string, number>> = {};
  const attackersCertified: Record<string, number> = {};
  for (const p of providers) {
    const row = (byKind[p.kind] ??= {});
    row[p.level ?? 'none'] = (row[p.level ?? 'none'] ?? 0) + 1;
    if (attackerKinds.has(p.kind)) attackersCertified[p.kind] = (attackersCertified[p.kind] ?? 0) + (p.level ? 1 : 0);
  }
  const share = (list: readonly CertFacts[]) => ({
    providers: list.length,
    basicOrAbove: list.length ? list.filter((p) => rank(p.level) >= 0).length / list.length : 0,
    advancedOrAbove: list.length ? list.filter((p) => rank(p.level) >= 2).length / list.length : 0,
  });
  return {
    byKind,
    highQuality: share(providers.filter((p) => p.kind === 'honest' && p.quality >= 0.9)),
    lowQuality: share(providers.filter((p) => !attackerKinds.has(p.kind) && p.quality < 0.7)),
    attackersCertified,
  };
}

// ------------------------------------------------------------------------------ in words

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** The checks as lines of text (the CLI prints them; report.html shows them as a list). */
export function checkLines(c: {
  marketData: { allEqual: boolean; rows: FiguresRow[]; verifierTrades: number };
  risk: { alerts: number; scores: DetectorScore[] };
  rewards: { epochs: { closed: number; paid: number }; tiers: Record<string, number>; byKind: RewardsByKind[]; agentsPaid: number };
  certification: (CertificationSummary & { activity: { heartbeats: number; granted: number } }) | { notRun: string };
}): string[] {
  const out: string[] = [];
  const md = c.marketData;
  const run = md.rows[0];
  const bad = md.rows.filter((r) => !r.equal);
  out.push(`market data: the trade log (with the verifier's ${md.verifierTrades} trades) against GET /v1/market/overview and /prices: ` +
    `${md.allEqual ? 'identical' : `${bad.length} of ${md.rows.length} rows differ (${bad.slice(0, 3).map((r) => r.scope).join(', ')})`}` +
    (run ? `; run: ${run.log.trades} trades, ${run.log.units} units, ${run.log.volume} AITBC, VWAP ${run.log.vwap ?? 'n/a'} (API: ${run.api.trades}, ${run.api.units}, ${run.api.volume}, ${run.api.vwap ?? 'n/a'})` : ''));
  for (const s of c.risk.scores) {
    if (!s.targets.length && !s.alerts) continue;
    out.push(`risk ${s.detector}${s.targets.length ? ` (against ${s.targets.join(', ')})` : ''}: ${s.alerts} alerts, precision ${pct(s.precision)}, recall ${pct(s.recall)}, ` +
      `honest agents flagged ${s.honestFlagged} of ${s.honestAgents} (${pct(s.falsePositiveRate)}), hours to detect median ${s.hoursToDetect.median === null ? 'n/a' : num(s.hoursToDetect.median)}, max ${s.hoursToDetect.max === null ? 'n/a' : num(s.hoursToDetect.max)}`);
  }
  const r = c.rewards;
  out.push(`rewards: ${r.epochs.closed} epochs closed, ${num(r.epochs.paid)} AITBC paid to ${r.agentsPaid} agents; tiers ${Object.entries(r.tiers).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const k of r.byKind) {
    out.push(`  ${k.kind}: ${k.agents} agents, rewards ${num(k.rewards)} AITBC, fees on sales ${num(k.fees)}, return ${k.rewardReturn === null ? 'n/a (no sales)' : pct(k.rewardReturn)}` +
      `${k.rewardsPerSold === null ? '' : `, ${(k.rewardsPerSold * 100).toFixed(3)}% of sales`}${k.referralsPaid ? `, referral rewards ${k.referralsPaid}` : ''}`);
  }
  const cert = c.certification;
  if ('notRun' in cert) out.push(`certification: not run (${cert.notRun})`);
  else {
    out.push(`certification: ${cert.activity.granted} granted; high-quality honest providers at basic+ ${pct(cert.highQuality.basicOrAbove)}, advanced+ ${pct(cert.highQuality.advancedOrAbove)} ` +
      `(${cert.highQuality.providers}); low-quality at basic+ ${pct(cert.lowQuality.basicOrAbove)}, advanced+ ${pct(cert.lowQuality.advancedOrAbove)} (${cert.lowQuality.providers}); ` +
      `attackers certified: ${Object.entries(cert.attackersCertified).map(([k, v]) => `${k} ${v}`).join(', ') || 'none present'}`);
  }
  return out;
}
