import { useMemo, useState } from 'preact/hooks';
import { api, useLoad, useOnTrade } from '../api.js';
import { amount, int, label, num, pct } from '../format.js';
import { indexText, signal } from '../figures.js';
import { Async, Empty, Section, Segmented } from '../ui.js';
import { Chart, axes } from '../chart.js';
import { useTheme } from '../theme.js';

export interface Cell { category: string; specClass: string; region: string }
const cellQuery = (c: Cell) => `category=${encodeURIComponent(c.category)}&specClass=${encodeURIComponent(c.specClass)}&region=${encodeURIComponent(c.region)}`;

export async function loadIndicators() {
  const out: any[] = [];
  let cursor: string | null = null;
  let meta: any;
  do {
    const r: any = await api(`/v1/market/indicators?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    meta = r;
    out.push(...r.data);
    cursor = r.nextCursor;
  } while (cursor && out.length < 1000);
  return { from: meta.from, to: meta.to, minimumSample: meta.minimumSample, data: out };
}

function CellDetail(props: { cell: Cell }) {
  const { cell } = props;
  const [interval, setIv] = useState<'hour' | 'day'>('day');
  const hist = useLoad(() => Promise.all([api(`/v1/market/prices?interval=${interval}&${cellQuery(cell)}`), api(`/v1/market/supply-demand?interval=${interval}&${cellQuery(cell)}`)]), [cell.category, cell.specClass, cell.region, interval]);
  useOnTrade(() => hist.reload(), 500);
  const dark = useTheme() === 'dark';
  const opts = useMemo(() => {
    if (!hist.data) return null;
    const [p, sd] = hist.data;
    const ax = axes(dark, p);
    return {
      price: {
        xAxis: ax.x, yAxis: { ...ax.y, name: 'AITBC / unit' },
        series: [
          { name: 'VWAP', type: 'line', connectNulls: true, data: p.data.filter((d: any) => d.vwap !== null).map((d: any) => [d.bucket, Number(d.vwap)]) },
          { name: 'p10', type: 'line', lineStyle: { type: 'dashed' }, showSymbol: false, connectNulls: true, data: p.data.filter((d: any) => d.p10 !== null).map((d: any) => [d.bucket, Number(d.p10)]) },
          { name: 'p90', type: 'line', lineStyle: { type: 'dashed' }, showSymbol: false, connectNulls: true, data: p.data.filter((d: any) => d.p90 !== null).map((d: any) => [d.bucket, Number(d.p90)]) },
        ],
      },
      supply: {
        xAxis: ax.x, yAxis: { ...ax.y, name: 'units', scale: false },
        series: [
          { name: 'Supply (listed units)', type: 'line', step: 'end', data: sd.data.map((d: any) => [d.bucket, d.supplyUnits]) },
          { name: 'Demand (requested units)', type: 'line', step: 'end', data: sd.data.map((d: any) => [d.bucket, d.demandUnits]) },
        ],
      },
      last: sd.data.at(-1),
    };
  }, [hist.data, dark]);
  const s = opts?.last ? signal(opts.last.supplyDemandRatio, opts.last.demandUnits) : 'none';
  return (
    <Section title={`${label(cell.category)} · ${cell.specClass} · ${cell.region}`} id="cell"
      actions={<Segmented name="cell-interval" label="Interval" value={interval} options={[{ value: 'hour', label: 'Hourly' }, { value: 'day', label: 'Daily' }] as const} onChange={setIv} />}>
      <Async res={hist} what="the price history">
        {() => opts ? (
          <>
            <p class="signal" data-signal={s}>
              Signal: <strong>{s === 'surge' ? 'surge (+5%): open demand outruns listed supply' : s === 'discount' ? 'discount (−5%): supply is over twice the demand' : 'none: supply and demand are balanced'}</strong>
            </p>
            <div class="grid2">
              <div><h3>Unit price</h3><Chart name="cell-price" label="Unit price history of the selected market" option={opts.price} /></div>
              <div><h3>Supply against demand</h3><Chart name="cell-supply" label="Listed supply against requested demand" option={opts.supply} /></div>
            </div>
          </>
        ) : null}
      </Async>
    </Section>
  );
}

export function Prices() {
  const res = useLoad(loadIndicators, []);
  useOnTrade(() => res.reload(), 1000);
  const [sel, setSel] = useState<Cell | null>(null);
  const cell = sel ?? res.data?.data[0] ?? null;
  return (
    <>
      <h1 tabIndex={-1}>Prices</h1>
      <p class="lede">The price index of each market (category × spec class × region): the volume-weighted median unit price of the last 7 days' trades with its 95% interval, and the EWMA volatility of daily prices. Choose a row for its history.</p>
      <Section title="Price index" id="index">
        <Async res={res} what="the price index">
          {(d) => d.data.length === 0 ? <Empty>No market has traded in the last 30 days yet.</Empty> : (
            <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="index">
              <thead><tr><th scope="col">Market</th><th scope="col">Region</th><th scope="col" class="num">Index (AITBC)</th><th scope="col" class="num">95% interval</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Volatility</th><th scope="col" class="num">Cross-region spread</th></tr></thead>
              <tbody>{d.data.map((r: any) => {
                const on = cell && r.category === cell.category && r.specClass === cell.specClass && r.region === cell.region;
                return (
                  <tr key={`${r.category}|${r.specClass}|${r.region}`} class={`clickable${on ? ' selected' : ''}`} aria-selected={on ? 'true' : 'false'}>
                    <td><button type="button" class="rowlink" onClick={() => setSel({ category: r.category, specClass: r.specClass, region: r.region })}>{label(r.category)} · {r.specClass}</button></td>
                    <td>{r.region}</td>
                    <td class="num" data-index>{indexText(r.priceIndex)}</td>
                    <td class="num">{r.priceIndex.status === 'ok' ? `${amount(r.priceIndex.low)} – ${amount(r.priceIndex.high)}` : '—'}</td>
                    <td class="num">{int(r.priceIndex.sampleSize)}</td>
                    <td class="num">{r.volatility ? pct(r.volatility.ewma) : '—'}</td>
                    <td class="num">{r.crossRegionSpread ? `${pct(r.crossRegionSpread.spread)} (${r.crossRegionSpread.low.region} → ${r.crossRegionSpread.high.region})` : '—'}</td>
                  </tr>
                );
              })}</tbody>
            </table></div>
          )}
        </Async>
      </Section>
      {cell ? <CellDetail cell={{ category: cell.category, specClass: cell.specClass, region: cell.region }} /> : null}
      <p class="footnote">Volatility: EWMA (λ 0.94) of daily VWAP returns; {num(0.94)} weight on the past. Data: <a href="/docs">/v1/market/indicators, /prices, /supply-demand</a>.</p>
    </>
  );
}
