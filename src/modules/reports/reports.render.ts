/**
 * The formats of a report, all rendered from its model (reports.model.ts): HTML (self-contained: inline
 * CSS, charts as inline SVG), PDF (pdfkit, charts drawn from the same SVG with svg-to-pdfkit; no browser),
 * and CSV (one table per section). Charts are rendered on the server with ECharts' SSR to SVG strings.
 */
import type { Chart, Kpi, ReportModel, Target, Unit } from './reports.model.js';

// ---------- numbers for people ----------
function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
/** An AITBC decimal string with thousands separators and at most `dp` decimals (rounded half up). */
export function fmtAitbc(v: string | number, dp = 2): string {
  const n = typeof v === 'number' ? v : Number(v);
  const neg = n < 0;
  const [i, f] = Math.abs(n).toFixed(dp).split('.');
  const frac = f ? f.replace(/0+$/, '') : '';
  return `${neg ? '-' : ''}${groupThousands(i!)}${frac ? `.${frac}` : ''}`;
}
export function fmt(v: string | number | null | undefined, unit: Unit | string | null): string {
  if (v === null || v === undefined) return 'n/a';
  const n = typeof v === 'number' ? v : Number(v);
  switch (unit) {
    case 'AITBC': return `${fmtAitbc(v)} AITBC`;
    case 'AITBC/unit': return `${fmtAitbc(v, 4)} AITBC`;
    case 'share': return `${(n * 100).toFixed(1)}%`;
    case 'seconds': return `${fmtAitbc(n, 1)} s`;
    default: return fmtAitbc(n, 2);
  }
}
export function fmtChange(c: number | null): string {
  if (c === null) return 'n/a';
  return `${c > 0 ? '+' : ''}${(c * 100).toFixed(1)}%`;
}
const STATUS: Record<Target['status'], string> = { met: 'met', missed: 'missed', not_measured: 'not measured' };
export const targetText = (t: Target) => (t.status === 'not_measured' ? `not measured: ${t.reason}` : `${fmt(t.actual, t.unit)} (${STATUS[t.status]})`);
/** Agent and listing ids shortened to their last 12 characters (the first ones are a timestamp, alike for agents made the same day). */
const short = (id: string) => `...${id.slice(-12)}`;
const TREND_LABEL: Record<string, string> = { trades: 'Trades', volume: 'Volume', vwap: 'Average unit price', newAgents: 'New agents', matchRate: 'Match rate', disputeRate: 'Dispute rate' };
const pv = (p: number | null) => (p === null ? 'n/a' : p < 0.0001 ? '< 0.0001' : p.toFixed(4));

// ---------- tables (shared by HTML, PDF and CSV) ----------
export interface Table { name: string; title: string; columns: string[]; rows: (string | number | null)[][] }

