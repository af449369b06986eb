/**
 * The simulation report as one self-contained HTML page: no scripts, no external assets, charts drawn
 * as inline SVG from the report's numbers (so the page is exactly as reproducible as the JSON).
 */
import { ACTIVE_DEFINITION, type MarketMetrics, type SuccessMetric } from './metrics.js';
import type { SimVerifierRecord } from './driver.js';

export interface SimReport {
  scenario: string;
  seed: number;
  agents: number;
  days: number;
  startedAt?: string;
  wallSeconds?: number;
  metrics: MarketMetrics;
  success: SuccessMetric[];
  /** Providers' (trueQuality, trustScore) pairs for the scatter plot. */
  trustVsQuality: Array<[number, number]>;
  /** Settlement times (ms) histogram: bucket upper bounds and counts. */
  settlementHistogram: Array<{ leMs: number; count: number }>;
  ledger: { ok: boolean; violations: string[] };
  /** Heap in use at the end of each simulated day (MB). */
  memory?: Array<{ day: number; heapMB: number }>;
  /** Day the attackers joined (0 or absent: from the start). */
  attackersFromDay?: number;
  /** With attackers: the reputation benchmark's targets measured on this market. */
  attack?: SuccessMetric[];
  /** Non-attackers' Spearman of trust vs true quality in the same market without attackers. */
  controlSpearman?: number | null;
  /** The built-in verifier (the market's probe agent): budget, spend, challenges. */
  verifier?: SimVerifierRecord;
  /** The checks of market data, risk alerts, rewards and certification, in words (checks.ts `checkLines`). */
  checks?: string[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null, digits = 2) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));

const W = 560;
const H = 220;
const PAD = 36;

function axes(title: string, body: string, xLabel: string, yLabel: string): string {
  return `<figure><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<line x1="${PAD}" y1="${H - PAD}" x2="${W - 8}" y2="${H - PAD}" stroke="#888"/><line x1="${PAD}" y1="8" x2="${PAD}" y2="${H - PAD}" stroke="#888"/>
<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>
<text x="10" y="${H / 2}" font-size="11" transform="rotate(-90 10 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text>
${body}</svg><figcaption>${esc(title)}</figcaption></figure>`;
}

export function lineChart(title: string, ys: readonly number[], xLabel: string, yLabel: string): string {
  if (ys.length === 0) return '';
  const max = Math.max(...ys, 1e-9);
  const x = (i: number) => PAD + (i * (W - PAD - 8)) / Math.max(1, ys.length - 1);
  const y = (v: number) => H - PAD - (v / max) * (H - PAD - 16);
  const pts = ys.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return axes(title, `<polyline fill="none" stroke="#2b6cb0" stroke-width="2" points="${pts}"/>
<text x="${PAD + 4}" y="16" font-size="10">max ${fmt(max)}</text>`, xLabel, yLabel);
}

export function barChart(title: string, bars: ReadonlyArray<{ label: string; value: number }>, xLabel: string, yLabel: string): string {
  if (bars.length === 0) return '';
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const bw = (W - PAD - 8) / bars.length;
  const body = bars.map((b, i) => {
    const h = (b.value / max) * (H - PAD - 24);
    const x0 = PAD + i * bw + 2;
    return `<rect x="${x0.toFixed(1)}" y="${(H - PAD - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="#38a169"><title>${esc(b.label)}: ${fmt(b.value, 4)}</title></rect>
<text x="${(x0 + bw / 2 - 2).toFixed(1)}" y="${H - PAD + 12}" font-size="9" text-anchor="middle">${esc(b.label.slice(0, 12))}</text>`;
  }).join('\n');
  return axes(title, body, xLabel, yLabel);
}

export function scatter(title: string, points: ReadonlyArray<[number, number]>, xMax: number, yMax: number, xLabel: string, yLabel: string): string {
  const x = (v: number) => PAD + (v / xMax) * (W - PAD - 8);
  const y = (v: number) => H - PAD - (v / yMax) * (H - PAD - 16);
  const body = points.map(([a, b]) => `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="2" fill="#805ad5" fill-opacity="0.6"/>`).join('');
  return axes(title, body, xLabel, yLabel);
}

