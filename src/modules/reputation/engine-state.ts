/**
 * The reputation engine's state: columnar arrays indexed by agent, pair, trade and trust edge. The engine
 * (engine-statistics.ts, engine.ts) updates it; engine-checkpoint.ts saves and restores it. Its fields are
 * public so that the checkpoint code can read them; nothing outside these files should.
 */
import type { AgentId, DiscountReason, EvidenceType } from './evidence.types.js';
import type { LocalTrust } from './eigentrust.js';
import { F64Column, I32Column } from './growable.js';
import type { PaymentLog } from './wash.js';

export const KIND_TRADE = 0;
export const KIND_PROBE = 1;
export const KIND_RATING = 2;
export const MAX_AGENTS = 2_097_152; // 2^21: pair keys stay exact integers below 2^53

export interface RecentItem {
  readonly at: number;
  readonly type: EvidenceType;
  /** the other agent involved (buyer, probe, rater, filer), if any */
  readonly counterparty?: AgentId;
  /** weight the item received in the statistics (0 = ignored) */
  readonly weight: number;
  readonly discounts: readonly DiscountReason[];
}

export interface AgentCounts {
  tradesAsSeller: number;
  tradesAsBuyer: number;
  probes: number;
  ratingsReceived: number;
  ratingsGiven: number;
  community: number;
  reliability: number;
  disputes: number;
  disputesLost: number;
}

/** The latest same-owner verdict an agent is part of (for explain). */
export interface OwnerVerdictInfo {
  readonly id: string;
  readonly at: number;
  readonly members: readonly AgentId[];
  readonly signals: readonly string[];
  readonly internalShare: number;
  /** earlier trades between members whose credit (and ratings) the verdict withdrew */
  readonly tradesWithdrawn: number;
}

export interface AgentInfo {
  counts: AgentCounts;
  discounts: Partial<Record<DiscountReason, number>>;
  recent: RecentItem[];
  owner?: OwnerVerdictInfo;
}

export class EngineState {
  /** time of the last evidence applied */
  lastAt = -Infinity;

  // agents, by index
  readonly ids: AgentId[] = [];
  readonly agentIndex = new Map<AgentId, number>();
  /** STAT_FIELDS decayed sufficient statistics per agent (trust-score.ts `F`), agent a at a * STAT_FIELDS */
  readonly agentStats: number[] = [];
  /** the time agentStats of each agent are decayed to */
  readonly refAt: number[] = [];
  /** gain cap: the day capBaseScore refers to (-1 before the agent's first evidence as subject) */
  readonly capDay: number[] = [];
  /** gain cap: the capped score at the end of the day before capDay, C(capDay - 1) */
  readonly capBaseScore: number[] = [];
  readonly agentInfo: AgentInfo[] = [];
  /** value the agent brought in from outside (AITBC, the latest funding report): its share of the trust seed */
  readonly seedValue: number[] = [];
  /** payments each agent made, within the loop-detection window (undefined: never paid) */
  readonly paymentLogs: (PaymentLog | undefined)[] = [];

  // directed pairs (subject, producer, kind), by pair index; all decay at the common rate. The pair adds
  // pairTrust x pairDim x (pairWeight, pairWeightedSum0..2) to its subject's statistics: the producer's
  // trust weight of the current epoch (re-weighed at every epoch) times the repeat diminishing factor
  // g(n) / n of its count at its last update, times the unweighted sums.
  readonly pairIndex = new Map<number, number>();
  readonly pairRefAt: number[] = [];
  /** decayed count of observations */
  readonly pairCount: number[] = [];
  /** decayed sum of the observations' size weights (amountWeight for trades, 1 otherwise), not trust-weighted */
  readonly pairWeight: number[] = [];
  /** decayed size-weighted sums of the observations' values: trade and probe (latency, accuracy, success or availability), rating (adjusted stars, 0, 0) */
  readonly pairWeightedSum0: number[] = [];
  readonly pairWeightedSum1: number[] = [];
  readonly pairWeightedSum2: number[] = [];
  readonly pairSubject: number[] = [];
  readonly pairProducer: number[] = [];
  readonly pairKind: number[] = [];
  /** the producer's trust weight (0..1) about the subject in the current epoch */
  readonly pairTrust: number[] = [];
  /** g(n) / n at the pair's last update (repeat diminishing, see params.pairSaturation) */
  readonly pairDim: number[] = [];
  // trade pairs: their unweighted share of the subject's recent window (value at stake; decays at the
  // recent rate), so that an epoch can re-weigh it and a taint can withdraw it
  readonly pairRecentMass: number[] = [];
  readonly pairRecentOk: number[] = [];
  /** rating pairs: decayed count of the producer's consistent ratings in it (its community participation), withdrawn by a taint */
  readonly pairGiven: number[] = [];
  lastPairUpdated = -1;

  // unordered pairs {a, b}: taint flags (same owner / closed loop), 1 = tainted
  readonly unorderedPairIndex = new Map<number, number>();
  readonly unorderedPairTainted: number[] = [];
  // same-owner clusters (verdicts): union-find over agents, -1 = in no cluster
  readonly ownerParent: number[] = [];

  // trades (for rating checks), by trade index
  readonly tradeIndex = new Map<string, number>();
  readonly tradeBuyer: number[] = [];
  readonly tradeSeller: number[] = [];
  /** what a fair rating of the trade would say, 0..1 */
  readonly tradeQuality: number[] = [];
  /** sides that rated: 1 = the buyer, 2 = the seller */
  readonly tradeRatedSides: number[] = [];
  readonly tradePairSlot: number[] = [];

  // evidence graph (trust edges)
  readonly edgeFrom = new I32Column(4096);
  readonly edgeTo = new I32Column(4096);
  readonly edgeValue = new F64Column(4096);
  /** the unordered pair of each edge (a tainted pair's edges are left out of the next epoch) */
  readonly edgePairSlot = new I32Column(4096);
  /** bumped on every change of the graph: an epoch with nothing new reuses the last trust */
  graphVersion = 0;

  // global trust epoch
  epochDay = -Infinity;
  epochVersion = -1;
  globalTrust: Float64Array = new Float64Array(0);
  /** reference trust: a producer with at least this much trust has full weight */
  trustReference = Infinity;
  localTrust: LocalTrust | undefined;
  preTrustedMask: Uint8Array = new Uint8Array(0);
  readonly preTrustedIndices: number[] = [];
  epochsComputed = 0;
}
