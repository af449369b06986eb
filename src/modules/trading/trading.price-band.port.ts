/**
 * The hook through which trading asks whether an order's price needs explicit confirmation (the market's
 * stabilisation band, implemented by analytics and passed in by app.ts). Trading calls it for a manual
 * offer (opening or counter) and an accept, with the listing's cell; the guard throws a 409 problem
 * (code outside_price_band) when the price is outside the band and the caller did not confirm.
 */
import type { Executor } from '../../database.js';

export interface PriceBandCheck {
  category: string;
  region: string;
  /** The listing's GPU model, else its model name, else '*' (as the market data port names cells). */
  specClass: string;
  pricePerUnit: bigint;
  confirmed: boolean;
  action: 'offer' | 'accept';
}

export interface PriceBandGuard {
  /** Reads through `db`, the caller's transaction (a second connection could wait on it, e.g. PGlite's one). */
  check(c: PriceBandCheck, db: Executor): Promise<void>;
}

/** The spec class of a listing's spec (same rule as trading.market-data.port.ts). */
export function specClassOf(spec: unknown): string {
  const s = (spec ?? {}) as { gpuModel?: unknown; modelName?: unknown };
  if (typeof s.gpuModel === 'string' && s.gpuModel !== '') return s.gpuModel;
  if (typeof s.modelName === 'string' && s.modelName !== '') return s.modelName;
  return '*';
}
