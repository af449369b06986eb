/**
 * The fill rate of similar sellers at each price level, pure (price advice). Similar sellers: the other
 * listings of the same cell (category x spec class x region) live in the advice window. Levels by the
 * listing price against the cell's price index: below (< -10%), at (within +-10%), above (> +10%), the
 * insights' bands. Fill rate of a level: the share of its listings that got at least one agreement in the
 * window (real agreements). Expected revenue of a level, relative to selling at the index: fill rate x the
 * level's mean price / index. The best level is the one with the highest expected revenue among the levels
 * with at least MIN_LISTINGS listings; advice moves to it only when it beats the at-index level.
 */
export const LEVEL_BAND = 0.1;
export const MIN_LISTINGS = 3;
/** A level's sales are shown only when its listings belong to at least this many sellers (no one competitor's sales are revealed). */
export const MIN_SELLERS = 3;

export type LevelName = 'below' | 'at' | 'above';

export interface PricedListing { pricePerUnit: bigint; agreements: number; sellerId: string }

export interface FillLevel {
  level: LevelName;
  listings: number;
  sellers: number;
  /** null (and fillRate null) when the level has fewer than MIN_SELLERS sellers */
  withAgreement: number | null;
  fillRate: number | null;
  /** mean price / index of the level's listings */
  meanPriceRatio: number | null;
  /** fill rate x meanPriceRatio (revenue per listing against one sold at the index); null below MIN_LISTINGS */
  expectedRevenue: number | null;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

export function levelOf(price: bigint, index: bigint): LevelName {
  const d = Number(price - index) / Number(index);
  return d < -LEVEL_BAND ? 'below' : d > LEVEL_BAND ? 'above' : 'at';
}

export function fillLevels(listings: readonly PricedListing[], index: bigint): FillLevel[] {
  return (['below', 'at', 'above'] as const).map((level) => {
    const ls = listings.filter((l) => levelOf(l.pricePerUnit, index) === level);
    const sellers = new Set(ls.map((l) => l.sellerId)).size;
    const shown = sellers >= MIN_SELLERS;
    const sold = ls.filter((l) => l.agreements > 0).length;
    const fillRate = ls.length && shown ? sold / ls.length : null;
    const meanPriceRatio = ls.length ? ls.reduce((s, l) => s + Number(l.pricePerUnit) / Number(index), 0) / ls.length : null;
    return {
      level, listings: ls.length, sellers, withAgreement: shown ? sold : null,
      fillRate: fillRate === null ? null : round(fillRate), meanPriceRatio: meanPriceRatio === null ? null : round(meanPriceRatio),
      expectedRevenue: ls.length >= MIN_LISTINGS && fillRate !== null && meanPriceRatio !== null ? round(fillRate * meanPriceRatio) : null,
    };
  });
}

/** The level to price at: the best expected revenue, if it beats the at-index level's (else null: stay at the index). */
export function bestLevel(levels: readonly FillLevel[]): FillLevel | null {
  const at = levels.find((l) => l.level === 'at');
  const ranked = levels.filter((l) => l.expectedRevenue !== null).sort((a, b) => b.expectedRevenue! - a.expectedRevenue!);
  const best = ranked[0];
  if (!best || best.level === 'at') return null;
  if (at && at.expectedRevenue !== null && at.expectedRevenue >= best.expectedRevenue!) return null;
  return best;
}
