/**
 * The same-owner detector's background job: account signals from the agents module, first funders from
 * the ledger's port, trades from the engine; each new cluster is recorded as evidence.
 */
import { uuidFromName } from '../../platform/ids.js';
import { DEFAULT_OWNER_CLUSTER_OPTIONS, detectOwnerClusters, type AccountSignals, type OwnerCluster } from './wash.js';
import { reputationRepository as repo } from './reputation.repository.js';
import type { EvidenceProjection } from './reputation.projection.js';
import type { AgentAccount, ReputationDeps } from './reputation.deps.js';

const FUNDER_CHUNK = 1_000;
/**
 * Agents changed within this margin before the account cache's watermark are read again: a writer may
 * commit after a later change was read, with an earlier time (concurrent writers, clocks of other processes).
 */
const ACCOUNTS_MARGIN_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SameOwnerDetector {
  /** who first funded an agent never changes once known */
  private readonly funders = new Map<string, string | null>();
  /**
   * Account attributes (agents table) for same-owner detection, kept in step incrementally: each run reads
   * the agents changed since `accountsWatermark` (the latest updated_at read, less ACCOUNTS_MARGIN_MS) and
   * the traded agents not cached yet, instead of every agent.
   */
  private readonly accounts = new Map<string, AgentAccount>();
  private accountsWatermark: number | null = null;
  private accountsLoading: Promise<void> = Promise.resolve();
  /** trades the engine had at the last same-owner detection (nothing new: nothing to do) */
  private detectedAtTrades = -1;

  constructor(
    private readonly deps: ReputationDeps,
    private readonly projection: EvidenceProjection,
  ) {}

  /**
   * Runs the same-owner detector (wash.ts `detectOwnerClusters`) over the trades in the evidence log and
   * the account signals of the agents that made them (agents table: public key, registration time,
   * country, region, type, categories, display name; ledger: who first funded each wallet). Each new
   * cluster is recorded as a `same_owner` evidence row with its members and signals (its id derives from
   * the member set, so processes running the job at once record it once); the engine applies it in log
   * order, so incremental and full recomputes agree. The account signals come from a cache refreshed with
   * the agents changed since the last run (`refreshAccounts`), not a read of every agent. Returns the
   * clusters recorded.
   */
  async detectSameOwner(): Promise<OwnerCluster[]> {
    await this.projection.sync();
    const trades = this.projection.engine.tradePairCounts();
    let tradeCount = 0;
    for (const t of trades) tradeCount += t.count;
    if (trades.length === 0 || tradeCount === this.detectedAtTrades) return [];
    const db = this.deps.database.db;
    const traded = new Set<string>();
    for (const t of trades) traded.add(t.buyerId).add(t.sellerId);
    const unknown = [...traded].filter((id) => !this.funders.has(id));
    for (let i = 0; i < unknown.length; i += FUNDER_CHUNK) {
      for (const r of await this.deps.funders.firstFunders(unknown.slice(i, i + FUNDER_CHUNK))) this.funders.set(r.agentId, r.funder);
    }
    await this.refreshAccounts(traded);
    const accounts: AccountSignals[] = [];
    for (const id of traded) {
      const a = this.accounts.get(id);
      if (a === undefined) continue; // not a registered agent
      accounts.push({
        id: a.id, displayName: a.display_name, type: a.type, country: a.country, region: a.region, categories: a.categories,
        publicKey: a.public_key, createdAt: new Date(a.created_at).getTime(), funder: this.funders.get(a.id) ?? null,
      });
    }
    const clusters = detectOwnerClusters(accounts, trades, { ...DEFAULT_OWNER_CLUSTER_OPTIONS, ...this.deps.ownerClusters });
    const recorded: OwnerCluster[] = [];
    const at = this.deps.clock.now();
    for (const c of clusters) {
      // already known: every member is in one cluster with the first
      if (c.members.every((m) => this.projection.engine.sameOwner(c.members[0]!, m))) continue;
      const ok = await repo.insertEvidence(db, {
        id: uuidFromName(`reputation:same_owner:${c.members.join(',')}`), type: 'same_owner', subjectId: c.members[0]!, producerId: null, tradeId: null, at,
        data: { members: c.members, signals: c.signals, internalShare: c.internalShare, internalTrades: c.internalTrades }, source: 'reputation:same_owner', createdAt: at,
      });
      if (ok) recorded.push(c);
    }
    this.detectedAtTrades = tradeCount;
    return recorded;
  }

  /**
   * Brings the account cache up to date for these agents: reads the agents changed since the watermark
   * (less the margin) and those of `ids` not cached yet, in one statement. The result is the same as
   * reading every agent, provided no change commits later than ACCOUNTS_MARGIN_MS after a later-stamped
   * one was read. Serialised, so an older read never overwrites a newer one.
   */
  private refreshAccounts(ids: Iterable<string>): Promise<void> {
    const p = this.accountsLoading.then(async () => {
      const missing: string[] = [];
      for (const id of ids) if (!this.accounts.has(id) && UUID.test(id)) missing.push(id);
      const since = this.accountsWatermark === null ? null : new Date(this.accountsWatermark - ACCOUNTS_MARGIN_MS);
      // The watermark is the time of this read (or a later change read, from a clock ahead of ours): the
      // latest change read would stay put while nobody changes, and every agent stamped within the margin
      // of it (a whole population registered at once) would be read again on every run.
      const readAt = this.deps.clock.now().getTime();
      const rows = await this.deps.agents.accountAttributes({ since, ids: missing });
      let max = Math.max(this.accountsWatermark ?? -Infinity, readAt);
      for (const r of rows) {
        this.accounts.set(r.id, r);
        max = Math.max(max, r.updated_at.getTime());
      }
      this.accountsWatermark = max;
    });
    this.accountsLoading = p.catch(() => undefined);
    return p;
  }

  /** Statistics of the same-owner detector's account cache (tests, metrics). */
  get accountCache(): { size: number; watermark: number | null } {
    return { size: this.accounts.size, watermark: this.accountsWatermark };
  }

  /** Forget the account cache: the next run reads every traded agent again (full recompute). */
  resetAccounts(): void {
    this.accounts.clear();
    this.accountsWatermark = null;
  }
}
