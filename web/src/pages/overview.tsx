import { useMemo, useState } from 'preact/hooks';
import { api, useLoad, useOnTrade, useTrades, useStreamStatus, type TradePrint } from '../api.js';
import { ago, amount, CATEGORIES, int, label } from '../format.js';
import { kpiTexts } from '../figures.js';
import { Async, Empty, Kpi, Section, Segmented } from '../ui.js';
import { Chart, axes } from '../chart.js';
import { useTheme } from '../theme.js';

type Interval = 'minute' | 'hour' | 'day';
const INTERVALS = [{ value: 'minute', label: 'Last hour' }, { value: 'hour', label: '24 hours' }, { value: 'day', label: '30 days' }] as const;
const SPAN: Record<Interval, number> = { minute: 3600_000, hour: 86_400_000, day: 30 * 86_400_000 };

export async function loadKpis() {
  const cur = await api('/v1/market/overview');
  const from = new Date(new Date(cur.from).getTime() - SPAN.hour).toISOString();
  const prev = await api(`/v1/market/overview?from=${encodeURIComponent(from)}&to=${encodeURIComponent(cur.from)}`);
  return { cur, prev };
}

export async function loadSeries(interval: Interval) {
  const all = await Promise.all(CATEGORIES.map((c) => api(`/v1/market/prices?interval=${interval}&category=${c}`).then((r: any) => ({ category: c, ...r }))));
  return all.filter((s) => s.data.some((d: any) => d.trades > 0));
}

export function seriesOptions(series: any[], dark: boolean) {
  const ax = axes(dark, series[0]);
  const volume = {
    xAxis: ax.x, yAxis: { ...ax.y, name: 'AITBC', scale: false },
    series: series.map((s) => ({ name: label(s.category), type: 'bar', stack: 'v', data: s.data.map((d: any) => [d.bucket, Number(d.volume)]) })),
  };
  const price = {
    xAxis: ax.x, yAxis: { ...ax.y, type: 'log', name: 'AITBC / unit' },
    series: series.map((s) => ({ name: label(s.category), type: 'line', connectNulls: true, showSymbol: true, symbolSize: 5, data: s.data.filter((d: any) => d.vwap !== null).map((d: any) => [d.bucket, Number(d.vwap)]) })),
  };
  return { volume, price };
}

function LatestTrades() {
  const res = useLoad(() => api('/v1/market/trades?limit=12'), []);
  const [live, setLive] = useState<TradePrint[]>([]);
  const status = useStreamStatus();
  useTrades((p) => setLive((l) => [p, ...l].slice(0, 12)));
  const [, tick] = useState(0);
  useOnTrade(() => tick((n) => n + 1), 1000);
  return (
    <Section title="Latest trades" id="latest" actions={<span class={`live ${status}`} data-stream={status}>{status === 'live' ? '● live' : status === 'offline' ? 'reconnecting…' : 'connecting…'}</span>}>
      <Async res={res} what="the latest trades">
        {(d: { data: TradePrint[] }) => {
          const seen = new Set(live.map((p) => p.id));
          const rows = [...live, ...d.data.filter((p) => !seen.has(p.id))].slice(0, 12);
          if (!rows.length) return <Empty>No trades yet. Trades appear here the moment they settle.</Empty>;
          return (
            <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table class="tape" aria-describedby="latest-h">
              <thead><tr><th scope="col">When</th><th scope="col">Market</th><th scope="col">Region</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Price (AITBC)</th><th scope="col" class="num">Volume (AITBC)</th></tr></thead>
              <tbody>{rows.map((p) => (
                <tr key={p.id} data-trade={p.id} class={seen.has(p.id) ? 'fresh' : ''}>
                  <td title={p.at}>{ago(p.at)}</td><td>{label(p.category)} · {p.specClass}</td><td>{p.region}</td>
                  <td class="num">{int(p.quantity)}</td><td class="num" data-price>{amount(p.pricePerUnit)}</td><td class="num">{amount(p.volume)}</td>
                </tr>))}
              </tbody>
            </table></div>
          );
        }}
      </Async>
    </Section>
  );
}

export function Overview() {
  const kpis = useLoad(loadKpis, []);
  const [interval, setIv] = useState<Interval>('hour');
  const series = useLoad(() => loadSeries(interval), [interval]);
  useOnTrade(() => { kpis.reload(); series.reload(); });
  const dark = useTheme() === 'dark';
  const opts = useMemo(() => (series.data ? seriesOptions(series.data, dark) : null), [series.data, dark]);
  return (
    <>
      <h1 tabIndex={-1}>Market overview</h1>
      <Async res={kpis} what="the market figures">
        {({ cur, prev }) => <div class="kpis" aria-label="Key figures, last 24 hours">{kpiTexts(cur, prev).map((k) => <Kpi key={k.id} {...k} />)}</div>}
      </Async>
      <div class="grid2">
        <Section title="Volume by category" id="volume" actions={<Segmented name="interval" label="Interval" value={interval} options={INTERVALS} onChange={setIv} />}>
          <Async res={series} what="the volume series">
            {(s) => (s.length && opts ? <Chart name="volume" label="Traded volume per bucket by category" option={opts.volume} /> : <Empty>No trades in this period. Pick a longer interval, or wait for the first trade.</Empty>)}
          </Async>
        </Section>
        <Section title="Price by category (VWAP per unit)" id="price">
          <Async res={series} what="the price series">
            {(s) => (s.length && opts ? <Chart name="price" label="Volume-weighted average unit price per bucket by category" option={opts.price} /> : <Empty>No prices in this period.</Empty>)}
          </Async>
        </Section>
      </div>
      <LatestTrades />
    </>
  );
}
