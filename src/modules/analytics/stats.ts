/**
 * Significance tests for the market insights (pure functions, no dependencies): the exact conditional test
 * of two Poisson counts, the two-proportion z-test, Welch's t-test, and the binomial upper tail. Each
 * returns null where it cannot be computed, and the caller says why.
 */

/** log Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function logBinomPmf(k: number, n: number, p: number): number {
  if (p <= 0) return k === 0 ? 0 : -Infinity;
  if (p >= 1) return k === n ? 0 : -Infinity;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p);
}

/** Two-sided exact binomial p-value: the probability of outcomes no more likely than k (n trials, p). */
export function binomialTwoSided(k: number, n: number, p: number): number {
  const observed = logBinomPmf(k, n, p);
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const l = logBinomPmf(i, n, p);
    if (l <= observed + 1e-7) sum += Math.exp(l);
  }
  return Math.min(1, sum);
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  let sum = 0;
  for (let i = k; i <= n; i++) sum += Math.exp(logBinomPmf(i, n, p));
  return Math.min(1, sum);
}

/**
 * Two Poisson counts over exposures t1 and t2 (e.g. trades in two periods of t1 and t2 days): given
 * n = n1 + n2, n1 ~ Binomial(n, t1 / (t1 + t2)) under equal rates. Exact two-sided p-value; null for n = 0.
 */
export function poissonRateTest(n1: number, t1: number, n2: number, t2: number): number | null {
  const n = n1 + n2;
  if (n === 0) return null;
  return binomialTwoSided(n1, n, t1 / (t1 + t2));
}

/** Standard normal CDF (erfc by the Numerical Recipes Chebyshev fit, |error| < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * Two-proportion z-test (pooled) of x1/n1 against x2/n2, two-sided. null when either n is 0 or fewer
 * than 5 successes or failures are expected in a cell (the normal approximation does not hold).
 */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): { z: number; pValue: number } | null {
  if (n1 === 0 || n2 === 0) return null;
  const p = (x1 + x2) / (n1 + n2);
  if (Math.min(n1 * p, n1 * (1 - p), n2 * p, n2 * (1 - p)) < 5) return null;
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

/** Regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes betacf). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  let c = 1; let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < 1e-30) d = 1e-30;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < 1e-30) d = 1e-30; c = 1 + aa / c; if (Math.abs(c) < 1e-30) c = 1e-30; d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < 1e-30) d = 1e-30; c = 1 + aa / c; if (Math.abs(c) < 1e-30) c = 1e-30; d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-14) break;
  }
  return (front * h) / a;
}

/** Two-sided p-value of Student's t with df degrees of freedom. */
export function tTwoSided(t: number, df: number): number {
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * Welch's t-test of the means of two samples, two-sided. null with fewer than 2 values in either sample
 * or when both have zero variance.
 */
export function welchTest(a: readonly number[], b: readonly number[]): { t: number; df: number; pValue: number } | null {
  if (a.length < 2 || b.length < 2) return null;
  const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const variance = (x: readonly number[], m: number) => x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1);
  const ma = mean(a); const mb = mean(b);
  const va = variance(a, ma) / a.length; const vb = variance(b, mb) / b.length;
  if (va + vb === 0) return null;
  const t = (ma - mb) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { t, df, pValue: tTwoSided(t, df) };
}
