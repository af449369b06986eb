/**
 * Money: integer base units (bigint) inside, decimal strings at the API edge. 1 AITBC = 10^8 units.
 * Never a float.
 */
export const UNITS_PER_AITBC = 100_000_000n;
export const DECIMALS = 8;
/** A non-negative amount below 10^10 AITBC with at most 8 decimals, no sign, no exponent (fits int8 base units). */
export const AMOUNT_PATTERN = '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,8})?$';
const AMOUNT_RE = new RegExp(AMOUNT_PATTERN);

export function isAmount(s: string): boolean {
  return AMOUNT_RE.test(s);
}

/** "12.5" -> 1250000000n. Throws RangeError on anything that is not a valid amount string. */
export function parseAmount(s: string): bigint {
  if (!AMOUNT_RE.test(s)) throw new RangeError(`not an AITBC amount: "${s}"`);
  const [whole, frac = ''] = s.split('.');
  return BigInt(whole!) * UNITS_PER_AITBC + BigInt(frac.padEnd(DECIMALS, '0'));
}

/** 1250000000n -> "12.5"; negative amounts keep their sign. */
export function formatAmount(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / UNITS_PER_AITBC;
  const frac = (abs % UNITS_PER_AITBC).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}
