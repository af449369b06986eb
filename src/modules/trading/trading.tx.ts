/** The transaction wrapper shared by the trading services: events go to the stream outbox in the same transaction. */
import type { Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { Tx } from '../ledger/ledger.service.js';
import type { TradingEvent, TradingEventBus } from './trading.stream.js';

export type Events = TradingEvent[];

/**
 * Runs `fn` in one transaction; the events it collected are appended to the outbox in that transaction
 * (collected afresh when PostgreSQL retries it) and the local poller is poked after commit.
 */
export async function inTransaction<T>(database: Database, bus: TradingEventBus, fn: (tx: Tx, events: Events) => Promise<T>): Promise<T> {
  const out = await database.transaction(async (tx) => {
    const events: Events = [];
    const r = await fn(tx, events);
    await bus.append(tx, events);
    return r;
  });
  bus.poke();
  return out;
}

export function pushEvent(events: Events, clock: Clock, type: string, agentIds: string[], data: Record<string, unknown>): void {
  events.push({ type, agentIds, data, at: clock.now().toISOString() });
}
