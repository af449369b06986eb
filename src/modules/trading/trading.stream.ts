/**
 * The trading module's side of the platform event outbox (src/platform/events/outbox.ts): the outbox's
 * operations, plus hooks for committed listing changes (the market index re-reads on its next match).
 */
import type { Executor } from '../../database.js';
import type { EventOutbox, OutboxEvent } from '../../platform/events/outbox.js';

export type TradingEvent = OutboxEvent;
export { outboxValues as eventValues } from '../../platform/events/outbox.js';

export class TradingEventBus {
  private readonly listingHooks: Array<() => void> = [];

  constructor(readonly outbox: EventOutbox) {}

  /** Registers a callback for committed listing changes. */
  onListingsChanged(fn: () => void): void {
    this.listingHooks.push(fn);
  }

  /** This process committed a change to listings (called after commit). */
  listingsChanged(): void {
    for (const fn of this.listingHooks) fn();
  }

  /** Appends events inside the caller's transaction (or as their own statement). */
  append(db: Executor, events: readonly TradingEvent[]): Promise<void> {
    return this.outbox.append(db, events);
  }

  /** Appends events outside a transaction and delivers them. */
  emit(events: readonly TradingEvent[]): Promise<void> {
    return this.outbox.emit(events);
  }

  /** Something committed: deliver it now. */
  poke(): void {
    this.outbox.poke();
  }

  get subscribers(): number {
    return this.outbox.subscribers;
  }
}
