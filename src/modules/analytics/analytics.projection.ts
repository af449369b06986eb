/**
 * The market rollups as a projection. Source: the platform outbox (outbox_events), tailed with the
 * projection's own cursor; each market event becomes a fact, enriched once through the trading port
 * (category, region, spec class, quantities, start times) and the agents' attributes (country, region),
 * and stored in the projection's own append-only log, analytics_facts, keyed by what it is. The rollups
 * are a commutative fold of that log, so an incremental pass and a rebuild from scratch give the same rows.
 *
 * Exactly once: facts are inserted with ON CONFLICT DO NOTHING and only the rows actually inserted are
 * folded, in the same transaction, under a lock on analytics_state (FOR UPDATE): two projectors (two
 * processes) and a retry of the same events count each fact once. A duplicated event (a second outbox row
 * for the same settlement) has the same fact key and is counted once too.
 *
 * Late commits: outbox seqs are assigned before commit, so a row can appear below the newest seq read.
 * Every pass re-reads a window of LOOKBACK seqs below its cursor and skips what this process has already
 * handled (the outbox stream does the same). Events are pruned after 24 h; a projector that falls further
 * behind than that misses them (reported in `stats.gap`); the facts it stored are kept, so rebuilds never
 * depend on the outbox's retention.
 *
 * New agents come from the agents' attributes (registration writes no event), read by updated_at with a
 * margin. Supply and demand are gauges (listed capacity, open requests): one snapshot per minute through the
 * trading port, stored as a fact and applied only when newer than the last one, so snapshots are applied in
 * time order both incrementally and in a rebuild.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import type { SupplyDemandCell, TradingMarketData } from '../trading/trading.market-data.port.js';
import { binOf } from './sketch.js';
import {
  Accumulator, EVENT_TYPES, GRANULARITIES, agentFact, factOf, idsOf, snapshotFact, truncate, type AgentGeo, type Fact, type FactKind, type SourceEvent,
} from './analytics.facts.js';
import { analyticsRepository as repo } from './analytics.repository.js';

/** The agents' side: account attributes by id, or changed since a time (AgentsService implements it). */
export interface AgentDirectory {
  accountAttributes(opts?: { since: Date | null; ids: readonly string[] }): Promise<{ id: string; country: string; region: string; created_at: Date; updated_at: Date }[]>;
}

export interface AnalyticsDeps {
  database: Database;
  clock: Clock;
  market: TradingMarketData;
  agents: AgentDirectory;
  /** The platform's outbox: whether the projection's cursor fell behind the retention (events pruned unread). */
  outbox: Pick<EventOutbox, 'cursorState'>;
  /** Trust scores as of a time (reputation snapshots), for the insights' trust movers. */
  trustAt?: ((at: Date) => Promise<Map<string, number>>) | undefined;
}

export const LOOKBACK = 5_000;
const PAGE = 2_000;
const AGENT_MARGIN_MS = 60_000;

export class MarketProjection {
  /** Outbox seqs this process has turned into facts (or found irrelevant), within the window. */
  private readonly seen = new Set<number>();
  private cursor: number | null = null;
  private current: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private counters = { events: 0, factsStored: 0, factsSeenBefore: 0, snapshots: 0, rebuilds: 0, gap: false };

  constructor(private readonly deps: AnalyticsDeps) {}

  get stats() {
    return { cursor: this.cursor ?? 0, ...this.counters };
  }

  /** Brings the rollups up to date (coalesced and serialised within the process). */
  sync(): Promise<void> {
    return this.serial(() => this.runSync());
  }

  /** Drops every rollup and folds the whole fact log again. */
  rebuild(): Promise<void> {
    return this.serial(async () => {
      await this.runRebuild();
    }, false);
  }

  private serial(fn: () => Promise<void>, coalesce = true): Promise<void> {
    if (coalesce && this.queued) return this.queued;
    const p = this.current.then(() => {
      if (coalesce) this.queued = null;
      return fn();
    });
    if (coalesce) this.queued = p;
    this.current = p.catch(() => undefined);
    return p;
  }

