/**
 * Flows between regions, from /v1/market/geo's country-level flows: summed per buyer region -> seller
 * region (amounts added as integer base units, so the sums are the exact decimals the API would give), and
 * drawn as a sankey with the buyers' regions on the left and the sellers' regions on the right (a trade
 * inside one region is a band from its left node to its right one, so the graph never has a cycle).
 * Pure apart from the option's formatters: the page and its table fallback both read `regionFlows`.
 */
import { amount, int } from './format.js';

export interface GeoFlow { buyerRegion: string; sellerRegion: string; trades: number; volume: string }
export interface RegionFlow { from: string; to: string; trades: number; volume: string }

const UNITS = 100_000_000n;
/** "12.5" -> 1250000000n (the API's amounts have at most 8 decimals). */
function units(s: string): bigint {
  const [whole, frac = ''] = s.split('.');
  return BigInt(whole!) * UNITS + BigInt(frac.padEnd(8, '0').slice(0, 8));
}
function decimal(u: bigint): string {
  const frac = (u % UNITS).toString().padStart(8, '0').replace(/0+$/, '');
  return `${u / UNITS}${frac ? `.${frac}` : ''}`;
}

/** The flows per buyer region -> seller region, largest volume first (ties by region names). */
export function regionFlows(data: readonly GeoFlow[]): RegionFlow[] {
  const m = new Map<string, { from: string; to: string; trades: number; volume: bigint }>();
  for (const f of data) {
    const k = `${f.buyerRegion}\u0000${f.sellerRegion}`;
    const cur = m.get(k) ?? { from: f.buyerRegion, to: f.sellerRegion, trades: 0, volume: 0n };
    cur.trades += f.trades;
    cur.volume += units(f.volume);
    m.set(k, cur);
  }
  return [...m.values()]
    .sort((a, b) => (a.volume === b.volume ? (a.from + a.to < b.from + b.to ? -1 : 1) : a.volume > b.volume ? -1 : 1))
    .map((f) => ({ from: f.from, to: f.to, trades: f.trades, volume: decimal(f.volume) }));
}

const BUY = 'buy:';
const SELL = 'sell:';
/** Colours by region (the same on both sides), light and dark. */
const COLORS = {
  light: ['#1f5fbf', '#c47a12', '#1a8a5a', '#c23a4c', '#6b4fc4', '#0f7f8c', '#8a5a2b', '#4b5563'],
  dark: ['#6aa6ff', '#f2b45a', '#5ed3a0', '#f27a8a', '#b89cff', '#4fd1de', '#d9a066', '#aab4c3'],
};

/** The sankey's option: nodes `buy:<region>` / `sell:<region>`, one link per region pair with its trades and exact volume. */
export function flowsOption(flows: readonly RegionFlow[], o: { dark: boolean; text: string; muted: string }) {
  const regions = [...new Set(flows.flatMap((f) => [f.from, f.to]))].sort();
  const color = (r: string) => (o.dark ? COLORS.dark : COLORS.light)[regions.indexOf(r) % COLORS.light.length]!;
  const total = (side: 'from' | 'to', r: string) => decimal(flows.filter((f) => f[side] === r).reduce((s, f) => s + units(f.volume), 0n));
  const side = (prefix: string, key: 'from' | 'to', depth: number) => [...new Set(flows.map((f) => f[key]))].sort().map((r) => ({
    name: `${prefix}${r}`, region: r, depth, volume: total(key, r), itemStyle: { color: color(r) },
    label: { position: depth === 0 ? 'right' : 'left', formatter: `${r} · ${amount(total(key, r))} AITBC` },
  }));
  const links = flows.map((f) => ({
    source: `${BUY}${f.from}`, target: `${SELL}${f.to}`, value: Number(f.volume), from: f.from, to: f.to, trades: f.trades, volume: f.volume,
  }));
  return {
    tooltip: {
      trigger: 'item', confine: true,
      formatter: (x: any) => x.dataType === 'edge'
        ? `${x.data.from} → ${x.data.to}${x.data.from === x.data.to ? ' (within the region)' : ''}<br>${amount(x.data.volume)} AITBC in ${int(x.data.trades)} trade${x.data.trades === 1 ? '' : 's'}`
        : `${x.data.region}: ${amount(x.data.volume)} AITBC ${x.data.name.startsWith(BUY) ? 'bought' : 'sold'}`,
    },
    legend: { show: false },
    // redrawn as trades arrive: no entry animation (a screenshot or a reader never sees it half drawn)
    animation: false,
    series: [{
      type: 'sankey', name: 'Flows between regions', left: 8, right: 8, top: 8, bottom: 8, nodeWidth: 14, nodeGap: 18, nodeAlign: 'justify', draggable: false,
      layoutIterations: 32, emphasis: { focus: 'adjacency' },
      label: { color: o.text, fontSize: 12 },
      lineStyle: { color: 'source', opacity: o.dark ? 0.45 : 0.35, curveness: 0.5 },
      data: [...side(BUY, 'from', 0), ...side(SELL, 'to', 1)], links,
    }],
  };
}
