/**
 * Price discovery, pure: the price index of a cell (volume-weighted median of its recent trades, with its
 * sample size and a 95% confidence interval), the cross-region spread of a category x spec class, and EWMA
 * volatility of a price series. No database, no clock.
 *
 * Weighted median: trades sorted by unit price, each weighing its quantity; the index is the lowest price
 * at which the cumulative quantity reaches half the total. Confidence interval: the distribution-free
 * interval of a median (order statistics, normal approximation of the binomial), taken on the cumulative
 * weight: the prices at cumulative fractions 0.5 -/+ 1.96 * 0.5 / sqrt(nEff), with nEff = (sum w)^2 /
 * sum w^2 (Kish's effective sample size; equal quantities give nEff = n, the textbook interval).
 */
export interface TradePoint {
  /** Unit price in base units. */
  price: bigint;
  quantity: number;
}

export const MIN_TRADES = 5;
const Z95 = 1.959964;

export type PriceIndex =
  | { status: 'ok'; index: bigint; low: bigint; high: bigint; sampleSize: number; effectiveSampleSize: number; units: number }
  | { status: 'insufficient_data'; sampleSize: number; minimum: number };

/** The price at cumulative weight fraction f (0..1) of trades sorted by price: the first whose cumulative weight reaches f * total. */
function priceAtFraction(sorted: readonly TradePoint[], total: number, f: number): bigint {
  const target = Math.min(Math.max(f, 0), 1) * total;
  let cum = 0;
  for (const t of sorted) {
    cum += t.quantity;
    if (cum >= target && cum > 0) return t.price;
  }
  return sorted[sorted.length - 1]!.price;
}

export function priceIndex(trades: readonly TradePoint[], minTrades = MIN_TRADES): PriceIndex {
  const ts = trades.filter((t) => t.quantity > 0);
  if (ts.length < minTrades) return { status: 'insufficient_data', sampleSize: ts.length, minimum: minTrades };
  const sorted = [...ts].sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : 0));
  let w = 0;
  let w2 = 0;
  for (const t of sorted) { w += t.quantity; w2 += t.quantity * t.quantity; }
  const nEff = (w * w) / w2;
  const half = (Z95 * 0.5) / Math.sqrt(nEff);
  return {
    status: 'ok', index: priceAtFraction(sorted, w, 0.5), low: priceAtFraction(sorted, w, 0.5 - half), high: priceAtFraction(sorted, w, 0.5 + half),
    sampleSize: sorted.length, effectiveSampleSize: nEff, units: w,
  };
}

/**
 * The spread between regions of one category x spec class: (highest index - lowest) / lowest, over the
 * regions whose index has enough trades; null with fewer than two such regions.
 */
export function crossRegionSpread(indices: readonly { region: string; index: bigint }[]): { spread: number; low: { region: string; index: bigint }; high: { region: string; index: bigint } } | null {
  if (indices.length < 2) return null;
  let low = indices[0]!;
  let high = indices[0]!;
  for (const i of indices) {
    if (i.index < low.index) low = i;
    if (i.index > high.index) high = i;
  }
  return { spread: Number(high.index - low.index) / Number(low.index), low, high };
}

export const EWMA_LAMBDA = 0.94;

/**
 * EWMA volatility (RiskMetrics) of a price series, oldest first, one price per interval with trades:
 * log returns r_t = ln(p_t / p_(t-1)); var_1 = r_1^2, var_t = lambda * var_(t-1) + (1 - lambda) * r_t^2.
 * Returns the standard deviation per interval, or null with fewer than two prices.
 */
export function ewmaVolatility(prices: readonly number[], lambda = EWMA_LAMBDA): { volatility: number; returns: number } | null {
  const ps = prices.filter((p) => p > 0);
  if (ps.length < 2) return null;
  let v = 0;
  for (let i = 1; i < ps.length; i++) {
    const r = Math.log(ps[i]! / ps[i - 1]!);
    v = i === 1 ? r * r : lambda * v + (1 - lambda) * r * r;
  }
  return { volatility: Math.sqrt(v), returns: ps.length - 1 };
}