export function tables(m: ReportModel): Table[] {
  const i = m.insights;
  const kpi = (k: Kpi) => [k.label, fmt(k.current, k.unit), fmt(k.previous, k.unit), fmtChange(k.change)];
  const out: Table[] = [
    { name: 'kpis', title: 'Key figures against the previous period', columns: ['figure', 'this period', 'previous period', 'change'], rows: m.kpis.map(kpi) },
    { name: 'targets', title: "The plan's success metrics", columns: ['metric', 'target', 'this period'], rows: m.targets.map((t) => [t.metric, t.target, targetText(t)]) },
    {
      name: 'trends', title: 'Trends: is the change significant?', columns: ['metric', 'this period', 'previous', 'change', 'test', 'p-value', 'significant'],
      rows: i.trends.map((t) => [TREND_LABEL[t.metric] ?? t.metric, fmtTrend(t.current, t.unit), fmtTrend(t.previous, t.unit), fmtChange(t.change), t.test.note ? `${t.test.name}: ${t.test.note}` : t.test.name, pv(t.test.pValue), t.test.significant === null ? 'n/a' : t.test.significant ? 'yes' : 'no']),
    },
    { name: 'volume_movers', title: 'Top movers: seller volume', columns: ['agent', 'this period', 'previous', 'change', 'trades'], rows: i.agentPerformance.volume.map((v) => [short(v.agentId), fmt(v.current, 'AITBC'), fmt(v.previous, 'AITBC'), fmt(v.change, 'AITBC'), v.trades]) },
    { name: 'fill_rate_movers', title: 'Top movers: fill rate (settled of ended agreements)', columns: ['agent', 'this period', 'previous', 'change'], rows: i.agentPerformance.fillRate.movers.map((v) => [short(v.agentId), fmt(v.current, 'share'), fmt(v.previous, 'share'), `${(v.change * 100).toFixed(1)} pts`]) },
    { name: 'trust_movers', title: 'Top movers: trust score', columns: ['agent', 'this period', 'previous', 'change'], rows: (i.agentPerformance.trust.movers ?? []).map((v) => [short(v.agentId), v.current, v.previous, v.change]) },
    { name: 'price_bands', title: 'Price optimisation: fill rate by distance from the price index (+-10%)', columns: ['band', 'listings', 'with an agreement', 'fill rate'], rows: i.priceOptimisation.bands.map((b) => [b.band, b.listings, b.withAgreement, fmt(b.fillRate, 'share')]) },
    { name: 'far_from_index', title: 'Listings furthest from their price index', columns: ['listing', 'spec', 'region', 'price', 'index', 'deviation', 'agreements'], rows: i.priceOptimisation.furthest.map((f) => [short(f.listingId), f.specClass, f.region, fmt(f.price, 'AITBC/unit'), fmt(f.index, 'AITBC/unit'), fmtChange(f.deviation), f.agreements]) },
    { name: 'concentration', title: 'Risk: seller concentration (HHI of volume)', columns: ['category', 'sellers', 'volume', 'HHI', 'level'], rows: i.risk.concentration.map((c) => [c.category, c.sellers, fmt(c.volume, 'AITBC'), c.hhi === null ? 'n/a' : c.hhi.toFixed(4), c.level ?? 'n/a']) },
    { name: 'volatility', title: 'Risk: price volatility (EWMA of daily returns)', columns: ['category', 'spec', 'region', 'volatility'], rows: i.risk.volatility.map((v) => [v.category, v.specClass, v.region, v.status === 'ok' ? `${((v.ewma ?? 0) * 100).toFixed(2)}%` : `n/a: ${v.reason}`]) },
    { name: 'dispute_days', title: 'Risk: disputes per day against the previous 28 days', columns: ['day', 'disputes', 'ended', 'p-value', 'spike'], rows: (i.risk.disputeSpikes.days ?? []).map((d) => [d.day.slice(0, 10), d.disputes, d.ended, pv(d.pValue), d.spike ? 'SPIKE' : 'no']) },
    { name: 'regional_spread', title: 'Risk: cross-region spread of the price index (target < 5%)', columns: ['category', 'spec', 'spread', 'cheapest', 'dearest'], rows: i.risk.regionalSpread.map((s) => [s.category, s.specClass, s.status === 'ok' ? fmt(s.spread!, 'share') : `n/a: ${s.reason}`, s.low ? `${s.low.region} ${s.low.index}` : '', s.high ? `${s.high.region} ${s.high.index}` : '']) },
  ];
  return out;
}
function fmtTrend(v: string | number | null, unit: string): string {
  return fmt(v, unit === 'AITBC' ? 'AITBC' : unit === 'AITBC per unit' ? 'AITBC/unit' : unit.startsWith('share') || unit.startsWith('disputes') ? 'share' : 'count');
}
/** Why a section has no rows, when it has none. */
export function emptyReason(m: ReportModel, name: string): string {
  const i = m.insights;
  const r: Record<string, string | undefined> = {
    volume_movers: 'no seller traded in this or the previous period',
    fill_rate_movers: i.agentPerformance.fillRate.reason,
    trust_movers: i.agentPerformance.trust.reason ?? 'no trust score changed between the period start and end',
    far_from_index: i.priceOptimisation.reason,
    dispute_days: i.risk.disputeSpikes.reason ?? 'no agreement ended in the period',
    concentration: 'no trades in the period', volatility: 'no trades in the period', regional_spread: 'no trades in the period',
  };
  return r[name] ?? 'nothing in this period';
}

