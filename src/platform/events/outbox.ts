/**
 * The event outbox behind GET /v1/stream, a platform facility that knows no domain: modules append events
 * to the `outbox_events` table inside the transaction that made their change (often in the same statement,
 * see `outboxValues`), so an event exists exactly when its change committed, and every API process sees
 * every event. Each event names the agents it concerns; the operator sees all.
 *
 * Each process runs one poller (only while it has stream subscribers) that reads new rows and fans them
 * out to its local subscribers; a commit in this process pokes the poller at once, other processes' events
 * arrive within POLL_MS. Sequence numbers are assigned before commit, so a transaction may commit after a
 * later number is visible: the poller re-reads a window of LOOKBACK numbers below the newest it has seen
 * and skips those already delivered (the numbers visible when it starts count as delivered).
 *
 * A listener gets live rows as the poller finds them; what it cannot take at once (a client behind, or
 * one starting after an event id: SSE Last-Event-ID) it reads back from the table with `read`, at its own
 * pace (stream-client.ts holds one client to a bounded buffer that way). Events are kept
 * EVENT_RETENTION_MS; the prune records the newest number it deleted (`outbox_state`), so a subscriber
 * whose id is older learns that it missed events.
 *
 * One row may be a different event to each agent it names (`perAgentType`): a payment is one row,
 * `transfer.sent` to the payer and `transfer.received` to the payee, where one name per row would need two.
 * An agent receives the name at its place in `agent_ids`; the operator receives each name in turn, under
 * the row's one id.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { narrow } from '../db/schema.js';
import type { Clock } from '../clock.js';
import type { OutboxTables } from './outbox.tables.js';

export interface OutboxEvent {
  /** e.g. trade_request.created, escrow.released, rating.received; or one name per agent (`perAgentType`) */
  type: string;
  /** Agents the event concerns; the operator sees every event. */
  agentIds: readonly string[];
  data: Record<string, unknown>;
  at: string;
}

export interface DeliveredEvent extends OutboxEvent {
  seq: number;
}

/** What a subscriber starting after an id missed beyond recall: events up to `prunedThrough` may be gone. */
export interface StreamReset {
  lastEventId: number;
  prunedThrough: number;
}

/** Outbox rows of events: for statements that append them themselves (a CTE beside the change they record). */
export function outboxValues(events: readonly OutboxEvent[]) {
  return events.map((e) => ({ type: e.type, agent_ids: [...e.agentIds], data: JSON.stringify(e.data), at: new Date(e.at) }));
}

/** Separates the names of a per-agent event type (event names are dotted words, never with a space). */
const PER_AGENT_SEPARATOR = ' ';

/** The type of a row that is a different event to each agent it names: `names[i]` to `agentIds[i]`. */
export function perAgentType(names: readonly string[]): string {
  return names.join(PER_AGENT_SEPARATOR);
}

const POLL_MS = 200;
const LOOKBACK = 1000;
/** How long events are kept, and so how far back a reconnecting client (Last-Event-ID) can catch up. */
export const EVENT_RETENTION_MS = 24 * 3600_000;
/** The prune looks again this far below its last cutoff, for transactions that committed late. */
const PRUNE_MARGIN_MS = 60_000;
/** And at least this often (clock time) below any cutoff, for whatever committed later still. */
const PRUNE_SWEEP_MS = 24 * 3600_000;

interface Sub {
  agentId: string | null;
  fn: RowSubscriber;
}

/** Receives the events one row is to a subscriber (several for the operator when the row is per-agent), never an empty list. */
export type RowSubscriber = (events: DeliveredEvent[]) => void;

export interface Listener {
  /** The newest number the poller had seen when the listener went live: events up to it are history. */
  position: number;
  unsubscribe(): void;
}

export class EventOutbox {
  private readonly subs = new Set<Sub>();
  private lastSeq = 0;
  private readonly delivered = new Set<number>();
  private starting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** The cutoff of the last prune, and when the last prune over the whole table ran (clock time). */
  private prunedBefore: number | null = null;
  private sweptAt = -Infinity;

  /** `db`: the app's database seen with the outbox's tables only (`narrow` in db/schema.ts). */
  constructor(private readonly db: Kysely<OutboxTables>, private readonly clock: Clock) {}

  /**
   * Where a consumer that reads the log by seq (and keeps its cursor itself, such as the analytics
   * projection) stands against the retention: events up to `prunedThrough` are deleted, so a consumer
   * whose cursor is below it missed some (`missed`). `consumer` names it in the answer (logs, stats).
   */
  async cursorState(consumer: string, cursor: number): Promise<{ consumer: string; cursor: number; prunedThrough: number; missed: boolean }> {
    const prunedThrough = await this.prunedThrough();
    return { consumer, cursor, prunedThrough, missed: cursor > 0 && cursor < prunedThrough };
  }

  /** The newest seq the prune has deleted (0: none yet). */
  async prunedThrough(): Promise<number> {
    const state = await this.db.selectFrom('outbox_state').select('pruned_through').where('id', '=', 1).executeTakeFirst();
    return Number(state?.pruned_through ?? 0n);
  }

  /** Appends events inside the caller's transaction (or as their own statement), on any database with the outbox's tables. */
  async append<DB extends OutboxTables>(db: Kysely<DB> | Transaction<DB>, events: readonly OutboxEvent[]): Promise<void> {
    if (!events.length) return;
    await narrow<OutboxTables, DB>(db).insertInto('outbox_events').values(outboxValues(events)).execute();
  }

  /** Appends events outside a transaction and delivers them. */
  async emit(events: readonly OutboxEvent[]): Promise<void> {
    await this.append(this.db, events);
    this.poke();
  }