function verifierSection(v: SimVerifierRecord): string {
  const c = v.challenges;
  const kv: Array<[string, string]> = [
    ['Probe evidence from', 'the built-in verifier only (no simulated probe agents): challenge jobs bought through the ordinary trade flow'],
    ['Settings', `up to ${v.challengesPerRun} challenges a simulated hour, each seller at most every ${v.cooldownHours} h, listings up to ${fmt(v.maxPrice)} AITBC a unit`],
    ['Budget', `${fmt(v.dailyBudget)} AITBC a day, ${fmt(v.budget)} AITBC over the run (wallet funded with ${fmt(v.funded)})`],
    ['Spent', `${fmt(v.spent)} AITBC paid to sellers (${fmt(v.budget > 0 ? (100 * v.spent) / v.budget : 0, 1)}% of the budget), ${fmt(v.held)} AITBC still in escrow, ${fmt(v.balance)} AITBC left`],
    ['Challenges', `${fmt(c.passed, 0)} passed, ${fmt(c.failed, 0)} failed${Object.keys(v.failedBy).length ? ` (${Object.entries(v.failedBy).map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`).join(', ')})` : ''}, ${fmt(c.abandoned, 0)} abandoned (no trade), ${fmt(c.inFlight, 0)} in flight at the end`],
    ['Sellers\' answers', `${fmt(v.answered, 0)} deliveries with a digest, ${fmt(v.answeredCorrectly, 0)} correct`],
  ];
  return `<h2>The built-in verifier</h2>
<table>${kv.map(([k, x]) => `<tr><td>${esc(k)}</td><td>${esc(x)}</td></tr>`).join('\n')}</table>`;
}

export function renderHtml(r: SimReport): string {
  const m = r.metrics;
  const metricRows = (xs: SuccessMetric[]) => xs.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.target)}</td><td>${s.value === null ? '&mdash;' : `${fmt(s.value)} ${esc(s.unit)}`}</td>
<td class="${s.met === null ? 'na' : s.met ? 'met' : 'missed'}">${s.met === null ? `not measured (${esc(s.reason ?? 'no reason given')})` : s.met ? 'met' : 'missed'}${s.met !== null && s.reason ? `<br><small>${esc(s.reason)}</small>` : ''}</td></tr>`).join('\n');
  const rows = metricRows(r.success);
  const regions = Object.entries(m.priceSpread.byCategory).flatMap(([cat, v]) =>
    Object.entries(v.regions).map(([region, price]) => ({ label: `${cat.slice(0, 5)} ${region}`, value: price })));
  const kv: Array<[string, string]> = [
    ['Agents active (of registered)', `${fmt(m.activeAgents, 0)} of ${fmt(m.registeredAgents, 0)}`],
    ['Requests', fmt(m.requests, 0)], ['Agreements funded', fmt(m.agreements, 0)], ['Trades settled (all outcomes, attackers\' own included)', fmt(m.trades, 0)],
    ['Completed market trades per day (mean)', fmt(m.completedTradesPerDay)], ['Market volume per day (mean)', `${fmt(m.volumePerDayAITBC)} AITBC`],
    ['Cross-border share of volume', `${fmt(m.crossBorderShare * 100)}%`], ['Match rate', `${fmt(m.matchRate * 100)}%`],
    ['Fill rate (agreements)', `${fmt(m.fillRate * 100)}%`], ['Successful trades', `${fmt(m.successRate * 100)}%`],
    ['Settlement p50 / p99', `${fmt(m.settlementMs.p50)} / ${fmt(m.settlementMs.p99)} ms`],
    ['Max regional price spread', m.priceSpread.max === null ? `not measured (${m.priceSpread.reason ?? ''})` : `${fmt(m.priceSpread.max * 100)}%`],
    ['Retention (week 1 to last week)', m.retention === null ? 'not measured (needs a run of at least 14 days)' : `${fmt(m.retention * 100)}%`],
    ['Monthly retention (days 1-30 to the last 30 days)', m.monthlyRetention === null ? 'not measured (needs a run of at least 60 days)' : `${fmt(m.monthlyRetention * 100)}%`],
    ['Agent-to-agent share of volume', `${fmt(m.agentToAgentShare * 100)}%`], ['Seller concentration (HHI)', fmt(m.hhi, 0)],
    [`Jobs routed to malicious providers${r.attackersFromDay ? ` (from day ${r.attackersFromDay + 1}, when attackers joined)` : ''}`, `${fmt(m.maliciousShare * 100)}%`], ['Trust vs true quality (Spearman)', fmt(m.trustQualitySpearman, 3)],
    ['Non-attackers only (ranking preserved?)', fmt(m.honestTrustQualitySpearman, 3)],
    ...(r.controlSpearman !== undefined ? [['Non-attackers, same market without attackers', fmt(r.controlSpearman, 3)] as [string, string]] : []),
    ['Ledger audit', r.ledger.ok ? 'ok' : `FAILED: ${r.ledger.violations.join('; ')}`],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agent-economy simulation: ${esc(r.scenario)} (seed ${r.seed})</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;color:#1a202c}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}
.met{background:#c6f6d5}.missed{background:#fed7d7}.na{background:#edf2f7}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
figure{margin:0;border:1px solid #e2e8f0;padding:6px}figcaption{font-size:12px;color:#4a5568}
</style></head><body>
<h1>Simulation report: ${esc(r.scenario)}</h1>
<p>${fmt(r.agents, 0)} agents registered (${fmt(m.activeAgents, 0)} active), ${r.days} simulated days, seed ${r.seed}${r.wallSeconds !== undefined ? `, ${fmt(r.wallSeconds, 1)} s wall time` : ''}.</p>
<h2>Success metrics</h2>
<p>The plan's targets. Amounts are in AITBC. Active: ${esc(ACTIVE_DEFINITION)}.</p>
<table><tr><th>Metric</th><th>Target</th><th>Measured</th><th></th></tr>
${rows}</table>
${r.attack ? `<h2>Attackers: the reputation benchmark's targets on this market</h2>
<table><tr><th>Check</th><th>Target</th><th>Measured</th><th></th></tr>
${metricRows(r.attack)}</table>` : ''}
${r.verifier ? verifierSection(r.verifier) : ''}
${r.checks?.length ? `<h2>The service against what the simulation knows</h2>
<p>Market data (analytics API) against the trade log, risk alerts against the attackers the scenario injected, rewards against fees, certification against hidden quality (report.json <code>outcome.checks</code>).</p>
<ul>${r.checks.map((l) => `<li>${esc(l)}</li>`).join('\n')}</ul>` : ''}
<h2>Market</h2>
<table>${kv.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('\n')}</table>
<h2>Where the jobs went, by kind of provider</h2>
<table><tr><th>Kind</th><th>Providers</th><th>Median trust</th><th>Max trust</th><th>Share of routed jobs</th></tr>
${Object.entries(m.byKind).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${fmt(v.providers, 0)}</td><td>${fmt(v.medianTrust, 0)}</td><td>${fmt(v.maxTrust, 0)}</td><td>${fmt(v.jobShare * 100)}%</td></tr>`).join('\n')}</table>
<div class="grid">
${lineChart('Trade volume per simulated day (AITBC)', m.volumeByDayAITBC, 'day', 'AITBC')}
${barChart('Settlement time distribution (real ms)', r.settlementHistogram.map((b) => ({ label: `<=${b.leMs}`, value: b.count })), 'ms', 'trades')}
${barChart('Median unit price by category and region (AITBC)', regions, 'category, region', 'AITBC/unit')}
${r.memory && r.memory.length > 1 ? lineChart('Heap in use at the end of each simulated day (MB)', r.memory.map((x) => x.heapMB), 'day', 'MB') : ''}
${scatter('Trust score vs hidden true quality (providers)', r.trustVsQuality, 1, 1000, 'true quality', 'trust score')}
</div>
</body></html>
`;
}
