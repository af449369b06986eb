/**
 * Detector evaluation on a synthetic market (pure, seeded; no server): honest buyers and providers (loyal
 * customers, cheap providers that deliver, unreliable ones, a region's providers registered the same hour),
 * attacks injected at a known time (wash rings passing the same amount around, spoofers listing far below
 * the index and failing to deliver), and a supply outage (every seller of one cell reprices x2.5). The risk
 * detectors run every simulated hour over their window, as the service does; the result is per-detector
 * precision and recall over agents, false positives among honest agents and time to detection.
 *
 * This measures the detectors on this generator's market, not on src/sim's HTTP-driven scenarios.
 */
import { detectSpoofing, detectSybil, detectVolatility, detectWash, type RiskTrade } from '../modules/risk/detectors.js';
import type { AccountSignals } from '../modules/reputation/index.js';
import { mulberry32 } from '../platform/rng.js';

const H = 3_600_000;
const DAY = 24 * H;

export interface EvalOptions { seed: number; honestBuyers: number; providers: number; washRings: number; spoofers: number; days: number; attackDay: number; outageDay: number }
export const DEFAULT_EVAL: EvalOptions = { seed: 1, honestBuyers: 150, providers: 40, washRings: 4, spoofers: 4, days: 5, attackDay: 2, outageDay: 3 };

export interface DetectorScore { detector: string; truePositives: number; falsePositives: number; falseNegatives: number; precision: number; recall: number; honestFlagged: number; honestAgents: number; fpr: number; maxHoursToDetect: number | null }
export interface EvalResult { trades: number; scores: DetectorScore[]; volatility: { outageCell: string; warnedAfterHours: number | null; otherCellsWarned: number; otherWarnings: string[] } }