// ---------- charts ----------
/** One chart as an SVG string (ECharts server-side rendering, no DOM). */
export async function chartSvg(c: Chart, width = 640, height = 260): Promise<string> {
  const echarts = await import('echarts');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({
    animation: false, backgroundColor: '#ffffff', color: ['#2f6fdf', '#b0b7c3'],
    textStyle: { fontFamily: 'Helvetica, Arial, sans-serif' },
    title: { text: c.title, left: 8, top: 4, textStyle: { fontSize: 13, fontWeight: 'bold', color: '#1f2937' } },
    legend: c.series.length > 1 ? { top: 4, right: 8, textStyle: { fontSize: 11 } } : undefined,
    grid: { left: 56, right: 16, top: 40, bottom: 32 },
    xAxis: { type: 'category', data: c.x, axisLabel: { fontSize: 10, color: '#4b5563' } },
    yAxis: { type: 'value', axisLabel: { fontSize: 10, color: '#4b5563' }, splitLine: { lineStyle: { color: '#e5e7eb' } } },
    series: c.series.map((s) => ({ name: s.name, type: c.kind, data: s.data, connectNulls: false, showSymbol: c.kind === 'line', barMaxWidth: 24 })),
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

// ---------- HTML ----------
const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const CSS = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#1f2937;margin:0;background:#f6f7f9}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d1d5db;padding-bottom:4px}h3{font-size:14px;margin:18px 0 6px}
.meta{color:#4b5563;margin:0 0 12px}.note{background:#fff7e6;border:1px solid #f5d08a;padding:8px 12px;border-radius:4px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}
.kpi{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:10px}.kpi .l{font-size:12px;color:#4b5563}.kpi .v{font-size:20px;font-weight:bold}
.kpi .c{font-size:12px;color:#4b5563}.up{color:#0a7a3d}.down{color:#b42318}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.met{color:#0a7a3d;font-weight:bold}.missed{color:#b42318;font-weight:bold}.not_measured{color:#6b7280}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:10px}.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;overflow:hidden}.chart svg{display:block;width:100%;height:auto}
.empty{color:#6b7280;font-style:italic}
@media (max-width:700px){.charts{grid-template-columns:1fr}}`;

function htmlTable(t: Table, m: ReportModel): string {
  if (t.rows.length === 0) return `<h3>${esc(t.title)}</h3><p class="empty">None: ${esc(emptyReason(m, t.name))}.</p>`;
  const num = (v: unknown) => typeof v === 'number' || /^[-+]?[\d,.]+(%| AITBC| s| pts)?$/.test(String(v));
  return `<h3>${esc(t.title)}</h3><table><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${
    t.rows.map((r) => `<tr>${r.map((v) => `<td${num(v) ? ' class="n"' : ''}>${esc(v ?? 'n/a')}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export async function renderHtml(m: ReportModel): Promise<string> {
  const ts = tables(m);
  const byName = (n: string) => ts.find((t) => t.name === n)!;
  const svgs = await Promise.all(m.charts.map((c) => chartSvg(c, 480, 240)));
  const kpis = m.kpis.map((k) => `<div class="kpi"><div class="l">${esc(k.label)}</div><div class="v">${esc(fmt(k.current, k.unit))}</div>` +
    `<div class="c ${k.change === null ? '' : k.change > 0 ? 'up' : k.change < 0 ? 'down' : ''}">${esc(fmtChange(k.change))} vs ${esc(fmt(k.previous, k.unit))}</div></div>`).join('');
  const targets = `<table><thead><tr><th>metric</th><th>target</th><th>this period</th></tr></thead><tbody>${m.targets.map((t) =>
    `<tr><td>${esc(t.metric)}</td><td>${esc(t.target)}</td><td class="${t.status}">${esc(targetText(t))}</td></tr>`).join('')}</tbody></table>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head><body><main>
<h1>${esc(m.title)}</h1>
<p class="meta">${esc(m.from.slice(0, 16).replace('T', ' '))} to ${esc(m.to.slice(0, 16).replace('T', ' '))} UTC, against ${esc(m.previousFrom.slice(0, 10))} to ${esc(m.previousTo.slice(0, 10))}. Generated ${esc(m.generatedAt.slice(0, 19).replace('T', ' '))} UTC.</p>
${m.notes.map((n) => `<p class="${m.empty && n.startsWith('No trades') ? 'note' : 'meta'}">${esc(n)}</p>`).join('')}
<h2>Key figures</h2><div class="kpis">${kpis}</div>
<h2>Charts</h2><div class="charts">${svgs.map((s) => `<div class="chart">${s}</div>`).join('')}</div>
<h2>The plan's targets</h2>${targets}
<h2>Insights</h2>${htmlTable(byName('trends'), m)}
<p class="meta">Retention: ${esc(m.insights.growth.retention.status === 'ok' ? `${m.insights.growth.retention.retained} of ${m.insights.growth.retention.activePrevious} agents active in the previous period traded again (${fmt(m.insights.growth.retention.rate ?? null, 'share')})` : `not computed: ${m.insights.growth.retention.reason}`)}.</p>
${htmlTable(byName('price_bands'), m)}${htmlTable(byName('far_from_index'), m)}
<h2>Top movers</h2>${htmlTable(byName('volume_movers'), m)}${htmlTable(byName('fill_rate_movers'), m)}${htmlTable(byName('trust_movers'), m)}
<h2>Risk indicators</h2>${htmlTable(byName('concentration'), m)}${htmlTable(byName('volatility'), m)}${htmlTable(byName('dispute_days'), m)}${htmlTable(byName('regional_spread'), m)}
</main></body></html>
`;
}

// ---------- CSV ----------
function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
/** The CSV tables of a report: the figures as data (raw values, not formatted for reading). */
export function csvTables(m: ReportModel): { name: string; csv: string }[] {
  const i = m.insights;
  const t = (name: string, columns: string[], rows: unknown[][]) => ({ name, csv: [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n' });
  return [
    t('kpis', ['key', 'label', 'unit', 'current', 'previous', 'change'], m.kpis.map((k) => [k.key, k.label, k.unit, k.current, k.previous, k.change])),
    t('targets', ['metric', 'target', 'unit', 'actual', 'status', 'reason'], m.targets.map((x) => [x.metric, x.target, x.unit, x.actual, x.status, x.reason])),
    t('trends', ['metric', 'unit', 'current', 'previous', 'change', 'test', 'statistic', 'p_value', 'significant', 'note'], i.trends.map((x) => [x.metric, x.unit, x.current, x.previous, x.change, x.test.name, x.test.statistic, x.test.pValue, x.test.significant, x.test.note])),
    t('series', ['chart', 'series', 'x', 'value'], m.charts.flatMap((c) => c.series.flatMap((s) => s.data.map((v, k) => [c.id, s.name, c.x[k], v])))),
    t('volume_movers', ['agent_id', 'current', 'previous', 'change', 'trades'], i.agentPerformance.volume.map((v) => [v.agentId, v.current, v.previous, v.change, v.trades])),
    t('fill_rate_movers', ['agent_id', 'current', 'previous', 'change'], i.agentPerformance.fillRate.movers.map((v) => [v.agentId, v.current, v.previous, v.change])),
    t('trust_movers', ['agent_id', 'current', 'previous', 'change'], (i.agentPerformance.trust.movers ?? []).map((v) => [v.agentId, v.current, v.previous, v.change])),
    t('price_bands', ['band', 'listings', 'with_agreement', 'fill_rate'], i.priceOptimisation.bands.map((b) => [b.band, b.listings, b.withAgreement, b.fillRate])),
    t('far_from_index', ['listing_id', 'spec_class', 'region', 'price', 'index', 'deviation', 'agreements'], i.priceOptimisation.furthest.map((f) => [f.listingId, f.specClass, f.region, f.price, f.index, f.deviation, f.agreements])),
    t('concentration', ['category', 'sellers', 'volume', 'hhi', 'level'], i.risk.concentration.map((c) => [c.category, c.sellers, c.volume, c.hhi, c.level])),
    t('volatility', ['category', 'spec_class', 'region', 'status', 'ewma', 'reason'], i.risk.volatility.map((v) => [v.category, v.specClass, v.region, v.status, v.ewma, v.reason])),
    t('dispute_days', ['day', 'disputes', 'ended', 'p_value', 'spike'], (i.risk.disputeSpikes.days ?? []).map((d) => [d.day, d.disputes, d.ended, d.pValue, d.spike])),
    t('regional_spread', ['category', 'spec_class', 'status', 'spread', 'low_region', 'low_index', 'high_region', 'high_index', 'reason'], i.risk.regionalSpread.map((s) => [s.category, s.specClass, s.status, s.spread, s.low?.region, s.low?.index, s.high?.region, s.high?.index, s.reason])),
  ];
}
/** All tables in one CSV: each table is its header line then its rows, every line led by the table's name. */
export function renderCsv(m: ReportModel, table?: string): string {
  const ts = csvTables(m).filter((t) => !table || t.name === table);
  if (table) return ts[0]?.csv ?? '';
  return ts.map((t) => t.csv.trimEnd().split('\n').map((l) => `${t.name},${l}`).join('\n')).join('\n') + '\n';
}
export const CSV_TABLES = ['kpis', 'targets', 'trends', 'series', 'volume_movers', 'fill_rate_movers', 'trust_movers', 'price_bands', 'far_from_index', 'concentration', 'volatility', 'dispute_days', 'regional_spread'] as const;

// ---------- PDF ----------
/** Text for the PDF's standard fonts (WinAnsi): no characters they cannot draw. */
const pdfText = (s: unknown) => String(s ?? '').replace(/[\u2010-\u2015]/g, '-').replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

export async function renderPdf(m: ReportModel): Promise<Buffer> {
  const [{ default: PDFDocument }, { default: SVGtoPDF }] = await Promise.all([import('pdfkit'), import('svg-to-pdfkit')]);
  const svgs = await Promise.all(m.charts.map((c) => chartSvg(c, 640, 240)));
  const doc = new PDFDocument({ size: 'A4', margin: 48, info: { Title: m.title, Author: 'agent-economy', CreationDate: new Date(m.generatedAt) } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => { doc.on('end', () => resolve(Buffer.concat(chunks))); doc.on('error', reject); });
  const W = doc.page.width - 96;
  const ensure = (h: number) => { if (doc.y + h > doc.page.height - 60) doc.addPage(); };
  const h2 = (s: string) => { ensure(60); doc.moveDown(0.6).font('Helvetica-Bold').fontSize(14).fillColor('#111827').text(pdfText(s)).moveDown(0.2); };
  const para = (s: string, color = '#374151') => doc.font('Helvetica').fontSize(9.5).fillColor(color).text(pdfText(s), { width: W });
  const table = (t: Table, widths?: number[]) => {
    ensure(40);
    doc.moveDown(0.3).font('Helvetica-Bold').fontSize(10.5).fillColor('#111827').text(pdfText(t.title));
    if (t.rows.length === 0) { para(`None: ${emptyReason(m, t.name)}.`, '#6b7280'); return; }
    const ws = widths ?? t.columns.map(() => W / t.columns.length);
    const row = (cells: unknown[], bold: boolean) => {
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8.5);
      const h = Math.max(...cells.map((c, k) => doc.heightOfString(pdfText(c ?? 'n/a'), { width: ws[k]! - 6 }))) + 4;
      ensure(h);
      const y = doc.y;
      let x = 48;
      if (bold) doc.rect(48, y - 1, W, h).fill('#eef1f5');
      doc.fillColor('#1f2937');
      cells.forEach((c, k) => { doc.text(pdfText(c ?? 'n/a'), x + 3, y + 1, { width: ws[k]! - 6 }); x += ws[k]!; });
      doc.x = 48; doc.y = y + h;
    };
    row(t.columns, true);
    for (const r of t.rows) row(r, false);
  };
  const ts = tables(m);
  const byName = (n: string) => ts.find((t) => t.name === n)!;

  doc.font('Helvetica-Bold').fontSize(18).fillColor('#111827').text(pdfText(m.title));
  para(`${m.from.slice(0, 16).replace('T', ' ')} to ${m.to.slice(0, 16).replace('T', ' ')} UTC, against ${m.previousFrom.slice(0, 10)} to ${m.previousTo.slice(0, 10)}. Generated ${m.generatedAt.slice(0, 19).replace('T', ' ')} UTC.`);
  for (const n of m.notes) para(n, m.empty && n.startsWith('No trades') ? '#b45309' : '#374151');
  h2('Key figures');
  table(byName('kpis'), [W * 0.4, W * 0.2, W * 0.2, W * 0.2]);
  h2('Charts');
  const cw = W; const ch = cw * (240 / 640);
  for (const svg of svgs) { ensure(ch + 8); SVGtoPDF(doc, svg, 48, doc.y, { width: cw, height: ch }); doc.y += ch + 8; }
  h2("The plan's targets");
  table(byName('targets'), [W * 0.3, W * 0.25, W * 0.45]);
  h2('Insights');
  table(byName('trends'), [W * 0.12, W * 0.13, W * 0.13, W * 0.1, W * 0.32, W * 0.1, W * 0.1]);
  const r = m.insights.growth.retention;
  doc.moveDown(0.3);
  para(r.status === 'ok' ? `Retention: ${r.retained} of ${r.activePrevious} agents active in the previous period traded again (${fmt(r.rate ?? null, 'share')}).` : `Retention: not computed: ${r.reason}.`);
  table(byName('price_bands'));
  table(byName('far_from_index'));
  h2('Top movers');
  table(byName('volume_movers'));
  table(byName('fill_rate_movers'));
  table(byName('trust_movers'));
  h2('Risk indicators');
  table(byName('concentration'));
  table(byName('volatility'), [W * 0.2, W * 0.15, W * 0.15, W * 0.5]);
  table(byName('dispute_days'));
  table(byName('regional_spread'));
  doc.end();
  return done;
}
