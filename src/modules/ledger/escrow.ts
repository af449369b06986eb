/**
 * The escrow state machine, in one place. Pure: the service asks it whether a move is legal.
 *
 *   held -> delivered -> released           (buyer confirms, or automatically after the review window)
 *   held -> released                        (buyer releases early)
 *   held -> refunded | expired              (seller refunds; delivery deadline passes)
 *   held|delivered -> disputed              (timers paused)
 *   disputed -> resolved_release | resolved_refund | resolved_split   (operator)
 * Milestones: `release` of part of the remaining amount keeps the state.
 */
export const ESCROW_STATES = [
  'held', 'delivered', 'released', 'refunded', 'expired', 'disputed', 'resolved_release', 'resolved_refund', 'resolved_split',
] as const;
export type EscrowState = (typeof ESCROW_STATES)[number];

export type EscrowAction = 'deliver' | 'release' | 'refund' | 'expire' | 'auto_release' | 'dispute' | 'resolve_release' | 'resolve_refund' | 'resolve_split';

const TABLE: Record<EscrowAction, Partial<Record<EscrowState, EscrowState>>> = {
  deliver: { held: 'delivered' },
  release: { held: 'released', delivered: 'released' },
  refund: { held: 'refunded', delivered: 'refunded' },
  expire: { held: 'expired' },
  auto_release: { delivered: 'released' },
  dispute: { held: 'disputed', delivered: 'disputed' },
  resolve_release: { disputed: 'resolved_release' },
  resolve_refund: { disputed: 'resolved_refund' },
  resolve_split: { disputed: 'resolved_split' },
};

export const TERMINAL: ReadonlySet<EscrowState> = new Set(['released', 'refunded', 'expired', 'resolved_release', 'resolved_refund', 'resolved_split']);

/** The state after `action`, or undefined when the move is illegal from `from`. */
export function nextEscrowState(from: EscrowState, action: EscrowAction): EscrowState | undefined {
  return TABLE[action][from];
}

/** Platform fee on a gross release, rounded down to a base unit. */
export function feeOf(gross: bigint, feeBps: number): bigint {
  return (gross * BigInt(feeBps)) / 10_000n;
}
