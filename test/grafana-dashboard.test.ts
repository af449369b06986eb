/**
 * docs/grafana/agent-economy.json: valid dashboard JSON whose every query names only metrics the service
 * exports: the market KPIs /metrics carries (the names agreed for it) and the HTTP and pool metrics of
 * src/platform/http/metrics.ts (read from that file, so a rename there fails here).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

const MARKET = {
  ae_market_trades_total: 'counter', ae_market_volume_aitbc_total: 'counter', ae_market_match_rate: 'gauge', ae_market_settlement_seconds: 'histogram',
  ae_market_open_requests: 'gauge', ae_market_active_agents: 'gauge', ae_market_price_index_aitbc: 'gauge',
} as const;
const source = readFileSync('src/platform/http/metrics.ts', 'utf8');
const HTTP: Record<string, string> = Object.fromEntries([...source.matchAll(/name: '([a-z_]+)'/g), ...source.matchAll(/\['([a-z_]+)', '/g)].map((m) => [m[1]!, /Histogram\(\{\s*name: '([a-z_]+)'/.exec(source)?.[1] === m[1] ? 'histogram' : 'gauge']));
const KNOWN: Record<string, string> = { ...MARKET, ...HTTP };

/** The metric names a PromQL expression reads: identifiers left after label matchers, groupings, ranges, strings and function calls are removed. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = [...stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!)
    .filter((n) => !['by', 'without', 'on', 'ignoring', 'bool', 'and', 'or', 'unless', 'offset'].includes(n));
  return names;
}
function known(name: string): boolean {
  if (KNOWN[name]) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && KNOWN[base] === 'histogram';
}

describe('the Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync('docs/grafana/agent-economy.json', 'utf8'));
  const exprs: string[] = dash.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
  const vars: string[] = dash.templating.list.filter((v: { type: string }) => v.type === 'query').map((v: { definition: string }) => v.definition);

  it('finds the metrics of metrics.ts', () => {
    expect(HTTP).toMatchObject({ http_request_duration_seconds: 'histogram', db_pool_waiting: 'gauge' });
    expect(metricNames('sum by (le) (rate(ae_market_settlement_seconds_bucket{region=~"$region"}[5m])) / x_total')).toEqual(['ae_market_settlement_seconds_bucket', 'x_total']);
  });

  it('queries only metric names the service exports, and every market KPI somewhere', () => {
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const e of exprs) {
      const names = metricNames(e);
      expect(names.length, e).toBeGreaterThan(0);
      for (const n of names) { expect(known(n), `${n} in ${e}`).toBe(true); used.add(n.replace(/_(bucket|sum|count)$/, '')); }
    }
    for (const v of vars) for (const n of [...v.matchAll(/label_values\(([a-z_]+)/g)].map((m) => m[1]!)) expect(known(n), v).toBe(true);
    for (const m of Object.keys(MARKET)) expect(used.has(m), m).toBe(true);
  });

  it('is importable: unique panel ids, a datasource variable, grid positions', () => {
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dash.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    for (const p of dash.panels) expect(p.gridPos.w).toBeGreaterThan(0);
  });
});
