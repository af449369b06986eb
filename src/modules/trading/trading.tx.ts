/** The transaction wrapper shared by the trading services: events go to the stream outbox in the same transaction. */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { Tx } from '../ledger/ledger.service.js';
import type { TradingEvent, TradingEventBus } from './trading.stream.js';

/** Events of one transaction; `listingsChanged` tells the market index to re-read listings after commit. */
export type Events = TradingEvent[] & { listingsChanged?: boolean; flushed?: number };

/**
 * The events not yet written, marked written: for a statement that appends them itself (a CTE beside its
 * change). What remains when the transaction ends is appended by `inTransaction`.
 */
export function takePending(events: Events): TradingEvent[] {
  const pending = events.slice(events.flushed ?? 0);
  events.flushed = events.length;
  return pending;
}

/**
 * Runs `fn` in one transaction; the events it collected are appended to the outbox in that transaction
 * (collected afresh when PostgreSQL retries it) and the local poller is poked after commit.
 */
export async function inTransaction<T>(database: Database, bus: TradingEventBus, fn: (tx: Tx, events: Events) => Promise<T>): Promise<T> {
  let last: Events | undefined;
  const out = await database.transaction(async (tx) => {
    const events: Events = [];
    last = events;
    const r = await fn(tx, events);
    await bus.append(tx, takePending(events));
    return r;
  });
  if (last?.listingsChanged) bus.listingsChanged();
  bus.poke();
  return out;
}

export function pushEvent(events: Events, clock: Clock, type: string, agentIds: string[], data: Record<string, unknown>): void {
  events.push({ type, agentIds, data, at: clock.now().toISOString() });
}
