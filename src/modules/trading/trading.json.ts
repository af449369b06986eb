/**
 * The trading resources as the API shows them (amounts as decimal AITBC strings). Used by the routes and by
 * the stream events, so both format amounts the same way.
 */
import { seesPrivateOf, type Principal } from '../../platform/http/auth.js';
import { formatAmount } from '../../platform/money.js';
import type { EscrowView } from '../ledger/ledger.port.js';
import { unavailableUnits, type AgreementRow, type ListingRow, type RequestRow, type StoredDelegation } from './trading.repository.js';
import type { Terms } from './trading.types.js';

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
/** The agent itself or the operator (docs/privacy.md). */
export const isOwner = seesPrivateOf;

export function listingJson(r: ListingRow, viewer: Principal) {
  const d = r.auto_negotiation as StoredDelegation | null;
  return {
    id: r.id, sellerId: r.seller_id, category: r.category, spec: r.spec as Record<string, unknown>, unit: r.unit, pricePerUnit: formatAmount(r.price_per_unit),
    capacity: {
      model: r.capacity_model as 'concurrent' | 'stock', total: r.capacity_total, reserved: r.capacity_reserved, consumed: r.capacity_consumed,
      available: r.capacity_total - unavailableUnits(r),
    }, region: r.region,
    sla: { availability: r.sla_availability, maxLatencyMs: r.sla_max_latency_ms }, validFrom: r.valid_from.toISOString(), validUntil: r.valid_until.toISOString(),
    status: r.status, autoNegotiates: d !== null,
    ...(isOwner(viewer, r.seller_id) ? { negotiation: d ? { ...d, reservationPrice: formatAmount(BigInt(d.reservationPrice)) } : null } : {}),
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

export function requestJson(r: RequestRow, viewer: Principal, notified?: number) {
  const own = isOwner(viewer, r.buyer_id);
  return {
    id: r.id, buyerId: r.buyer_id, category: r.category, spec: r.spec as Record<string, unknown>, quantity: r.quantity,
    ...(own ? { budget: { min: formatAmount(r.budget_min), max: formatAmount(r.budget_max) }, weights: r.weights as Record<string, number> | null } : {}),
    allowedRegions: r.allowed_regions, excludedRegions: r.excluded_regions, maxLatencyMs: r.max_latency_ms, minTrustScore: r.min_trust_score,
    deadline: r.deadline.toISOString(), urgency: r.urgency, explorationShare: r.exploration_share, state: r.state, agreementId: r.agreement_id,
    job: (r.job as { workload: string; seed: string; size: number } | null | undefined) ?? null,
    minCertificationLevel: r.min_certification_level ?? null,
    ...(notified !== undefined ? { notifiedSellers: notified } : {}), createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

export const termsJson = (t: Terms) => ({ pricePerUnit: formatAmount(t.pricePerUnit), quantity: t.quantity, sla: t.sla, settlementType: t.settlementType });

export function agreementJson(a: AgreementRow, extra?: { escrow: EscrowView | null; events: { seq: bigint; from: string | null; to: string; action: string; actor: string; detail: unknown; at: Date }[] }) {
  return {
    id: a.id, negotiationId: a.negotiation_id, requestId: a.request_id, listingId: a.listing_id, buyerId: a.buyer_id, sellerId: a.seller_id,
    terms: termsJson({ pricePerUnit: a.price_per_unit, quantity: a.quantity, sla: { availability: a.sla_availability, maxLatencyMs: a.sla_max_latency_ms }, settlementType: a.settlement_type as Terms['settlementType'] }),
    amount: formatAmount(a.amount), released: formatAmount(a.released), state: a.state, escrowId: a.escrow_id,
    fundingDeadline: a.funding_deadline.toISOString(), deliveryDeadline: a.delivery_deadline.toISOString(), reviewWindowSeconds: Number(a.review_window_ms) / 1000,
    autoReleaseAt: iso(a.auto_release_at), delivery: a.delivery as Record<string, unknown> | null, dispute: a.dispute as Record<string, unknown> | null,
    resolution: a.resolution as Record<string, unknown> | null, proof: a.proof as Record<string, unknown>,
    ...(extra ? {
      escrow: extra.escrow ? { state: extra.escrow.state, released: formatAmount(extra.escrow.released), refunded: formatAmount(extra.escrow.refunded), fees: formatAmount(extra.escrow.fees), remaining: formatAmount(extra.escrow.remaining) } : null,
      events: extra.events.map((e) => ({ seq: e.seq.toString(), from: e.from, to: e.to, action: e.action, actor: e.actor, detail: e.detail, at: e.at.toISOString() })),
    } : {}),
    createdAt: a.created_at.toISOString(), updatedAt: a.updated_at.toISOString(),
  };
}

/** An agreement event's data: the agreement's ids, state and amounts as the REST resource shows them. */
export function agreementEventData(a: AgreementRow) {
  const j = agreementJson(a);
  return {
    agreementId: j.id, negotiationId: j.negotiationId, requestId: j.requestId, listingId: j.listingId, buyerId: j.buyerId, sellerId: j.sellerId,
    state: j.state, terms: j.terms, amount: j.amount, released: j.released, escrowId: j.escrowId,
  };
}
