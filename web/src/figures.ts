/** What the pages show, from the API's JSON (pure: the browser tests compute the expected texts with it). */
import { aitbc, amount, duration, int, pct, trend } from './format.js';

/** The KPI texts of an overview pair, in page order (the browser test compares them with the page). */
export function kpiTexts(cur: any, prev: any) {
  const active = (o: any) => (o.activeBuyers ?? 0) + (o.activeSellers ?? 0);
  return [
    { id: 'active', label: 'Active agents', value: int(active(cur)), trend: trend(active(cur), active(prev)), hint: `${int(cur.activeBuyers)} buying · ${int(cur.activeSellers)} selling` },
    { id: 'volume', label: 'Volume, 24 h', value: aitbc(cur.volume), trend: trend(Number(cur.volume), Number(prev.volume)) },
    { id: 'trades', label: 'Trades, 24 h', value: int(cur.trades), trend: trend(cur.trades, prev.trades) },
    { id: 'match', label: 'Match rate', value: pct(cur.matchRate), trend: trend(cur.matchRate, prev.matchRate), hint: 'requests that reached an agreement' },
    { id: 'settlement', label: 'Settlement time (median)', value: duration(cur.timeToSettlementSeconds.p50), trend: trend(cur.timeToSettlementSeconds.p50, prev.timeToSettlementSeconds.p50), goodWhenUp: false, hint: `p99 ${duration(cur.timeToSettlementSeconds.p99)}` },
    { id: 'crossborder', label: 'Cross-border share', value: pct(cur.crossBorderShare), trend: trend(cur.crossBorderShare, prev.crossBorderShare), hint: 'trades between countries' },
  ];
}

/** The surge / discount signal of a supply-demand ratio (the rule of /v1/listings/{id}/price-advice). */
export function signal(ratio: number | null | undefined, demand: number): 'surge' | 'discount' | 'none' {
  if (demand > 0 && (ratio === null || ratio === undefined || ratio < 1)) return 'surge';
  if (ratio !== null && ratio !== undefined && ratio > 2) return 'discount';
  return 'none';
}

export function indexText(p: any) {
  return p.status === 'ok' ? amount(p.index) : `not enough trades (${p.sampleSize} of ${p.minimumSample})`;
}

