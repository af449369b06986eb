/**
 * What the rewards module needs from others, declared here and answered in app.ts: the ledger (pay a
 * batch from the pool, the pool's balance, grants), reputation (trades with their verdicts, trust,
 * owner clusters), agents (registration times), availability (platform-measured uptime), the market's
 * supply and demand (supply bonus) and, optionally, a risk module's holds and other revenue-share sources.
 */
import type { Database, Executor, Tx } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { RecordedTrade } from '../reputation/reputation.port.js';
import type { AvailabilityPort } from '../availability/availability.port.js';
import type { AgreementAttributes, SupplyDemandCell } from '../trading/trading.market-data.port.js';
import type { SplitShare } from './rewards.splits.js';

export interface PoolTransfer {
  id: string;
  /** account keys: 'system:rewards', 'system:treasury', 'wallet:<agentId>' */
  from: string;
  to: string;
  amount: bigint;
  code: string;
  reference: string;
}

export interface RewardsLedger {
  /** Posted transfers by id (a second call with the same ids creates nothing); the status of each. */
  pay(transfers: readonly PoolTransfer[], batchId: string): Promise<{ id: string; status: 'created' | 'exists' | 'rejected'; code?: string }[]>;
  /** pay inside the caller's transaction (a held reward released with its statement's new state, rewards.held.ts) */
  payIn(tx: Tx, transfers: readonly PoolTransfer[], batchId: string): Promise<{ id: string; status: 'created' | 'exists' | 'rejected'; code?: string }[]>;
  /** system:rewards posted balance */
  poolBalance(): Promise<bigint>;
}

export interface RewardsReputation {
  tradesBetween(from: Date, until: Date): Promise<RecordedTrade[]>;
  trustScores(agentIds: readonly string[]): Promise<Map<string, number>>;
  ownerClusters(agentIds: readonly string[]): Promise<Map<string, string>>;
}

export interface RewardsMarket {
  supplyDemand(now: Date): Promise<SupplyDemandCell[]>;
  agreements(ids: readonly string[]): Promise<AgreementAttributes[]>;
  /** the listing's seller (royalties are set by the seller) */
  listingSeller(listingId: string): Promise<string | undefined>;
  /** inside the release transaction: the listing an agreement was made on */
  agreementListingIn(db: Executor, agreementId: string): Promise<{ listingId: string; sellerId: string } | undefined>;
}

/**
 * Revenue shares of a settlement from another module (the certification helper's partnership shares):
 * read through `db` (the release transaction). Royalties of listings are this module's own source.
 */
export interface SplitSource {
  sharesFor(db: Executor, agreement: { agreementId: string; sellerId: string; buyerId: string }): Promise<SplitShare[]>;
}

export interface RewardsDeps {
  database: Database;
  clock: Clock;
  ledger: RewardsLedger;
  reputation: RewardsReputation;
  agents: { registeredAt(agentIds: readonly string[]): Promise<Map<string, Date>>; exists(agentId: string): Promise<boolean> };
  availability?: Pick<AvailabilityPort, 'uptimeOf'>;
  market?: RewardsMarket;
  /** an agent under risk review is held, not paid (default: nobody) */
  isHeld?: (agentId: string) => Promise<boolean>;
  /** every agent held now, in one query; when given, the epoch asks it once instead of isHeld per agent */
  heldAgents?: () => Promise<Set<string>>;
  splitSources?: SplitSource[];
}