  /** Something committed: poll now (when anyone listens). */
  poke(): void {
    if (this.subs.size > 0) void this.poll();
  }

  /**
   * Listens for an agent (or the operator, agentId null, who sees everything): `fn` gets the events of each
   * row committed from now on that concerns it, once per row, in the order the poller finds them (by seq,
   * except a transaction that committed late). Resolves once live. What a listener does not take at once
   * it reads back with `read` (see stream-client.ts).
   */
  async listen(agentId: string | null, fn: RowSubscriber): Promise<Listener> {
    const s: Sub = { agentId, fn };
    if (this.subs.size === 0) await this.start();
    this.subs.add(s);
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.poll(), POLL_MS);
      this.timer.unref();
    }
    const unsubscribe = () => {
      this.subs.delete(s);
      if (this.subs.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
    return { position: this.lastSeq, unsubscribe };
  }

  /** The rows after `after` (by seq) that concern the agent (every row for the operator), at most `limit`, as their events. */
  async read(agentId: string | null, after: number, limit: number): Promise<{ seq: number; events: DeliveredEvent[] }[]> {
    let q = this.db.selectFrom('outbox_events').selectAll().where('seq', '>', BigInt(after)).orderBy('seq').limit(limit);
    if (agentId !== null) q = q.where(sql<boolean>`${agentId}::text = ANY(agent_ids)`);
    const rows = await q.execute();
    return rows.map((r) => ({ seq: Number(r.seq), events: deliveriesTo(agentId, r) })).filter((r) => r.events.length > 0);
  }

  /**
   * The lowest number the poller may still deliver (it re-reads LOOKBACK numbers below the newest it has
   * seen): a listener that remembers what it was sent needs to remember no further back.
   */
  get windowFloor(): number {
    return this.lastSeq - LOOKBACK;
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

  /** Nobody listened until now: the numbers visible now are history (delivered); later commits below them are not. */
  private start(): Promise<void> {
    this.starting ??= (async () => {
      const rows = await this.db.selectFrom('outbox_events').select('seq').orderBy('seq', 'desc').limit(LOOKBACK).execute();
      this.delivered.clear();
      for (const r of rows) this.delivered.add(Number(r.seq));
      this.lastSeq = rows.length ? Number(rows[0]!.seq) : 0;
    })().finally(() => { this.starting = null; });
    return this.starting;
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
    if (this.closed || this.subs.size === 0 || this.starting) return;
    // re-read a window below the newest seen: a transaction may commit after a later number is visible
    const from = Math.max(0, this.lastSeq - LOOKBACK);
    const rows = await this.db.selectFrom('outbox_events').selectAll().where('seq', '>', BigInt(from)).orderBy('seq').limit(5000).execute();
    for (const r of rows) {
      const seq = Number(r.seq);
      if (this.delivered.has(seq)) continue;
      this.delivered.add(seq);
      if (seq > this.lastSeq) this.lastSeq = seq;
      for (const s of this.subs) {
        const events = deliveriesTo(s.agentId, r);
        if (!events.length) continue;
        try {
          s.fn(events);
        } catch {
          /* a broken subscriber must not break the others */
        }
      }
    }
    if (this.delivered.size > 2 * LOOKBACK) {
      const floor = this.lastSeq - LOOKBACK;
      for (const d of this.delivered) if (d <= floor) this.delivered.delete(d);
    }
  }

  /**
   * Deletes events past the retention window and records the newest number deleted. Rows below the last
   * run's cutoff are gone already, so a run deletes only the range from that cutoff (less PRUNE_MARGIN_MS)
   * to the new one: an index range on outbox_events (at) that skips the deleted rows below it, which stay
   * in the table and its index until a vacuum (never, on PGlite). The first run of a process, and one a
   * day, delete everything older.
   */
  async prune(): Promise<number> {
    const now = this.clock.now().getTime();
    const before = new Date(now - EVENT_RETENTION_MS);
    const sweep = this.prunedBefore === null || now - this.sweptAt >= PRUNE_SWEEP_MS;
    const range = sweep
      ? sql`at < ${before}`
      : sql`at >= ${new Date(this.prunedBefore! - PRUNE_MARGIN_MS)} AND at < ${before}`;
    const r = await sql<{ n: bigint }>`
      WITH d AS (DELETE FROM outbox_events WHERE ${range} RETURNING seq),
      s AS (
        UPDATE outbox_state SET pruned_through = GREATEST(pruned_through, (SELECT max(seq) FROM d))
        WHERE id = 1 AND EXISTS (SELECT 1 FROM d)
      )
      SELECT count(*)::int8 AS n FROM d`.execute(this.db);
    if (sweep) this.sweptAt = now;
    this.prunedBefore = Math.max(this.prunedBefore ?? -Infinity, before.getTime());
    return Number(r.rows[0]?.n ?? 0n);
  }
}

/** The events a row is to one subscriber (an agent, or the operator: null): none when it does not concern it. */
function deliveriesTo(agentId: string | null, r: { seq: bigint; type: string; agent_ids: string[]; data: unknown; at: Date }): DeliveredEvent[] {
  const names = r.type.split(PER_AGENT_SEPARATOR);
  let mine: string[];
  if (agentId === null) mine = names;
  else if (names.length === 1) mine = r.agent_ids.includes(agentId) ? names : [];
  else mine = names.filter((_, i) => r.agent_ids[i] === agentId);
  const base = { seq: Number(r.seq), agentIds: r.agent_ids, data: (r.data ?? {}) as Record<string, unknown>, at: r.at.toISOString() };
  return mine.map((type) => ({ ...base, type }));
}
