/** How the trading services write: a transaction whose events go to the stream outbox inside it. */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { Tx } from '../ledger/ledger.port.js';
import type { TradingEvent, TradingEventBus } from './trading.stream.js';

/** Events of one transaction; `listingsChanged` tells the market index to re-read listings after commit. */
export type Events = TradingEvent[] & { listingsChanged?: boolean; flushed?: number };

/**
 * The events not yet written, marked written: for a statement that appends them itself (a CTE beside its
 * change). What remains when the transaction ends is appended by `TradingWrites.transaction`.
 */
export function takePending(events: Events): TradingEvent[] {
  const pending = events.slice(events.flushed ?? 0);
  events.flushed = events.length;
  return pending;
}

/** Shared by the negotiation and agreement services (one instance per trading module). */
export class TradingWrites {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly bus: TradingEventBus,
  ) {}

  /**
   * Runs `fn` in one transaction; the events it collected are appended to the outbox in that transaction
   * (collected afresh when PostgreSQL retries it) and the local poller is poked after commit.
   */
  async transaction<T>(fn: (tx: Tx, events: Events) => Promise<T>): Promise<T> {
    let last: Events | undefined;
    const out = await this.database.transaction(async (tx) => {
      const events: Events = [];
      last = events;
      const r = await fn(tx, events);
      await this.bus.append(tx, takePending(events));
      return r;
    });
    if (last?.listingsChanged) this.bus.listingsChanged();
    this.bus.poke();
    return out;
  }

  /** Adds an event to the transaction's events, stamped now. */
  event(events: Events, type: string, agentIds: string[], data: Record<string, unknown>): void {
    events.push({ type, agentIds, data, at: this.clock.now().toISOString() });
  }
}
