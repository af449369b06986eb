import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, useLoad, useOnTrade } from '../api.js';
import { amount, int } from '../format.js';
import { Async, Empty, Section, Segmented } from '../ui.js';
import { Chart, palette } from '../chart.js';
import { useTheme } from '../theme.js';
import { flowsOption, regionFlows } from '../flows.js';

type Metric = 'volume' | 'agents';

/** The world map, loaded with the page (its TopoJSON and the map chart are not in the first load). */
async function loadWorld(): Promise<string[]> {
  return (await import('../map.js')).countryNames;
}

/** Natural Earth names that differ from the browser's English country names. */
const ALIASES: Record<string, string> = {
  US: 'United States of America', CD: 'Dem. Rep. Congo', CG: 'Congo', CF: 'Central African Rep.', BA: 'Bosnia and Herz.', DO: 'Dominican Rep.',
  GQ: 'Eq. Guinea', SS: 'S. Sudan', CI: "Côte d'Ivoire", SB: 'Solomon Is.', FK: 'Falkland Is.', TF: 'Fr. S. Antarctic Lands', EH: 'W. Sahara',
  SZ: 'eSwatini', MM: 'Myanmar', PS: 'Palestine', TR: 'Turkey', CZ: 'Czechia', MK: 'North Macedonia', KR: 'South Korea', KP: 'North Korea', TL: 'Timor-Leste',
};
const names = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : null;
export function countryName(code: string, known: Set<string>): string {
  const alias = ALIASES[code];
  if (alias && known.has(alias)) return alias;
  const n = names?.of(code) ?? code;
  return n;
}

export function Geo() {
  const res = useLoad(() => api('/v1/market/geo'), []);
  useOnTrade(() => res.reload(), 1000);
  const [world, setWorld] = useState<string[] | null>(null);
  const [mapError, setMapError] = useState<string | null>(null);
  useEffect(() => { loadWorld().then(setWorld, (e) => setMapError(String(e))); }, []);
  const [metric, setMetric] = useState<Metric>('volume');
  const dark = useTheme() === 'dark';
  const option = useMemo(() => {
    if (!res.data || !world) return null;
    const known = new Set(world);
    const p = palette(dark);
    const data = res.data.countries.map((c: any) => ({
      name: countryName(c.country, known), code: c.country,
      value: metric === 'volume' ? Number(c.bought) + Number(c.sold) : c.newAgents,
    }));
    const max = Math.max(1, ...data.map((d: any) => d.value));
    return {
      tooltip: { trigger: 'item', formatter: (x: any) => `${x.name}: ${Number.isFinite(x.value) ? (metric === 'volume' ? `${amount(x.value)} AITBC` : `${int(x.value)} agents`) : 'no activity'}` },
      legend: { show: false },
      visualMap: { min: 0, max, left: 8, bottom: 8, calculable: true, text: [metric === 'volume' ? 'AITBC' : 'agents', ''], textStyle: { color: p.text }, inRange: { color: dark ? ['#23344f', '#6aa6ff'] : ['#d9e6f7', '#1f5fbf'] } },
      series: [{
        name: metric === 'volume' ? 'Volume bought and sold' : 'New agents', type: 'map', map: 'world', roam: false, showLegendSymbol: false, top: 8, bottom: 8, left: 'center',
        itemStyle: { areaColor: dark ? '#2a303b' : '#eef0f3', borderColor: dark ? '#4a5263' : '#b9c0cc' },
        emphasis: { label: { show: false }, itemStyle: { areaColor: p.colors[1] } }, data,
      }],
    };
  }, [res.data, world, metric, dark]);
  const flows = useMemo(() => (res.data ? regionFlows(res.data.data) : null), [res.data]);
  const flowOption = useMemo(() => {
    if (!flows || !world) return null;
    const p = palette(dark);
    return flowsOption(flows, { dark, text: p.text, muted: p.muted });
  }, [flows, world, dark]);
  return (
    <>
      <h1 tabIndex={-1}>Geography</h1>
      <p class="lede">Where the market is: agents registered and AITBC traded per country over the last 30 days, and the AITBC flowing from buyers' regions to sellers' regions.</p>
      <Section title="World map" id="map" actions={<Segmented name="metric" label="Measure" value={metric} options={[{ value: 'volume', label: 'Volume' }, { value: 'agents', label: 'New agents' }] as const} onChange={setMetric} />}>
        {mapError ? <p class="state error" role="alert">The map could not be drawn ({mapError}); the table below has the same figures.</p> : null}
        <Async res={res} what="the geography">
          {(d) => d.countries.length === 0 ? <Empty>No agents or trades in the last 30 days.</Empty> : option ? <Chart name="geo-map" label="World map of market activity per country" option={option} height={420} /> : <p class="state loading">Drawing the map…</p>}
        </Async>
      </Section>
      <Section title="Flows between regions" id="flows">
        <Async res={res} what="the flows">
          {(d) => flows && flows.length === 0 ? <Empty>No trades in the last 30 days, so no flows between regions yet. They appear here as trades settle.</Empty>
            : mapError ? <p class="state error" role="alert">The flows chart could not be drawn ({mapError}); the table below has the same figures.</p>
            : flowOption ? (
              <>
                <p class="flow-axes" aria-hidden="true"><span>Buyers' regions</span><span>Sellers' regions</span></p>
                <Chart name="geo-flows" label={`Sankey chart of AITBC volume from buyers' regions to sellers' regions over the last 30 days: ${flows!.map((f) => `${f.from} to ${f.to}, ${amount(f.volume)} AITBC`).join('; ')}`} option={flowOption} height={Math.max(220, 56 * Math.max(new Set(flows!.map((f) => f.from)).size, new Set(flows!.map((f) => f.to)).size))} />
              </>
            ) : <p class="state loading">Drawing the flows…</p>}
        </Async>
      </Section>
      <div class="grid2">
        <Section title="Countries" id="countries">
          <Async res={res} what="the countries">
            {(d) => d.countries.length === 0 ? <Empty>No countries yet.</Empty> : (
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="countries">
                <thead><tr><th scope="col">Country</th><th scope="col" class="num">New agents</th><th scope="col" class="num">Bought (AITBC)</th><th scope="col" class="num">Sold (AITBC)</th></tr></thead>
                <tbody>{[...d.countries].sort((a: any, b: any) => Number(b.bought) + Number(b.sold) - Number(a.bought) - Number(a.sold)).map((c: any) => (
                  <tr key={c.country} data-country={c.country}><td>{names?.of(c.country) ?? c.country} ({c.country})</td><td class="num">{int(c.newAgents)}</td><td class="num">{amount(c.bought)}</td><td class="num">{amount(c.sold)}</td></tr>))}
                </tbody>
              </table></div>
            )}
          </Async>
        </Section>
        <Section title="Flows between regions (table)" id="flows-table">
          <Async res={res} what="the flows">
            {(d) => {
              const rows = regionFlows(d.data);
              return rows.length === 0 ? <Empty>No trades between regions yet.</Empty> : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="flows">
                  <thead><tr><th scope="col">Buyer region → seller region</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Volume (AITBC)</th></tr></thead>
                  <tbody>{rows.map((r) => <tr key={`${r.from}-${r.to}`} data-flow={`${r.from}>${r.to}`}><td>{r.from} → {r.to}{r.from === r.to ? ' (within)' : ''}</td><td class="num" data-trades>{int(r.trades)}</td><td class="num" data-volume>{amount(r.volume)}</td></tr>)}</tbody>
                </table></div>
              );
            }}
          </Async>
        </Section>
      </div>
    </>
  );
}
