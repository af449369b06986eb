/**
 * The trading state machines, in one place. Pure: services ask `next*` whether a move is legal and throw
 * 409 invalid_transition when it is not (`transitionError` in market.service.ts, `nextAgreement` in agreements.service.ts).
 *
 * Trade request (it says what happened to the trade, not only that terms were agreed):
 *   open -> agreed (an agreement was made on it) | cancelled (buyer) | expired (deadline)
 *   agreed -> fulfilled (that agreement settled: paid in full, or a dispute resolved with release or split)
 *   agreed -> open (that agreement ended without a trade: not funded, refunded, or a dispute refunded);
 *     then open -> expired at once when the request's deadline has passed
 *   An agreed request cannot be cancelled or expire: its agreement decides (cancel it through the agreement).
 *
 * Negotiation (alternating offers, see negotiation.ts for turn / round / deadline rules):
 *   open -> open (offer / counter-offer)
 *   open -> agreed (the party that did not make the last offer accepts it)
 *   open -> rejected (the responding party rejects the last offer) | withdrawn (either party leaves)
 *   open -> expired (deadline passed, or the last round was neither accepted nor rejected in time)
 *
 * Agreement:
 *   pending_funding -> funded (buyer funds the escrow) | settled (immediate settlement: fund + release)
 *   pending_funding -> cancelled (funding deadline passed)
 *   funded -> delivered (seller reports delivery) | refunded (delivery deadline passed) | disputed
 *   funded | delivered -> refunded (the seller refunded through the escrow) | settled (the buyer released it there)
 *   funded | delivered -> funded | delivered (milestone: partial release)
 *   delivered -> settled (buyer confirms, or the review window passes) | disputed
 *   disputed -> resolved (operator: release, refund or split)
 */

export const REQUEST_STATES = ['open', 'agreed', 'fulfilled', 'cancelled', 'expired'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];
export type RequestAction = 'agree' | 'fulfil' | 'reopen' | 'cancel' | 'expire';
export const REQUEST_ACTIONS: readonly RequestAction[] = ['agree', 'fulfil', 'reopen', 'cancel', 'expire'];

export const NEGOTIATION_STATES = ['open', 'agreed', 'rejected', 'withdrawn', 'expired'] as const;
export type NegotiationStatus = (typeof NEGOTIATION_STATES)[number];
export type NegotiationAction = 'offer' | 'accept' | 'reject' | 'withdraw' | 'expire';

export const AGREEMENT_STATES = ['pending_funding', 'funded', 'delivered', 'disputed', 'settled', 'refunded', 'resolved', 'cancelled'] as const;
export type AgreementState = (typeof AGREEMENT_STATES)[number];
export type AgreementAction =
  | 'fund' | 'fund_immediate' | 'cancel' | 'deliver' | 'release_part' | 'confirm' | 'auto_release' | 'expire' | 'refund' | 'dispute' | 'resolve';

const REQUEST: Record<RequestAction, Partial<Record<RequestState, RequestState>>> = {
  agree: { open: 'agreed' },
  fulfil: { agreed: 'fulfilled' },
  reopen: { agreed: 'open' },
  cancel: { open: 'cancelled' },
  expire: { open: 'expired' },
};

const NEGOTIATION: Record<NegotiationAction, Partial<Record<NegotiationStatus, NegotiationStatus>>> = {
  offer: { open: 'open' },
  accept: { open: 'agreed' },
  reject: { open: 'rejected' },
  withdraw: { open: 'withdrawn' },
  expire: { open: 'expired' },
};

const AGREEMENT: Record<AgreementAction, Partial<Record<AgreementState, AgreementState>>> = {
  fund: { pending_funding: 'funded' },
  fund_immediate: { pending_funding: 'settled' },
  cancel: { pending_funding: 'cancelled' },
  deliver: { funded: 'delivered' },
  release_part: { funded: 'funded', delivered: 'delivered' },
  confirm: { delivered: 'settled', funded: 'settled' },
  auto_release: { delivered: 'settled' },
  expire: { funded: 'refunded' },
  refund: { funded: 'refunded', delivered: 'refunded' },
  dispute: { funded: 'disputed', delivered: 'disputed' },
  resolve: { disputed: 'resolved' },
};

export const TERMINAL_REQUEST: ReadonlySet<RequestState> = new Set(['fulfilled', 'cancelled', 'expired']);
export const TERMINAL_AGREEMENT: ReadonlySet<AgreementState> = new Set(['settled', 'refunded', 'resolved', 'cancelled']);
export const TERMINAL_NEGOTIATION: ReadonlySet<NegotiationStatus> = new Set(['agreed', 'rejected', 'withdrawn', 'expired']);

export function nextRequestState(from: RequestState, action: RequestAction): RequestState | undefined {
  return REQUEST[action][from];
}
export function nextNegotiationStatus(from: NegotiationStatus, action: NegotiationAction): NegotiationStatus | undefined {
  return NEGOTIATION[action][from];
}
export function nextAgreementState(from: AgreementState, action: AgreementAction): AgreementState | undefined {
  return AGREEMENT[action][from];
}
