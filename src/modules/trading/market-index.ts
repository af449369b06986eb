/**
 * The in-memory market: a ListingIndex kept in step with the database. Before each match the index loads
 * the listings changed since its watermark (less a margin for transactions that committed late), and a
 * job refreshes sellers' trust scores and completed trades. The index only ranks: capacity is re-checked
 * under lock when an agreement is made.
 */
import type { Database } from '../../database.js';
import type { AgentDirectory } from '../agents/agents.port.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import { ListingIndex } from './matching.js';
import { marketRepository as repo } from './market.repository.js';
import { toMatchListing, type ListingRow } from './trading.repository.js';

/** Listings changed within this margin before the watermark are read again (late commits). */
const SYNC_MARGIN_MS = 5000;
/** On PostgreSQL, the index re-reads at least this often (real time) for other processes' changes. */
const REMOTE_SYNC_MS = 1000;

export class MarketIndex {
  readonly index = new ListingIndex();
  private watermark: number | null = null;
  private readonly trust = new Map<string, number>();
  /** When each indexed seller registered (it never changes: read once per seller). */
  private readonly registeredAt = new Map<string, number>();
  /** Each known seller's completed trades (kept current by refreshSellers). */
  private readonly completedTrades = new Map<string, number>();
  /**
   * The latest agreements.updated_at seen by refreshSellers (null before its first run, -Infinity when
   * there were no agreements): the next refresh re-counts only sellers with agreements changed since then
   * (less SYNC_MARGIN_MS).
   */
  private agreementsWatermark: number | null = null;
  /** Bumped whenever refreshSellers stores completed trades (see doSync). */
  private countsEpoch = 0;
  /** Sellers whose trades a sync counted while a refresh stored newer counts: the next refresh counts them again. */
  private readonly recount = new Set<string>();
  private refreshing: Promise<unknown> = Promise.resolve();
  /**
   * Listings applied to the index whose change falls within the margin of the next read (version and
   * updated_at): the read leaves them out unless their version moved, so a catch-up returns only changes.
   */
  private readonly recent = new Map<string, { version: number; at: number }>();
  private syncing: Promise<void> | null = null;
  /** Bumped when this process committed a listing change; `synced` is the generation the last sync saw. */
  private generation = 1;
  private synced = 0;
  private lastSyncAt = -Infinity;

  constructor(
    private readonly database: Database,
    private readonly reputation: ReputationPort,
    private readonly agents: AgentDirectory,
  ) {}

  /** This process committed a change to listings: the next sync reads the database. */
  changed(): void {
    this.generation++;
  }

  /**
   * Brings the index up to date before a match. Reads the database only when this process committed a
   * listing change since the last sync or, on PostgreSQL (other processes may write), when the last read
   * is older than REMOTE_SYNC_MS; otherwise it is a no-op.
   */
  sync(): Promise<void> {
    if (this.generation === this.synced && !(this.database.kind === 'postgres' && performance.now() - this.lastSyncAt >= REMOTE_SYNC_MS)) {
      return this.syncing ?? Promise.resolve();
    }
    return this.load();
  }

