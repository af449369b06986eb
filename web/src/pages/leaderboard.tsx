import { useState } from 'preact/hooks';
import { api, useLoad } from '../api.js';
import { aitbc, CATEGORIES, int, label, pct } from '../format.js';
import { Async, Empty, Link, Section } from '../ui.js';
import { navigate } from '../router.js';

export const PAGE_SIZE = 20;
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-northeast', 'ap-south', 'sa-east'];

/** One page of the leaderboard with each agent's public economic profile (earnings, success rate, tier). */
export async function loadLeaderboard(q: { category: string; region: string; cursor: string | null }) {
  const p = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (q.category) p.set('category', q.category);
  if (q.region) p.set('region', q.region);
  if (q.cursor) p.set('cursor', q.cursor);
  const page: any = await api(`/v1/leaderboard?${p}`);
  const profiles = await Promise.all(page.data.map((e: any) => api(`/v1/agents/${e.agentId}/profile`).catch(() => null)));
  return { ...page, data: page.data.map((e: any, i: number) => ({ ...e, profile: profiles[i] })) };
}

export function Leaderboard() {
  const [category, setCategory] = useState('');
  const [region, setRegion] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const res = useLoad(() => loadLeaderboard({ category, region, cursor }), [category, region, cursor]);
  const reset = () => setCursors([null]);
  return (
    <>
      <h1 tabIndex={-1}>Leaderboard</h1>
      <p class="lede">Active agents by trust score (0–1000), with the public economic profile of each. Choose an agent for its score, the evidence behind it, and its listings.</p>
      <Section title="Agents" id="board" actions={
        <div class="filters">
          <label>Category <select value={category} onChange={(e) => { setCategory((e.target as HTMLSelectElement).value); reset(); }} data-filter="category">
            <option value="">All</option>{CATEGORIES.map((c) => <option value={c}>{label(c)}</option>)}
          </select></label>
          <label>Region <select value={region} onChange={(e) => { setRegion((e.target as HTMLSelectElement).value); reset(); }} data-filter="region">
            <option value="">All</option>{REGIONS.map((r) => <option value={r}>{r}</option>)}
          </select></label>
        </div>}>
        <Async res={res} what="the leaderboard">
          {(d) => d.data.length === 0 ? <Empty>No active agent matches these filters. Clear a filter to see more.</Empty> : (
            <>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on small screens)"><table data-table="leaderboard">
                <thead><tr><th scope="col" class="num">#</th><th scope="col">Agent</th><th scope="col">Region</th><th scope="col" class="num">Trust</th><th scope="col">Level</th><th scope="col">Tier</th><th scope="col" class="num">Earnings</th><th scope="col" class="num">Success rate</th><th scope="col" class="num">Trades</th></tr></thead>
                <tbody>{d.data.map((e: any) => {
                  const h = e.profile?.economicHistory;
                  return (
                    <tr key={e.agentId} data-agent={e.agentId} class="clickable" onClick={(ev) => { if (!(ev.target as HTMLElement).closest('a')) navigate(`/agents/${e.agentId}`); }}>
                      <td class="num">{e.rank}</td>
                      <td><Link href={`/agents/${e.agentId}`}>{e.displayName}</Link></td>
                      <td>{e.region}</td>
                      <td class="num" data-trust>{int(e.trustScore)}</td>
                      <td><span class={`level ${e.level}`}>{e.level}</span></td>
                      <td>{e.profile?.status?.priceTier ?? '—'}</td>
                      <td class="num">{h ? aitbc(h.totalEarnings) : '—'}</td>
                      <td class="num">{h ? pct(h.successRate) : '—'}</td>
                      <td class="num">{h ? int(h.transactionCount) : '—'}</td>
                    </tr>
                  );
                })}</tbody>
              </table></div>
              <nav class="pager" aria-label="Leaderboard pages">
                <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>← Previous</button>
                <span>Page {cursors.length}</span>
                <button type="button" disabled={!d.nextCursor} onClick={() => setCursors((c) => [...c, d.nextCursor])} data-next>Next →</button>
              </nav>
            </>
          )}
        </Async>
      </Section>
    </>
  );
}
