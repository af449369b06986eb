import { describe, expect, it } from 'vitest';
import { binomialTwoSided, binomialUpperTail, normalCdf, poissonRateTest, tTwoSided, twoProportionTest, welchTest } from './stats.js';

describe('significance tests against reference values (scipy.stats)', () => {
  it('binomial: binom.test(7, 10)$p.value = 0.34375; P(X >= 8 | 10, 0.5) = 56/1024', () => {
    expect(binomialTwoSided(7, 10, 0.5)).toBeCloseTo(0.34375, 8);
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 10);
  });
  it('Poisson rates: 30 against 10 over equal exposure is binomtest(30, 40) = 0.0022214', () => {
    expect(poissonRateTest(30, 1, 10, 1)).toBeCloseTo(0.0022214, 6);
    expect(poissonRateTest(0, 1, 0, 1)).toBeNull();
  });
  it('normal CDF and t: pnorm(1.96) = 0.9750021; 2*pt(-2.228, 10) = 0.05', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(tTwoSided(2.228139, 10)).toBeCloseTo(0.05, 5);
  });
  it('two proportions: prop.test(c(45, 30), c(50, 50), correct=FALSE) z = 3.4641, p = 0.000532', () => {
    const r = twoProportionTest(45, 50, 30, 50)!;
    expect(r.z).toBeCloseTo(3.4641, 3);
    expect(r.pValue).toBeCloseTo(0.000532, 5);
    expect(twoProportionTest(1, 3, 0, 2)).toBeNull();
  });
  it('Welch: ttest_ind([1,2,3,4], [2,4,6,8,10], equal_var=False) t = -2.25144, df = 5.52079, p = 0.069134', () => {
    const r = welchTest([1, 2, 3, 4], [2, 4, 6, 8, 10])!;
    expect(r.t).toBeCloseTo(-2.25144, 4);
    expect(r.df).toBeCloseTo(5.52079, 4);
    expect(r.pValue).toBeCloseTo(0.069134, 5);
    expect(welchTest([1], [2, 3])).toBeNull();
  });
});
