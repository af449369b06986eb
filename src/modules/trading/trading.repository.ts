/** Row types and row <-> domain conversions of the trading tables. SQL that more than one service needs. */
import type { Selectable } from 'kysely';
import type { Executor } from '../../database.js';
import type {
  AgreementsTable, NegotiationOffersTable, NegotiationsTable, TradeRequestsTable, TradingListingsTable,
} from './trading.tables.js';
import type { MatchWeights } from './matching.js';
import type { Category, Listing, ListingSpec, RequestSpec, SettlementType, TradeRequest, Unit, Urgency } from './trading.types.js';
import type { NegotiationState, OfferRecord, Role } from './negotiation.js';
import type { NegotiationStatus } from './trading.states.js';

export type { Executor };
export type ListingRow = Selectable<TradingListingsTable>;
export type RequestRow = Selectable<TradeRequestsTable>;
export type NegotiationRow = Selectable<NegotiationsTable>;
export type OfferRow = Selectable<NegotiationOffersTable>;
export type AgreementRow = Selectable<AgreementsTable>;

/** A delegation of negotiation to the service, as stored. Prices are base units in decimal strings. */
export interface StoredDelegation {
  strategy: string;
  beta?: number;
  targetPrice?: string;
  reservationPrice: string;
}

/** A value as the text of a jsonColumn(b) column. */
export const jsonColumn = (v: unknown): string => JSON.stringify(v);

/**
 * Units of a listing no new agreement can take: reserved by live agreements, plus (stock capacity) consumed
 * by settled ones. Free = capacity_total - unavailableUnits.
 */
export const unavailableUnits = (r: Pick<ListingRow, 'capacity_reserved' | 'capacity_consumed'>): number => r.capacity_reserved + r.capacity_consumed;

export function toMatchListing(r: ListingRow, seller: { trust: number; createdAt: number; completedTrades?: number | undefined }): Listing {
  return {
    id: r.id,
    sellerId: r.seller_id,
    category: r.category as Category,
    spec: r.spec as ListingSpec,
    unit: r.unit as Unit,
    pricePerUnit: r.price_per_unit,
    capacityTotal: r.capacity_total,
    // the index filters and scores by free capacity: consumed stock is as unavailable as reserved units
    capacityReserved: unavailableUnits(r),
    region: r.region,
    sla: { availability: r.sla_availability, maxLatencyMs: r.sla_max_latency_ms },
    validFrom: r.valid_from.getTime(),
    validUntil: r.valid_until.getTime(),
    status: r.status as Listing['status'],
    sellerTrust: seller.trust,
    sellerCreatedAt: seller.createdAt,
    ...(seller.completedTrades !== undefined ? { sellerCompletedTrades: seller.completedTrades } : {}),
  };
}

export function toTradeRequest(r: RequestRow): TradeRequest {
  return {
    id: r.id,
    buyerId: r.buyer_id,
    category: r.category as Category,
    spec: r.spec as RequestSpec,
    quantity: r.quantity,
    budgetMin: r.budget_min,
    budgetMax: r.budget_max,
    ...(r.allowed_regions ? { allowedRegions: r.allowed_regions } : {}),
    ...(r.excluded_regions ? { excludedRegions: r.excluded_regions } : {}),
    ...(r.max_latency_ms !== null ? { maxLatencyMs: r.max_latency_ms } : {}),
    ...(r.min_trust_score !== null ? { minTrustScore: r.min_trust_score } : {}),
    deadline: r.deadline.getTime(),
    urgency: r.urgency as Urgency,
  };
}

export const requestWeights = (r: RequestRow): Partial<MatchWeights> | undefined => (r.weights as Partial<MatchWeights> | null) ?? undefined;

function toOfferRecord(o: OfferRow): OfferRecord {
  return {
    seq: o.seq,
    by: o.by_role as Role,
    terms: {
      pricePerUnit: o.price_per_unit,
      quantity: o.quantity,
      sla: { availability: o.sla_availability, maxLatencyMs: o.sla_max_latency_ms },
      settlementType: o.settlement_type as SettlementType,
    },
    at: o.created_at.getTime(),
  };
}

export function toNegotiationState(n: NegotiationRow, offers: OfferRow[]): NegotiationState {
  return {
    id: n.id,
    buyerId: n.buyer_id,
    sellerId: n.seller_id,
    status: n.status as NegotiationStatus,
    startAt: n.started_at.getTime(),
    deadline: n.deadline.getTime(),
    maxRounds: n.max_rounds,
    offers: offers.map(toOfferRecord),
    acceptedSeq: n.accepted_seq,
    endedBy: (n.ended_by as Role | null) ?? null,
    endedAt: n.ended_at ? n.ended_at.getTime() : null,
  };
}

export async function loadOffers(db: Executor, negotiationId: string): Promise<OfferRow[]> {
  return db.selectFrom('negotiation_offers').selectAll().where('negotiation_id', '=', negotiationId).orderBy('seq').execute();
}