  /** Loads listings changed since the last sync (all on the first call). Concurrent callers share one read. */
  private load(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.doSync().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const gen = this.generation;
    const epoch = this.countsEpoch;
    this.lastSyncAt = performance.now();
    const since = this.watermark === null ? null : new Date(this.watermark - SYNC_MARGIN_MS);
    if (since) for (const [id, r] of this.recent) if (r.at < since.getTime()) this.recent.delete(id);
    const ids = [...this.recent.keys()];
    const versions = ids.map((id) => this.recent.get(id)!.version);
    const rows = await repo.listingsChangedSince(this.database.db, since, { ids, versions });
    this.synced = gen;
    let max = this.watermark ?? 0;
    for (const r of rows) max = Math.max(max, r.updated_at.getTime());
    this.watermark = max;
    if (rows.length === 0) return;
    const sellers = [...new Set(rows.map((r) => r.seller_id))];
    const unknown = sellers.filter((s) => !this.trust.has(s));
    if (unknown.length) {
      const scores = await this.reputation.trustScores(unknown);
      for (const s of unknown) this.trust.set(s, scores.get(s) ?? 0);
    }
    // sellers' registration time and completed trades are read only for sellers not known yet
    // (refreshSellers keeps the known ones' trades current), since counting a busy seller's agreements on
    // every sync grows with them
    const unregistered = sellers.filter((s) => !this.registeredAt.has(s));
    const uncounted = sellers.filter((s) => !this.completedTrades.has(s));
    const [registered, counts] = await Promise.all([
      unregistered.length ? this.agents.registeredAt(unregistered) : new Map<string, Date>(),
      uncounted.length ? repo.completedTrades(this.database.db, uncounted) : [],
    ]);
    for (const [id, at] of registered) this.registeredAt.set(id, at.getTime());
    // a refresh that stored counts while this read was in flight may have read a later state: keep its
    // counts, and have the next refresh count the sellers this read is the only source for
    const raced = epoch !== this.countsEpoch;
    for (const c of counts) {
      if (raced) {
        if (this.completedTrades.has(c.id)) continue;
        this.recount.add(c.id);
      }
      this.completedTrades.set(c.id, Number(c.n));
    }
    const floor = max - SYNC_MARGIN_MS;
    for (const row of rows) {
      if (row.status === 'withdrawn') this.index.remove(row.id);
      else this.index.upsert(this.listingOf(row));
      const at = row.updated_at.getTime();
      if (at >= floor) this.recent.set(row.id, { version: row.version, at });
    }
  }

  /**
   * Counts the completed trades of `sellers` and, once there is a watermark, of every seller with an
   * agreement changed since it (less SYNC_MARGIN_MS), in one statement that also reads the new watermark.
   * A change not read here commits after this statement's snapshot, so it is stamped at most the margin
   * before the new watermark: the next call re-counts its seller.
   */
  private async loadCompletedTrades(sellers: string[]): Promise<void> {
    const wm = this.agreementsWatermark;
    if (wm === null && !sellers.length) return;
    const rows = await repo.completedTradesChangedSince(this.database.db, sellers, wm === null || wm === -Infinity ? wm : wm - SYNC_MARGIN_MS);
    this.countsEpoch++;
    for (const r of rows) if (r.id !== null) this.completedTrades.set(r.id, Number(r.n));
    const m = rows[0]?.watermark ?? null;
    this.agreementsWatermark = Math.max(this.agreementsWatermark ?? -Infinity, m === null ? -Infinity : m.getTime());
  }

  private listingOf(r: ListingRow) {
    return toMatchListing(r, {
      trust: this.trust.get(r.seller_id) ?? 0, createdAt: this.registeredAt.get(r.seller_id) ?? 0, completedTrades: this.completedTrades.get(r.seller_id),
    });
  }

  /**
   * Re-reads every indexed seller's trust score (in memory) and the completed trades of the sellers whose
   * agreements changed since the last refresh (all indexed sellers on the first run, and sellers seen for
   * the first time); re-indexes listings whose seller changed. Serialised: one refresh at a time.
   */
  refreshSellers(): Promise<number> {
    const p = this.refreshing.then(() => this.doRefreshSellers());
    this.refreshing = p.catch(() => undefined);
    return p;
  }

  private async doRefreshSellers(): Promise<number> {
    await this.sync();
    const sellers = [...new Set([...this.index.listings()].map((l) => l.sellerId))];
    if (!sellers.length) return 0;
    const scores = await this.reputation.trustScores(sellers);
    const recount = new Set(this.recount);
    this.recount.clear();
    try {
      await this.loadCompletedTrades(this.agreementsWatermark === null ? sellers : sellers.filter((s) => !this.completedTrades.has(s) || recount.has(s)));
    } catch (err) {
      for (const s of recount) this.recount.add(s);
      throw err;
    }
    let changed = 0;
    for (const l of [...this.index.listings()]) {
      const trust = scores.get(l.sellerId) ?? 0;
      const trades = this.completedTrades.get(l.sellerId);
      this.trust.set(l.sellerId, trust);
      if (l.sellerTrust !== trust || (trades !== undefined && l.sellerCompletedTrades !== trades)) {
        this.index.upsert({ ...l, sellerTrust: trust, ...(trades !== undefined ? { sellerCompletedTrades: trades } : {}) });
        changed++;
      }
    }
    return changed;
  }
}
