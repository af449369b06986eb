/**
 * One GET /v1/stream client, held to a bounded buffer and paced by its socket.
 *
 * While the client keeps up it is live: each row the poller finds is written at once. The server holds
 * what the client's socket has not taken yet (the response's buffer, past the kernel's); when that passes
 * `maxHeldBytes` the client falls behind: live rows are no longer written (the table has them) and the
 * client catches up from the table instead, from the newest number it was sent, a page at a time, writing
 * until `write()` returns false and waiting for 'drain' before the next. Once a read finds nothing more
 * and no live row was passed over meanwhile, it is live again. So a client that reads gets every event
 * once, in order, however fast they are published; one that stops reading holds at most the bound (plus
 * one event) in the server, and is disconnected after `stallMs` without a drain (it resumes with
 * Last-Event-ID). A client starting after an event id starts behind: its replay is the same catch-up.
 *
 * Late commits (a transaction that committed after a later number was visible): the poller delivers them
 * below numbers already sent; one passed over while behind is remembered (`owed`, within the poller's
 * window) and the next read starts below it. `sent` remembers the numbers written within the poller's
 * window, so a row the catch-up wrote before the poller found it is not written twice.
 */
import type { ServerResponse } from 'node:http';
import type { DeliveredEvent, EventOutbox, Listener } from './outbox.js';

/** Rows read per catch-up page (fewer when they pass half the bound in bytes). */
const PAGE = 200;

export interface StreamClientOptions {
  outbox: EventOutbox;
  /** The agent, or null for the operator (every event). */
  agentId: string | null;
  /** Event type prefixes asked for (none: every type). */
  prefixes: readonly string[];
  /** Start after this event id (Last-Event-ID): the rows after it are replayed first. */
  after?: number | undefined;
  /** Most bytes held for the client before it falls behind and catches up from the table. */
  maxHeldBytes: number;
  /** A client behind whose socket does not drain for this long is disconnected. */
  stallMs: number;
  /** Called with the bytes held after every write (for the peak gauge). */
  onHeld?: (bytes: number) => void;
  /** Called when the client is disconnected for not reading. */
  onStall?: () => void;
}

/** An event as a server-sent event. */
export function formatEvent(e: DeliveredEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.at })}\n\n`;
}

export class StreamClient {
  /** Behind: live rows are passed over and read back from the table. Every client starts so, until `start`. */
  private behind = true;
  /** The newest number written to the client (or where it started); null until live. */
  private cursor: number | null = null;
  private readonly sent = new Set<number>();
  /** Rows at or below the cursor passed over while behind (late commits): the next read starts below them. */
  private readonly owed = new Set<number>();
  /** Rows passed over before the cursor was known. */
  private early: number[] = [];
  /** Counts the live rows passed over: a read during which none was may end the catch-up. */
  private passedOver = 0;
  /** Bytes of the catch-up page read but not yet written. */
  private pendingBytes = 0;
  private closed = false;
  private listener: Listener | null = null;
  private catchingUp: Promise<void> | null = null;
  /** Set when the client was disconnected for not reading. */
  stalled = false;

  constructor(private readonly res: ServerResponse, private readonly o: StreamClientOptions) {}

  /** The bytes the server holds for this client: its response's buffer and the page being written. */
  get heldBytes(): number {
    return this.res.writableLength + this.pendingBytes;
  }

  get isBehind(): boolean {
    return this.behind;
  }

  /** Goes live in the outbox (passing rows over until `start`). */
  async listen(): Promise<void> {
    this.listener = await this.o.outbox.listen(this.o.agentId, (events) => this.live(events));
    this.cursor = this.o.after ?? this.listener.position;
    for (const seq of this.early) if (seq <= this.cursor) this.owed.add(seq);
    this.early = [];
  }

  /** After the response's head (and a reset, if any): replays what is due, then continues live. */
  start(): Promise<void> {
    return this.catchUp();
  }

  close(): void {
    this.closed = true;
    this.listener?.unsubscribe();
  }

  private live(events: DeliveredEvent[]): void {
    if (this.closed) return;
    const seq = events[0]!.seq;
    if (this.sent.has(seq) || (this.o.after !== undefined && seq <= this.o.after)) return;
    if (!this.behind && this.res.writableLength < this.o.maxHeldBytes) {
      this.write(seq, events);
      return;
    }
    this.passedOver++;
    if (this.cursor === null) this.early.push(seq);
    else if (seq <= this.cursor) this.owed.add(seq);
    if (!this.behind) {
      this.behind = true;
      void this.catchUp();
    }
  }

  /** Writes one row's events; false when the socket wants a drain first. */
  private write(seq: number, events: readonly DeliveredEvent[]): boolean {
    this.sent.add(seq);
    if (this.cursor === null || seq > this.cursor) this.cursor = seq;
    if (this.sent.size > 4096) {
      const floor = this.o.outbox.windowFloor; // the poller delivers nothing below it any more
      for (const s of this.sent) if (s < floor) this.sent.delete(s);
    }
    const chunk = this.chunk(events);
    if (!chunk) return true;
    const ok = this.res.write(chunk);
    this.o.onHeld?.(this.heldBytes);
    return ok;
  }

  private chunk(events: readonly DeliveredEvent[]): string {
    const { prefixes } = this.o;
    let out = '';
    for (const e of events) if (!prefixes.length || prefixes.some((x) => e.type.startsWith(x))) out += formatEvent(e);
    return out;
  }

  private catchUp(): Promise<void> {
    this.catchingUp ??= this.runCatchUp().finally(() => { this.catchingUp = null; });
    return this.catchingUp;
  }

  private async runCatchUp(): Promise<void> {
    while (this.behind && !this.closed) {
      if (this.res.writableNeedDrain) {
        if (!(await this.drained())) return;
        continue;
      }
      const cursor = this.cursor!;
      const passedOver = this.passedOver;
      const owed = [...this.owed];
      const from = Math.min(cursor, ...owed.map((s) => s - 1));
      const rows = await this.o.outbox.read(this.o.agentId, from, PAGE);
      if (this.closed) return;
      const page: { seq: number; events: DeliveredEvent[]; bytes: number }[] = [];
      let complete = rows.length < PAGE;
      let bytes = 0;
      for (const r of rows) {
        if (r.seq <= cursor ? !this.owed.delete(r.seq) : this.sent.has(r.seq)) continue;
        const b = Buffer.byteLength(this.chunk(r.events));
        if (page.length && bytes + b > this.o.maxHeldBytes / 2) {
          complete = false;
          break;
        }
        bytes += b;
        page.push({ ...r, bytes: b });
      }
      // owed rows the read passed without finding are gone (pruned): nothing to wait for
      const reached = complete ? Infinity : (page.at(-1)?.seq ?? from);
      for (const s of owed) if (s <= reached) this.owed.delete(s);
      this.pendingBytes = bytes;
      for (const r of page) {
        if (this.closed) return;
        this.pendingBytes -= r.bytes;
        if (!this.write(r.seq, r.events) && !(await this.drained())) return;
      }
      if (complete && this.passedOver === passedOver && this.owed.size === 0) this.behind = false;
    }
  }

  /** Resolves true on 'drain'; false when the connection closed, or stalled (then it is closed). */
  private drained(): Promise<boolean> {
    if (this.closed || this.res.destroyed) return Promise.resolve(false);
    if (!this.res.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain);
        this.res.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        this.stalled = true;
        this.o.onStall?.();
        this.res.destroy();
        done(false);
      }, this.o.stallMs);
      this.res.once('drain', onDrain);
      this.res.once('close', onClose);
    });
  }
}
