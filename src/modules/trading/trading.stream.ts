/**
 * The live event bus behind GET /v1/stream, as a transactional outbox: services append events to the
 * `trading_events` table inside the transaction that made them, so an event exists exactly when its
 * change committed, and every API process sees every event. Each process runs one poller (only while it
 * has stream subscribers) that reads new rows and fans them out to its local subscribers; a commit in this
 * process pokes the poller at once, other processes' events arrive within POLL_MS.
 * Sequence numbers are assigned before commit, so a transaction may commit after a later number is
 * visible: the poller re-reads a window of LOOKBACK numbers below the newest it has seen and skips those
 * already delivered. Rows older than RETENTION_MS are deleted by a job, which looks only at the rows that
 * aged out since its last run (see `prune`).
 */
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { Executor } from './trading.repository.js';

export interface TradingEvent {
  /** e.g. trade_request.created, negotiation.offer, agreement.funded */
  type: string;
  /** Agents the event concerns; the operator sees every event. */
  agentIds: readonly string[];
  data: Record<string, unknown>;
  at: string;
}

export interface DeliveredEvent extends TradingEvent {
  seq: number;
}

export type Subscriber = (e: DeliveredEvent) => void;

/** Outbox rows of events: for statements that append them themselves (a CTE beside the change they record). */
export function eventValues(events: readonly TradingEvent[]) {
  return events.map((e) => ({ type: e.type, agent_ids: [...e.agentIds], data: JSON.stringify(e.data), at: new Date(e.at) }));
}

const POLL_MS = 200;
const LOOKBACK = 1000;
export const EVENT_RETENTION_MS = 3600_000;
/** The prune looks again this far below its last cutoff, for transactions that committed late. */
const PRUNE_MARGIN_MS = 60_000;
/** And at least this often (clock time) below any cutoff, for whatever committed later still. */
const PRUNE_SWEEP_MS = 24 * 3600_000;

export class TradingEventBus {
  private readonly subs = new Set<{ agentId: string | null; fn: Subscriber }>();
  /** Newest event when the first subscriber came: older events are never delivered. */
  private startSeq = 0;
  private lastSeq = 0;
  private readonly delivered = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** The cutoff of the last prune, and when the last prune over the whole table ran (clock time). */
  private prunedBefore: number | null = null;
  private sweptAt = -Infinity;

  private readonly listingHooks: Array<() => void> = [];

  constructor(private readonly database: Database, private readonly clock: Clock) {}

  /** Registers a callback for committed listing changes (the market index re-reads on its next match). */
  onListingsChanged(fn: () => void): void {
    this.listingHooks.push(fn);
  }

  /** This process committed a change to listings (called after commit). */
  listingsChanged(): void {
    for (const fn of this.listingHooks) fn();
  }

  /** Appends events inside the caller's transaction (or as their own statement). */
  async append(db: Executor, events: readonly TradingEvent[]): Promise<void> {
    if (!events.length) return;
    await db.insertInto('trading_events').values(eventValues(events)).execute();
  }

  /** Appends events outside a transaction and delivers them. */
  async emit(events: readonly TradingEvent[]): Promise<void> {
    await this.append(this.database.db, events);
    this.poke();
  }

  /** Something committed: poll now (when anyone listens). */
  poke(): void {
    if (this.subs.size > 0) void this.poll();
  }

  /**
   * Subscribes an agent (or the operator, agentId null, who sees everything) to events committed from now
   * on. Resolves once the subscription is live. Returns the unsubscribe function.
   */
  async subscribe(agentId: string | null, fn: Subscriber): Promise<() => void> {
    if (this.subs.size === 0) {
      // nobody listened until now: start from the newest event (what happened before is history)
      const r = await this.database.db.selectFrom('trading_events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
      if (this.subs.size === 0) {
        this.startSeq = r?.m === null || r?.m === undefined ? 0 : Number(r.m);
        this.lastSeq = this.startSeq;
        this.delivered.clear();
      }
    }
    const s = { agentId, fn };
    this.subs.add(s);
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.poll(), POLL_MS);
      this.timer.unref();
    }
    return () => {
      this.subs.delete(s);
      if (this.subs.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  get subscribers(): number {
    return this.subs.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subs.clear();
  }

  private poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.again = false;
        try {
          await this.pollOnce();
        } catch {
          /* the database may be closing; the next tick retries */
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.closed || this.subs.size === 0) return;
    // re-read a window below the newest seen: a transaction may commit after a later number is visible
    const from = Math.max(this.startSeq, this.lastSeq - LOOKBACK);
    const rows = await this.database.db.selectFrom('trading_events').selectAll().where('seq', '>', BigInt(from)).orderBy('seq').limit(5000).execute();
    for (const r of rows) {
      const seq = Number(r.seq);
      if (this.delivered.has(seq)) continue;
      this.delivered.add(seq);
      if (seq > this.lastSeq) this.lastSeq = seq;
      const e: DeliveredEvent = { seq, type: r.type, agentIds: r.agent_ids, data: (r.data ?? {}) as Record<string, unknown>, at: r.at.toISOString() };
      for (const s of this.subs) {
        if (s.agentId === null || e.agentIds.includes(s.agentId)) {
          try {
            s.fn(e);
          } catch {
            /* a broken subscriber must not break the others */
          }
        }
      }
    }
    if (this.delivered.size > 2 * LOOKBACK) {
      const floor = this.lastSeq - LOOKBACK;
      for (const d of this.delivered) if (d <= floor) this.delivered.delete(d);
    }
  }

  /**
   * Deletes events past the retention window. Rows below the last run's cutoff are gone already, so a run
   * deletes only the range from that cutoff (less PRUNE_MARGIN_MS) to the new one: an index range on
   * trading_events (at) that skips the deleted rows below it, which stay in the table and its index until
   * a vacuum (never, on PGlite). The first run of a process, and one a day, delete everything older.
   */
  async prune(): Promise<number> {
    const now = this.clock.now().getTime();
    const before = new Date(now - EVENT_RETENTION_MS);
    const sweep = this.prunedBefore === null || now - this.sweptAt >= PRUNE_SWEEP_MS;
    const r = sweep || this.prunedBefore === null
      ? await sql`DELETE FROM trading_events WHERE at < ${before}`.execute(this.database.db)
      : await sql`DELETE FROM trading_events WHERE at >= ${new Date(this.prunedBefore - PRUNE_MARGIN_MS)} AND at < ${before}`.execute(this.database.db);
    if (sweep) this.sweptAt = now;
    this.prunedBefore = Math.max(this.prunedBefore ?? -Infinity, before.getTime());
    return Number(r.numAffectedRows ?? 0n);
  }
}
