/**
 * The surge/discount signal of a cell, pure: one place for its thresholds. From the newest supply/demand
 * snapshot: ratio = listed units available / units wanted by open requests.
 *
 *   surge     ratio < SURGE_BELOW (demand outruns supply)
 *   discount  ratio > DISCOUNT_ABOVE (more than twice the units wanted are on offer)
 *   none      in between, or no open demand (no ratio: an idle cell is not a discount), or no snapshot
 *
 * Price advice moves the index by SIGNAL_STEP in the signal's direction.
 */
export const SURGE_BELOW = 1;
export const DISCOUNT_ABOVE = 2;
/** Price advice: index x (1 + SIGNAL_STEP) on surge, x (1 - SIGNAL_STEP) on discount. */
export const SIGNAL_STEP_PERCENT = 5n;

export type Signal = 'surge' | 'discount' | 'none';

export interface MarketSignal {
  signal: Signal;
  ratio: number | null;
  reason: string;
}

export function marketSignal(g: { supplyUnits: number; demandUnits: number } | null): MarketSignal {
  if (!g) return { signal: 'none', ratio: null, reason: 'no supply/demand snapshot' };
  if (g.demandUnits <= 0) return { signal: 'none', ratio: null, reason: `no open demand (${g.supplyUnits} units listed)` };
  const ratio = g.supplyUnits / g.demandUnits;
  const fig = `${g.supplyUnits} units listed for ${g.demandUnits} wanted (supply/demand ${ratio.toFixed(2)})`;
  if (ratio < SURGE_BELOW) return { signal: 'surge', ratio, reason: `demand outruns supply: ${fig}, below ${SURGE_BELOW}` };
  if (ratio > DISCOUNT_ABOVE) return { signal: 'discount', ratio, reason: `supply outruns demand: ${fig}, above ${DISCOUNT_ABOVE}` };
  return { signal: 'none', ratio, reason: `supply and demand balanced: ${fig}, within ${SURGE_BELOW}-${DISCOUNT_ABOVE}` };
}

/**
 * Current price tier of a seller: the mean of its active listings' price / their cell's price index (over
 * the listings whose cell has an index), budget below BUDGET_BELOW, premium above PREMIUM_ABOVE.
 */
export const BUDGET_BELOW = 0.85;
export const PREMIUM_ABOVE = 1.15;
export type PriceTier = 'budget' | 'standard' | 'premium';

export function priceTierOf(ratios: readonly number[], without: number): { tier: PriceTier | null; ratio: number | null; reason: string } {
  if (ratios.length === 0) {
    return { tier: null, ratio: null, reason: without ? `none of its ${without} active listings is in a cell with enough recent trades for a price index` : 'no active listings' };
  }
  const ratio = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const tier: PriceTier = ratio < BUDGET_BELOW ? 'budget' : ratio > PREMIUM_ABOVE ? 'premium' : 'standard';
  const rule = tier === 'budget' ? `below ${BUDGET_BELOW}` : tier === 'premium' ? `above ${PREMIUM_ABOVE}` : `within ${BUDGET_BELOW}-${PREMIUM_ABOVE}`;
  const left = without ? `; ${without} more without an index` : '';
  return { tier, ratio, reason: `listing prices at ${ratio.toFixed(2)}x their cells' price index on average (${ratios.length} listing${ratios.length > 1 ? 's' : ''}${left}): ${rule}` };
}

/**
 * Stabilisation band (the plan's market stabilisation mechanism): in a volatile cell (EWMA volatility of
 * daily VWAPs at least VOLATILE_ABOVE per day), an order priced outside index x (1 -/+ w) needs explicit
 * confirmation, with w = min(BAND_MAX, BAND_SIGMAS x volatility): three daily standard deviations, so
 * an ordinary day's move stays inside and only a price that would be a 3-sigma jump is questioned. Calm
 * cells and cells without an index have no band.
 */
export const VOLATILE_ABOVE = 0.05;
export const BAND_SIGMAS = 3;
export const BAND_MAX = 0.5;

export interface Band { index: bigint; volatility: number; halfWidth: number; low: bigint; high: bigint }

export function stabilisationBand(index: bigint | null, volatility: number | null): Band | null {
  if (index === null || volatility === null || volatility < VOLATILE_ABOVE) return null;
  const halfWidth = Math.min(BAND_MAX, BAND_SIGMAS * volatility);
  const ppm = BigInt(Math.round(halfWidth * 1_000_000));
  return { index, volatility, halfWidth, low: (index * (1_000_000n - ppm)) / 1_000_000n, high: (index * (1_000_000n + ppm) + 999_999n) / 1_000_000n };
}