export function evaluateDetectors(o: EvalOptions = DEFAULT_EVAL): EvalResult {
  const rnd = mulberry32(o.seed);
  const cells = [['gpu_compute', 'eu-west'], ['gpu_compute', 'us-east'], ['inference', 'eu-west'], ['inference', 'ap-south']] as const;
  const providers = Array.from({ length: o.providers }, (_, i) => ({
    id: `p${i}`, cell: cells[i % cells.length]!, price: 100 * (0.9 + 0.2 * rnd()) * (i % 10 === 3 ? 0.72 : 1), reliability: i % 10 === 7 ? 0.7 : 0.98,
  }));
  const accounts: AccountSignals[] = providers.map((p, i) => ({
    // a region's providers registered within the same hour (honest look-alike for the same-owner detector)
    id: p.id, displayName: `provider ${p.cell[1]} ${i}`, type: 'provider', country: 'DE', region: p.cell[1], categories: [p.cell[0]], publicKey: `k-${p.id}`,
    createdAt: i * 60_000, funder: null,
  }));
  const buyers = Array.from({ length: o.honestBuyers }, (_, i) => ({ id: `b${i}`, cell: cells[i % cells.length]!, loyalTo: i % 5 === 0 ? providers.filter((p) => p.cell === cells[i % cells.length])[0]!.id : null }));
  for (const b of buyers) accounts.push({ id: b.id, displayName: `buyer${b.id}`, type: 'consumer', country: 'FR', region: b.cell[1], categories: [b.cell[0]], publicKey: `k-${b.id}`, createdAt: 10 * DAY + Number(b.id.slice(1)) * 7_200_000, funder: null });
  const trades: RiskTrade[] = [];
  let n = 0;
  const push = (t: Omit<RiskTrade, 'id'>) => trades.push({ id: `t${++n}`, ...t });
  const truth = { wash: new Set<string>(), spoofing: new Set<string>() };
  const attackAt = o.attackDay * DAY;
  const rings = Array.from({ length: o.washRings }, (_, r) => [0, 1, 2].map((k) => `w${r}-${k}`));
  for (const ring of rings) {
    for (const id of ring) { truth.wash.add(id); accounts.push({ id, displayName: `w${id}`, type: 'both', country: 'US', region: 'us-east', categories: ['gpu_compute'], publicKey: `k-${id}`, createdAt: attackAt, funder: null }); }
  }
  const spoofers = Array.from({ length: o.spoofers }, (_, i) => ({ id: `s${i}`, cell: cells[i % cells.length]! }));
  for (const s of spoofers) truth.spoofing.add(s.id);

  for (let h = 0; h < o.days * 24; h++) {
    const at = h * H;
    const outage = at >= o.outageDay * DAY;
    for (const b of buyers) {
      if (rnd() > 2 / 24) continue; // ~2 purchases a day
      const pool = providers.filter((p) => p.cell === b.cell);
      const p = b.loyalTo ? pool.find((x) => x.id === b.loyalTo)! : pool[Math.floor(rnd() * pool.length)]!;
      const mult = outage && b.cell === cells[0] ? 2.5 : 1;
      const price = BigInt(Math.round(p.price * mult * (0.97 + 0.06 * rnd())));
      const q = 1 + Math.floor(rnd() * 5);
      push({ at: at + Math.floor(rnd() * H), buyerId: b.id, sellerId: p.id, listingId: `L-${p.id}`, category: b.cell[0], region: b.cell[1], amount: price * BigInt(q) * 10n ** 8n, pricePerUnit: price, success: rnd() < p.reliability });
      // spoofers catch some of the demand once they appear
      if (at >= attackAt && rnd() < 0.15) {
        const s = spoofers.find((x) => x.cell === b.cell);
        if (s) push({ at: at + Math.floor(rnd() * H), buyerId: b.id, sellerId: s.id, listingId: `L-${s.id}`, category: b.cell[0], region: b.cell[1], amount: 50n * BigInt(q) * 10n ** 8n, pricePerUnit: 50n, success: rnd() < 0.15 });
      }
    }
    if (at >= attackAt && h % 3 === 0) {
      for (const ring of rings) for (let k = 0; k < 3; k++) {
        push({ at: at + k * 60_000, buyerId: ring[k]!, sellerId: ring[(k + 1) % 3]!, listingId: `L-${ring[(k + 1) % 3]}`, category: 'gpu_compute', region: 'us-east', amount: 500n * 10n ** 8n, pricePerUnit: 100n, success: true });
      }
    }
  }
  trades.sort((a, b) => a.at - b.at);
  const honest = new Set([...providers.map((p) => p.id), ...buyers.map((b) => b.id)]);
  const first: Record<string, Map<string, number>> = { wash: new Map(), sybil: new Map(), spoofing: new Map() };
  let warned: number | null = null;
  const otherWarned = new Set<string>();
  const outageKey = `${cells[0][0]}|${cells[0][1]}`;
  let i = 0;
  for (let h = 1; h <= o.days * 24; h++) {
    const now = h * H;
    while (i < trades.length && trades[i]!.at < now) i++;
    const win = trades.slice(0, i).filter((t) => t.at >= now - 7 * DAY);
    const mark = (kind: string, agents: string[]) => { for (const a of agents) if (!first[kind]!.has(a)) first[kind]!.set(a, now); };
    for (const f of detectWash(win)) mark('wash', f.agents);
    for (const f of detectSybil(accounts, win)) mark('sybil', f.agents);
    for (const f of detectSpoofing(win)) mark('spoofing', f.agents);
    for (const f of detectVolatility(win).findings) {
      const k = `${f.cell!.category}|${f.cell!.region}`;
      if (k === outageKey && now >= o.outageDay * DAY) warned ??= now - o.outageDay * DAY;
      else otherWarned.add(`${k}@${h}h:${f.figures.sigma}`);
    }
  }
  const score = (detector: string, positives: Set<string>): DetectorScore => {
    const flagged = first[detector]!;
    let tp = 0, fp = 0, maxT: number | null = null;
    for (const [a, t] of flagged) {
      if (positives.has(a)) { tp++; maxT = Math.max(maxT ?? 0, (t - attackAt) / H); } else fp++;
    }
    const honestFlagged = [...flagged.keys()].filter((a) => honest.has(a)).length;
    const fn = [...positives].filter((a) => !flagged.has(a)).length;
    return {
      detector, truePositives: tp, falsePositives: fp, falseNegatives: fn, precision: tp + fp ? tp / (tp + fp) : 1, recall: positives.size ? tp / positives.size : 1,
      honestFlagged, honestAgents: honest.size, fpr: honestFlagged / honest.size, maxHoursToDetect: maxT,
    };
  };
  return {
    trades: trades.length,
    // the same-owner detector is scored against the wash rings too (they share no account link here, so it should stay silent on them and on the honest)
    scores: [score('wash', truth.wash), score('spoofing', truth.spoofing), score('sybil', new Set())],
    volatility: { outageCell: outageKey, warnedAfterHours: warned === null ? null : warned / H, otherCellsWarned: new Set([...otherWarned].map((x) => x.split('@')[0])).size, otherWarnings: [...otherWarned].slice(0, 6) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seeds = [1, 2, 3];
  for (const seed of seeds) console.log(JSON.stringify({ seed, ...evaluateDetectors({ ...DEFAULT_EVAL, seed }) }));
}