  private async runSync(): Promise<void> {
    const db = this.deps.database.db;
    if (this.cursor === null) this.cursor = Number((await repo.readState(db)).outbox_seq);
    if ((await this.deps.outbox.cursorState('analytics', this.cursor)).missed) this.counters.gap = true;
    let from = Math.max(0, this.cursor - LOOKBACK);
    for (;;) {
      const rows = await repo.outboxAfter(db, from, EVENT_TYPES, PAGE);
      const fresh = rows.filter((r) => !this.seen.has(r.seq));
      if (fresh.length) await this.ingest(fresh);
      if (rows.length < PAGE) break;
      from = rows[rows.length - 1]!.seq;
    }
    await this.ingestAgents();
    await this.snapshot();
  }

  private async ingest(events: SourceEvent[]): Promise<void> {
    const agreementIds = new Set<string>();
    const requestIds = new Set<string>();
    for (const e of events) {
      const ids = idsOf(e);
      if (ids.agreement) agreementIds.add(ids.agreement);
      if (ids.request) requestIds.add(ids.request);
    }
    const agreements = new Map((await this.deps.market.agreements([...agreementIds])).map((a) => [a.id, a]));
    for (const a of agreements.values()) if (a.requestId) requestIds.add(a.requestId);
    const requests = new Map((await this.deps.market.requests([...requestIds])).map((r) => [r.id, r]));
    const parties = new Set<string>();
    for (const e of events) {
      if (e.type === 'agreement.settled' || e.type === 'agreement.resolved') {
        const a = agreements.get(String(e.data.agreementId));
        if (a) { parties.add(a.buyerId); parties.add(a.sellerId); }
      }
    }
    const agents = new Map<string, AgentGeo>();
    if (parties.size) for (const a of await this.deps.agents.accountAttributes({ since: null, ids: [...parties] })) agents.set(a.id, { country: a.country, region: a.region });
    const facts: Fact[] = [];
    for (const e of events) {
      const f = factOf(e, { agreements, requests, agents });
      if (f) facts.push(f);
    }
    const maxSeq = events.reduce((m, e) => Math.max(m, e.seq), 0);
    await this.store(facts, { outboxSeq: maxSeq });
    for (const e of events) this.seen.add(e.seq);
    this.counters.events += events.length;
    this.cursor = Math.max(this.cursor ?? 0, maxSeq);
    if (this.seen.size > 2 * LOOKBACK) {
      const floor = this.cursor - LOOKBACK;
      for (const s of this.seen) if (s <= floor) this.seen.delete(s);
    }
  }

