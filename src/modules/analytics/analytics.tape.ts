/**
 * The public market tape behind GET /v1/market/trades and GET /v1/market/stream: each trade the analytics
 * projection folded, as a print with the cell, unit price, quantity, volume and time only (no agent,
 * agreement or country: docs/privacy.md). The live side polls the fact log (POLL_MS, only while someone
 * listens), so every API process sees the trades every other process folded, and a print reaches a
 * browser within the projection's second plus one poll.
 */
import { formatAmount } from '../../platform/money.js';
import type { Database } from '../../database.js';
import { analyticsQueries as q, type CellFilter } from './analytics.queries.js';

export interface TradePrint {
  id: string;
  at: string;
  category: string;
  specClass: string;
  region: string;
  quantity: number;
  pricePerUnit: string;
  volume: string;
}

type Row = Awaited<ReturnType<typeof q.tape>>[number];
const print = (r: Row): TradePrint => ({
  id: String(r.seq), at: r.at.toISOString(), category: r.category, specClass: r.specClass, region: r.region,
  quantity: r.quantity, pricePerUnit: formatAmount(r.price), volume: formatAmount(r.volume),
});

export const POLL_MS = 250;
const PAGE = 500;

export class MarketTape {
  private readonly subs = new Set<(p: TradePrint) => void>();
  private timer: NodeJS.Timeout | null = null;
  private last: number | null = null;
  private polling = false;

  constructor(private readonly database: Database) {}

  /** The newest trades, newest first. */
  async latest(f: CellFilter & { limit: number }): Promise<TradePrint[]> {
    return (await q.tape(this.database.db, f)).map(print);
  }

  /** Trades after print id `after`, oldest first (a reconnecting client's catch-up). */
  async after(after: number, limit = PAGE): Promise<TradePrint[]> {
    return (await q.tape(this.database.db, { afterSeq: after, limit })).map(print);
  }

  /** Calls `fn` with every trade folded from now on; resolves once live. */
  async subscribe(fn: (p: TradePrint) => void): Promise<() => void> {
    if (this.last === null) this.last = await q.lastFactSeq(this.database.db);
    this.subs.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), POLL_MS);
      this.timer.unref();
    }
    return () => {
      this.subs.delete(fn);
      if (this.subs.size === 0) this.stop();
    };
  }

  get subscribers(): number {
    return this.subs.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = null;
  }

  close(): void {
    this.subs.clear();
    this.stop();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.last === null) return;
    this.polling = true;
    try {
      for (;;) {
        const rows = await q.tape(this.database.db, { afterSeq: this.last, limit: PAGE });
        for (const r of rows) {
          this.last = Math.max(this.last ?? 0, r.seq);
          const p = print(r);
          for (const fn of this.subs) fn(p);
        }
        if (rows.length < PAGE || this.last === null) break;
      }
    } catch {
      // a failed poll is retried on the next tick
    } finally {
      this.polling = false;
    }
  }
}
