/**
 * Delegated negotiation: the concession strategy a stored delegation stands for, and the checks a
 * delegation passes before the service negotiates with it (listings' `negotiation`, buyers' `delegate`).
 */
import { AppError } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import {
  PRESETS, PRESET_NAMES, makeStrategy, strategyFromPreset, type ConcessionKind, type ConcessionStrategy, type PresetName, type Role,
} from './negotiation.js';
import type { StoredDelegation } from './trading.repository.js';

const KIND_BETA: Record<ConcessionKind, number> = { boulware: PRESETS.aggressive.beta, linear: 1, conceder: PRESETS.cooperative.beta };

/** The concession strategy of a stored delegation (presets or explicit kinds; `beta` overrides). */
export function strategyOf(role: Role, d: StoredDelegation, defaultTarget: bigint): ConcessionStrategy {
  const reservation = BigInt(d.reservationPrice);
  const target = d.targetPrice !== undefined ? BigInt(d.targetPrice) : defaultTarget;
  if ((PRESET_NAMES as readonly string[]).includes(d.strategy) && d.beta === undefined) {
    return strategyFromPreset(role, d.strategy as PresetName, { target, reservation });
  }
  const kind: ConcessionKind = (PRESET_NAMES as readonly string[]).includes(d.strategy)
    ? PRESETS[d.strategy as PresetName].kind
    : (d.strategy as ConcessionKind);
  if (!(kind in KIND_BETA)) throw new RangeError(`unknown strategy ${d.strategy}`);
  return makeStrategy(role, kind, d.beta ?? KIND_BETA[kind], { target, reservation });
}

/**
 * A delegation whose prices make no sense for its role, as a field and message (null when they do): a
 * seller opens at its listing price and concedes down to its reservation (reservation <= price), a buyer
 * opens at its target and concedes up to its reservation (target <= reservation).
 */
export function delegationBoundsError(role: Role, d: StoredDelegation, defaultTarget: bigint): { field: string; message: string } | null {
  const reservation = BigInt(d.reservationPrice);
  const target = d.targetPrice !== undefined ? BigInt(d.targetPrice) : defaultTarget;
  if (role === 'seller' && reservation > target) {
    return { field: 'body.negotiation.reservationPrice', message: `must not exceed pricePerUnit ${formatAmount(target)}: the seller's reservation is the lowest price it accepts, the listing price where it opens (got ${formatAmount(reservation)})` };
  }
  if (role === 'buyer' && target > reservation) {
    return { field: 'body.delegate.targetPrice', message: `must not exceed reservationPrice ${formatAmount(reservation)}: the buyer opens at its target and concedes up to its reservation, the highest price it accepts (got ${formatAmount(target)})` };
  }
  return null;
}

/**
 * A delegation must make sense before the service negotiates with it: a seller opens at its listing price
 * and concedes down to its reservation (so reservation <= price), a buyer opens at its target and concedes
 * up to its reservation (so target <= reservation). Otherwise 400 naming the field.
 */
export function checkDelegation(role: Role, d: StoredDelegation, defaultTarget: bigint): void {
  const bad = delegationBoundsError(role, d, defaultTarget);
  if (bad) throw new AppError('validation_failed', `${bad.field} ${bad.message}`, { errors: [bad] });
  try {
    strategyOf(role, d, defaultTarget);
  } catch (e) {
    const field = role === 'seller' ? 'body.negotiation' : 'body.delegate';
    const message = (e as Error).message;
    throw new AppError('validation_failed', `${field} ${message}`, { errors: [{ field, message }] });
  }
}
