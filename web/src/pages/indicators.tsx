import { api, ApiError, useLoad, useOnTrade } from '../api.js';
import { label, num, pct } from '../format.js';
import { Async, Empty, Kpi, Section } from '../ui.js';
import { loadIndicators } from './prices.js';

/** HHI: above 0.25 highly concentrated, 0.15-0.25 moderately (US DoJ bands on a 0-1 scale). */
export function hhiBand(h: number | null): string {
  if (h === null) return '—';
  return h > 0.25 ? 'highly concentrated' : h >= 0.15 ? 'moderately concentrated' : 'competitive';
}

async function loadInsights(): Promise<{ available: true; body: any } | { available: false; reason: string }> {
  try {
    return { available: true, body: await api('/v1/market/insights') };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return { available: false, reason: 'This server has no insights endpoint yet (GET /v1/market/insights).' };
    throw e;
  }
}

export function Indicators() {
  const ov = useLoad(() => api('/v1/market/overview?interval=day'), []);
  const ind = useLoad(loadIndicators, []);
  const ins = useLoad(loadInsights, []);
  useOnTrade(() => { ov.reload(); ind.reload(); }, 1000);
  return (
    <>
      <h1 tabIndex={-1}>Indicators &amp; risk</h1>
      <p class="lede">How healthy the market is over the last 30 days: disputes and failures, how concentrated each market is among its sellers, and how much its price moves.</p>
      <Async res={ov} what="the market rates">
        {(o) => (
          <div class="kpis">
            <Kpi id="dispute" label="Dispute rate" value={pct(o.disputeRate)} hint="of ended agreements" goodWhenUp={false} />
            <Kpi id="failure" label="Failure rate" value={pct(o.failureRate)} hint="refunded or cancelled" goodWhenUp={false} />
            <Kpi id="match" label="Match rate" value={pct(o.matchRate)} hint="requests that reached an agreement" />
            <Kpi id="crossborder" label="Cross-border share" value={pct(o.crossBorderShare)} hint="of trades" />
          </div>
        )}
      </Async>
      <Section title="Concentration and volatility per market" id="risk">
        <Async res={ind} what="the indicators">
          {(d) => d.data.length === 0 ? <Empty>No market has traded in the last 30 days.</Empty> : (
            <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="risk">
              <thead><tr><th scope="col">Market</th><th scope="col">Region</th><th scope="col" class="num">Seller HHI</th><th scope="col">Concentration</th><th scope="col" class="num">Volatility (EWMA)</th><th scope="col" class="num">Daily returns</th></tr></thead>
              <tbody>{d.data.map((r: any) => (
                <tr key={`${r.category}|${r.specClass}|${r.region}`}><td>{label(r.category)} · {r.specClass}</td><td>{r.region}</td>
                  <td class="num" data-hhi>{num(r.sellerConcentrationHhi, 3)}</td><td>{hhiBand(r.sellerConcentrationHhi)}</td>
                  <td class="num">{r.volatility ? pct(r.volatility.ewma) : 'needs 2+ days'}</td><td class="num">{r.volatility ? r.volatility.returns : '—'}</td></tr>))}
              </tbody>
            </table></div>
          )}
        </Async>
      </Section>
      <Section title="Insights for the period" id="insights">
        <Async res={ins} what="the insights">
          {(x) => !x.available ? <p class="state empty" data-insights="unavailable">Not available: {x.reason}</p> : (
            Array.isArray(x.body?.data ?? x.body?.insights) && (x.body.data ?? x.body.insights).length ? (
              <ul class="notes" data-insights="list">{(x.body.data ?? x.body.insights).map((i: any, k: number) => <li key={k}>{i.text ?? i.message ?? i.summary ?? i.title ?? JSON.stringify(i)}</li>)}</ul>
            ) : <Empty>No insights for this period.</Empty>
          )}
        </Async>
      </Section>
    </>
  );
}