  /** Stores facts and folds those not stored before, in one transaction under the state lock. */
  private async store(facts: readonly Fact[], state: { outboxSeq?: number; agentsSince?: Date }): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      await repo.lockState(tx);
      const fresh = await repo.insertFacts(tx, facts);
      const acc = new Accumulator();
      for (const f of fresh) acc.addFact(f, binOf);
      await repo.apply(tx, acc);
      await repo.setState(tx, state);
      // counted after the transaction may retry: assign, not add, inside
      this.pending = { stored: fresh.length, before: facts.length - fresh.length };
    });
    this.counters.factsStored += this.pending.stored;
    this.counters.factsSeenBefore += this.pending.before;
  }
  private pending = { stored: 0, before: 0 };

  private async ingestAgents(): Promise<void> {
    const st = await repo.readState(this.deps.database.db);
    const since = st.agents_since ? new Date(st.agents_since.getTime() - AGENT_MARGIN_MS) : null;
    const rows = since ? await this.deps.agents.accountAttributes({ since, ids: [] }) : await this.deps.agents.accountAttributes();
    if (rows.length === 0) return;
    const newest = rows.reduce((m, r) => (r.updated_at > m ? r.updated_at : m), rows[0]!.updated_at);
    await this.store(rows.map(agentFact), { agentsSince: newest });
  }

  private async snapshot(): Promise<void> {
    const now = this.deps.clock.now();
    const minute = truncate(now, 'minute');
    const st = await repo.readState(this.deps.database.db);
    if (st.last_snapshot && st.last_snapshot.getTime() >= minute.getTime()) return;
    const cells = await this.deps.market.supplyDemand(now);
    const applied = await this.deps.database.transaction(async (tx) => {
      const locked = await repo.lockState(tx);
      if (locked.last_snapshot && locked.last_snapshot.getTime() >= minute.getTime()) return false;
      const fresh = await repo.insertFacts(tx, [snapshotFact(minute, cells)]);
      if (fresh.length) await repo.applySnapshot(tx, minute, cells);
      await repo.setState(tx, { lastSnapshot: minute });
      return fresh.length > 0;
    });
    if (applied) this.counters.snapshots++;
  }

  private async runRebuild(): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      await repo.lockState(tx);
      await repo.clearRollups(tx);
      // one day at a time: every contribution of a fact goes to buckets of its own time, so the days' rows are
      // disjoint and each is folded in memory and written once with plain inserts
      const kinds: FactKind[] = ['request', 'agreement', 'trade', 'dispute', 'failure', 'agent'];
      const span = await repo.factSpan(tx, kinds);
      for (let d = span ? truncate(span.min, 'day').getTime() : Infinity; span && d <= span.max.getTime(); d += 86_400_000) {
        const acc = new Accumulator();
        for (const r of await repo.factsBetween(tx, kinds, new Date(d), new Date(d + 86_400_000))) {
          acc.addFact({
            key: r.key, kind: r.kind as FactKind, at: r.at, data: r.data,
            cell: r.category === null ? null : { category: r.category, region: r.region!, specClass: r.spec_class! },
          }, binOf);
        }
        await repo.insertFresh(tx, acc);
      }
      await repo.rebuildBits(tx);
      // snapshots in time order (as they were applied: each one newer than the last); what the incremental
      // path leaves in a bucket is the last snapshot's cells, and zeros (at its time) for the bucket's other cells
      const snaps: { at: Date; cells: SupplyDemandCell[] }[] = [];
      for (const r of await repo.snapshotFacts(tx)) {
        if (snaps.length && r.at.getTime() <= snaps[snaps.length - 1]!.at.getTime()) continue;
        snaps.push({ at: r.at, cells: (r.data as { cells: SupplyDemandCell[] }).cells });
      }
      await repo.insertGauges(tx, lastSnapshotPerBucket(snaps));
    });
    this.counters.rebuilds++;
  }
}

export interface GaugeRow { granularity: 'minute' | 'hour' | 'day'; bucket: Date; snapshotAt: Date; cell: SupplyDemandCell }

/** The gauges a sequence of snapshots (in time order) leaves per bucket: the last one's cells, zeros for the bucket's other cells. */
export function lastSnapshotPerBucket(snaps: readonly { at: Date; cells: readonly SupplyDemandCell[] }[]): GaugeRow[] {
  const out: GaugeRow[] = [];
  for (const g of GRANULARITIES) {
    const buckets = new Map<number, { last: { at: Date; cells: readonly SupplyDemandCell[] }; seen: Map<string, SupplyDemandCell> }>();
    for (const s of snaps) {
      const b = truncate(s.at, g).getTime();
      let e = buckets.get(b);
      if (!e) { e = { last: s, seen: new Map() }; buckets.set(b, e); }
      e.last = s;
      for (const c of s.cells) e.seen.set(`${c.category}\u0000${c.region}\u0000${c.specClass}`, c);
    }
    for (const [b, e] of buckets) {
      const current = new Map(e.last.cells.map((c) => [`${c.category}\u0000${c.region}\u0000${c.specClass}`, c]));
      for (const [k, c] of e.seen) {
        const cell = current.get(k) ?? { ...c, supplyUnits: 0, supplyListings: 0, demandRequests: 0, demandUnits: 0 };
        out.push({ granularity: g, bucket: new Date(b), snapshotAt: e.last.at, cell });
      }
    }
  }
  return out;
}
