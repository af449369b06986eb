import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatAmount, isAmount, parseAmount } from './money.js';

describe('money', () => {
  it('parses decimal strings to base units exactly', () => {
    expect(parseAmount('12.5')).toBe(1_250_000_000n);
    expect(parseAmount('0.00000001')).toBe(1n);
    expect(parseAmount('0')).toBe(0n);
    expect(formatAmount(1_250_000_000n)).toBe('12.5');
    expect(formatAmount(-1n)).toBe('-0.00000001');
  });
  it('rejects anything that is not a plain amount', () => {
    for (const s of ['', '-1', '1e5', '01', '1.', '.5', '1.000000001', ' 1', '1,5', 'NaN']) {
      expect(isAmount(s), s).toBe(false);
      expect(() => parseAmount(s)).toThrow(RangeError);
    }
  });
  it('round-trips every non-negative amount', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), (u) => parseAmount(formatAmount(u)) === u));
  });
});
