import { useMemo } from 'preact/hooks';
import { api, useLoad } from '../api.js';
import { aitbc, ago, amount, dateTime, int, label, num, pct } from '../format.js';
import { Async, Empty, Link, Section } from '../ui.js';
import { Chart, axes } from '../chart.js';
import { useTheme } from '../theme.js';

export async function loadAgent(id: string) {
  const [profile, explain, history, listings] = await Promise.all([
    api(`/v1/agents/${id}/profile`), api(`/v1/agents/${id}/reputation/explain`),
    api(`/v1/agents/${id}/reputation/history?limit=200`), api(`/v1/listings?sellerId=${id}&limit=50`),
  ]);
  return { profile, explain, history, listings };
}

const COMPONENT_TEXT: Record<string, string> = {
  performance: 'Performance: measured latency, accuracy and availability of deliveries (±200)',
  transactions: 'Transactions: share of trades completed, recent trades weighted more (±150)',
  community: 'Community: trust-weighted ratings and community actions (±100)',
  reliability: 'Reliability: uptime from heartbeats and kept maintenance windows (±50)',
  disputes: 'Disputes: disputes lost against trades (±50)',
};

export function AgentPage(props: { id: string }) {
  const res = useLoad(() => loadAgent(props.id), [props.id]);
  const dark = useTheme() === 'dark';
  const hist = useMemo(() => {
    const h = res.data?.history.data;
    if (!h) return null;
    const ax = axes(dark);
    return { xAxis: ax.x, yAxis: { ...ax.y, min: 0, max: 1000, scale: false }, series: [{ name: 'Trust score', type: 'line', step: 'end', data: [...h].reverse().map((s: any) => [s.at, s.trustScore]) }] };
  }, [res.data, dark]);
  return (
    <Async res={res} what="this agent">
      {({ profile, explain, history, listings }) => {
        const a = profile.agent;
        const r = profile.reputation;
        const h = profile.economicHistory;
        return (
          <>
            <p class="crumbs"><Link href="/leaderboard">← Leaderboard</Link></p>
            <h1 tabIndex={-1}>{a.displayName}</h1>
            <p class="lede">{a.type} · {a.country} · {a.region} · {a.categories.map(label).join(', ')} · registered {ago(a.registeredAt)}{a.status !== 'active' ? ` · ${a.status}` : ''}</p>
            <div class="kpis">
              <div class="kpi" data-kpi="trust"><div class="kpi-label">Trust score</div><div class="kpi-value" data-value>{int(r?.trustScore ?? null)}</div><div class="kpi-trend"><span class={`level ${r?.trustLevel}`}>{r?.trustLevel ?? '—'}</span> · {int(r?.observations ?? 0)} observations</div></div>
              <div class="kpi" data-kpi="earnings"><div class="kpi-label">Total earnings</div><div class="kpi-value" data-value>{aitbc(h?.totalEarnings)}</div><div class="kpi-trend">spent {aitbc(h?.totalSpent)}</div></div>
              <div class="kpi" data-kpi="success"><div class="kpi-label">Success rate</div><div class="kpi-value" data-value>{pct(h?.successRate)}</div><div class="kpi-trend">{int(h?.transactionCount)} trades · disputes {int(h?.disputes?.opened)} opened, {int(h?.disputes?.lost)} lost</div></div>
              <div class="kpi" data-kpi="tier"><div class="kpi-label">Price tier</div><div class="kpi-value" data-value>{profile.status?.priceTier ?? '—'}</div><div class="kpi-trend">{int(profile.status?.activeListings)} active listings</div></div>
            </div>
            <div class="grid2">
              <Section title="Trust score: the five components" id="components">
                <ul class="components">{explain.components.map((c: any) => {
                  const w = ((c.value - c.min) / (c.max - c.min)) * 100;
                  return (
                    <li key={c.name} data-component={c.name}>
                      <div class="comp-head"><span>{COMPONENT_TEXT[c.name] ?? c.name}</span><strong data-component-value>{num(c.value, 1)}</strong></div>
                      <div class="bar" role="meter" aria-valuemin={c.min} aria-valuemax={c.max} aria-valuenow={c.value} aria-label={c.name}><span style={{ width: `${Math.max(0, Math.min(100, w))}%` }} /></div>
                    </li>
                  );
                })}</ul>
                {explain.notes.length ? <><h3>Why</h3><ul class="notes" data-notes>{explain.notes.map((n: string) => <li>{n}</li>)}</ul></> : null}
                {Object.keys(explain.discounted).length ? <p class="footnote">Discounted evidence: {Object.entries(explain.discounted).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ')}.</p> : null}
              </Section>
              <Section title="Score history" id="history">
                {history.data.length && hist ? <Chart name="score-history" label="Trust score over time" option={hist} /> : <Empty>No score snapshots yet: one is taken at most once an hour once the agent has evidence.</Empty>}
              </Section>
            </div>
            <Section title="Listings" id="listings">
              {listings.data.length === 0 ? <Empty>This agent has no listings.</Empty> : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="listings">
                  <thead><tr><th scope="col">Market</th><th scope="col">Region</th><th scope="col" class="num">Price (AITBC / unit)</th><th scope="col" class="num">Available</th><th scope="col">Status</th><th scope="col">Valid until</th></tr></thead>
                  <tbody>{listings.data.map((l: any) => (
                    <tr key={l.id} data-listing={l.id}><td>{label(l.category)} · {l.spec.gpuModel ?? l.spec.modelName ?? '—'} ({l.unit.replace('_', ' ')})</td><td>{l.region}</td>
                      <td class="num" data-price>{amount(l.pricePerUnit)}</td><td class="num">{int(l.capacity.available)}</td><td>{l.status}</td><td>{dateTime(l.validUntil)}</td></tr>))}
                  </tbody>
                </table></div>
              )}
            </Section>
            <Section title="Recent evidence" id="recent">
              {explain.recent.length === 0 ? <Empty>No trades or measurements yet.</Empty> : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="recent">
                  <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col" class="num">Weight</th><th scope="col">Discounts</th></tr></thead>
                  <tbody>{[...explain.recent].reverse().map((x: any, i: number) => (
                    <tr key={i}><td title={x.at}>{ago(x.at)}</td><td>{x.type}</td><td class="num">{num(x.weightNow ?? x.weight, 2)}</td><td>{x.discounts.length ? x.discounts.map((d: string) => d.replace(/_/g, ' ')).join(', ') : 'none'}</td></tr>))}
                  </tbody>
                </table></div>
              )}
            </Section>
          </>
        );
      }}
    </Async>
  );
}
