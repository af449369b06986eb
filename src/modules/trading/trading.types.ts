/**
 * Plain-data types of the trading core. No behaviour here.
 *
 * Money is integer base units (`bigint`, 1 AITBC = 100_000_000 units). Times are epoch milliseconds.
 */

export const CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'] as const;
export type Category = (typeof CATEGORIES)[number];

export const UNITS = ['gpu_hour', '1k_tokens', 'job'] as const;
export type Unit = (typeof UNITS)[number];

export const LISTING_STATUSES = ['active', 'paused', 'withdrawn'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];

export const URGENCIES = ['low', 'normal', 'high'] as const;
export type Urgency = (typeof URGENCIES)[number];

export const SETTLEMENT_TYPES = ['immediate', 'escrow', 'milestone'] as const;
export type SettlementType = (typeof SETTLEMENT_TYPES)[number];

/** 1 AITBC in base units. */
export const UNITS_PER_AITBC = 100_000_000n;

export interface ListingSpec {
  gpuModel?: string;
  vramGb?: number;
  gpuCount?: number;
  /** For inference / model services. */
  modelName?: string;
  contextSize?: number;
}

export interface Sla {
  /** Promised availability, 0..1 (0.999 = three nines). */
  availability: number;
  /** Promised maximum latency in milliseconds. */
  maxLatencyMs: number;
}

/** A seller's offer on the market. */
export interface Listing {
  id: string;
  sellerId: string;
  category: Category;
  spec: ListingSpec;
  unit: Unit;
  /** Price per unit in base units. */
  pricePerUnit: bigint;
  /** Capacity in units (e.g. GPU-hours). */
  capacityTotal: number;
  /**
   * Units no new agreement can take: reserved by live agreements, plus (stock listings) consumed by settled
   * ones. Available = capacityTotal - capacityReserved.
   */
  capacityReserved: number;
  /** Region code, e.g. `eu-west`. */
  region: string;
  sla: Sla;
  /** Validity window [validFrom, validUntil) in ms. */
  validFrom: number;
  validUntil: number;
  status: ListingStatus;
  /** Seller trust score 0..1000, supplied by the caller (reputation module). */
  sellerTrust: number;
  /** When the seller agent registered (ms); used to detect newcomers for exploration. */
  sellerCreatedAt: number;
  /** Completed trades of the seller, if known; used to detect newcomers for exploration. */
  sellerCompletedTrades?: number;
}

export interface RequestSpec {
  minVramGb?: number;
  /** Accepted GPU models, most preferred first (order is used by the spec-fit score). */
  acceptedGpuModels?: readonly string[];
  modelName?: string;
  minContextSize?: number;
  minGpuCount?: number;
}

/** A buyer's request. */
export interface TradeRequest {
  id: string;
  buyerId: string;
  category: Category;
  spec: RequestSpec;
  /** Units wanted. */
  quantity: number;
  /** Price per unit at or below which price fit is perfect (default 0). */
  budgetMin?: bigint;
  /** Maximum price per unit (hard constraint). */
  budgetMax: bigint;
  /** If set, only these regions, most preferred first (order is used by the region score). */
  allowedRegions?: readonly string[];
  excludedRegions?: readonly string[];
  maxLatencyMs?: number;
  /** Minimum seller trust, 0..1000. */
  minTrustScore?: number;
  deadline: number;
  urgency: Urgency;
}

/** Terms negotiated over. */
export interface Terms {
  pricePerUnit: bigint;
  quantity: number;
  sla: Sla;
  settlementType: SettlementType;
}
