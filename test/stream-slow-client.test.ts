/**
 * GET /v1/stream and a client that stops reading, over real sockets: the slow client is a raw net.Socket
 * paused after the response's first bytes (it never reads, so the kernel does not grow its receive
 * buffer past the default), and events are published in bursts far larger than the bound.
 * - The server holds at most STREAM_CLIENT_BUFFER_BYTES (plus one event) for the slow client: measured on
 *   its response's buffer and by the peak gauge; a reading client alongside gets every event once, in
 *   order, though each burst is 8x the bound; the slow client, reading again, is caught up from the table
 *   on the same connection and gets every event once, in order.
 * - One that takes nothing for STREAM_CLIENT_STALL_SECONDS is disconnected; reconnecting with the last id
 *   it received it gets the rest, once, in order.
 * - A transaction that commits late (its number below one the client was already sent) while the client
 *   is behind reaches it once when it catches up (without the `owed` numbers it is lost: checked).
 * Each test builds its own app (database, port); on PostgreSQL with TEST_DATABASE_URL.
 */
import { connect, type Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, buildTestApp, type TestApp } from './helpers/test-app.js';
import { readSse } from './helpers/sse.js';

const LIMIT = 262_144;
const PAD = 'x'.repeat(2_000);
const EVENT_BYTES = 2_200; // one event as written: id, name, its data with the pad, framing

let t: TestApp | undefined;
const sockets: Socket[] = [];
const readers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const r of readers.splice(0)) await r.close();
  await t?.close();
  t = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function start(overrides: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(overrides);
  t = app;
  /** The stream responses the server writes, in order of connection, to read how much each holds. */
  const responses: ServerResponse[] = [];
  app.app.server.on('request', (req, res: ServerResponse) => { if (req.url?.startsWith('/v1/stream')) responses.push(res); });
  await app.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.app.server.address() as { port: number }).port;
  return { app, responses, port };
}

/** A raw HTTP stream request; resolves once the response's first bytes arrived, with the socket paused. */
function slowClient(port: number): Promise<{ socket: Socket; raw: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const parts: Buffer[] = [];
    let started = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => socket.write(`GET /v1/stream?types=test.slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`));
    socket.on('data', (b: Buffer) => {
      parts.push(b);
      if (!started && Buffer.concat(parts).includes(': connected')) {
        started = true;
        socket.pause(); // stops reading: its receive buffer fills, then the server's send buffer, then the response's
        resolve({ socket, raw: () => Buffer.concat(parts), closed });
      }
    });
    socket.on('error', () => { /* reset by the server: seen as the close */ });
    socket.once('error', reject);
  });
}

/** The body of a chunked HTTP/1.1 response (complete chunks only). */
function dechunk(raw: Buffer): string {
  let i = raw.indexOf('\r\n\r\n') + 4;
  const out: Buffer[] = [];
  for (;;) {
    const eol = raw.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(i, eol).toString(), 16);
    if (!(size > 0) || eol + 2 + size > raw.length) break;
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out).toString();
}

/** (id, n) of our events in an event-stream body, in order. */
function events(body: string): { id: number; n: number }[] {
  const got: { id: number; n: number }[] = [];
  const re = /id: (\d+)\nevent: test\.slow\ndata: \{"n":(-?\d+),/g;
  for (let m = re.exec(body); m; m = re.exec(body)) got.push({ id: Number(m[1]), n: Number(m[2]) });
  return got;
}

/** Publishes `count` events of ~2.2 kB in bursts of `burst` (one statement each: the poller finds a burst at once). */
async function publish(app: TestApp, count: number, burst: number, opts: { from?: number; pad?: string } = {}) {
  const from = opts.from ?? 0;
  for (let b = 0; b * burst < count; b++) {
    const evs = Array.from({ length: Math.min(burst, count - b * burst) }, (_, i) => ({ type: 'test.slow', agentIds: [], data: { n: from + b * burst + i, pad: opts.pad ?? PAD }, at: new Date().toISOString() }));
    await app.app.services.outbox.emit(evs);
  }
}

async function metric(app: TestApp, name: string): Promise<number> {
  const body = (await app.app.inject({ method: 'GET', url: '/metrics' })).body;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

async function reader(port: number, lastEventId?: number) {
  const ctrl = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}`, ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) };
  const res = await fetch(`http://127.0.0.1:${port}/v1/stream?types=test.slow`, { headers, signal: ctrl.signal });
  expect(res.status).toBe(200);
  const r = readSse(res, ctrl);
  readers.push(r);
  return r;
}

describe('a stream client that does not read', () => {
  it('is held to the bound while a reading client gets every event in order; reading again, it is caught up on the same connection', async () => {
    const COUNT = Number(process.env.SLOW_COUNT ?? 10_000); // ~22 MB in bursts of 2,000 (~4.4 MB, 17x the bound)
    const { app, responses, port } = await start({ streamClientBufferBytes: LIMIT, streamClientStallSeconds: 3600 });
    const slow = await slowClient(port);
    const normal = await reader(port);
    await until('both stream subscriptions', () => app.streamSubscribers() === 2 && responses.length === 2);
    const slowRes = responses[0]!;
    let maxHeld = 0;
    let t0 = Date.now();
    const sampler = setInterval(() => { maxHeld = Math.max(maxHeld, slowRes.writableLength); }, 1);
    try {
      t0 = Date.now();
      await publish(app, COUNT, 2_000);
      if (process.env.SLOW_DEBUG) console.log('published', Date.now() - t0, 'ms; received', normal.received.length);
      await until('the reading client to receive every event', () => normal.received.length >= COUNT)
        .catch((e: Error) => { throw new Error(`${e.message}: got ${normal.received.length}, slow held ${slowRes.writableLength}, destroyed ${slowRes.destroyed}`); });
      await sleep(200);
    } finally {
      clearInterval(sampler);
    }
    // the reading client: every event once, in order, never cut off
    expect(normal.received.map((e) => e.data.n)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(responses[1]!.destroyed).toBe(false);
    const ids = normal.received.map((e) => Number(e.id));
    if (process.env.SLOW_DEBUG) console.log('received all', Date.now() - t0, 'ms; slow held max', maxHeld);

    // the slow one: held to the bound (one event over at most) while most of what it is due is neither
    // in the kernel nor in the server's memory (it stays in the table), and still connected
    const peak = await metric(app, 'stream_client_held_bytes_peak');
    const kernelTook = slowRes.socket!.bytesWritten;
    if (process.env.SLOW_DEBUG) console.log('kernel took', kernelTook, 'held', slowRes.writableLength, 'peak', peak);
    expect(kernelTook + slowRes.writableLength).toBeLessThan(COUNT * EVENT_BYTES / 2);
    expect(maxHeld).toBeLessThanOrEqual(LIMIT + EVENT_BYTES);
    expect(peak).toBeGreaterThanOrEqual(maxHeld);
    expect(peak).toBeLessThanOrEqual(LIMIT + EVENT_BYTES);
    expect(slowRes.destroyed).toBe(false);
    expect(await metric(app, 'stream_clients_behind')).toBe(1);
    const before = events(dechunk(slow.raw())).length;
    expect(before).toBeLessThan(COUNT / 2); // it had most of them still to come

    // it reads again: caught up from the table on the same connection, every event once, in order
    slow.socket.resume();
    await until('the slow client to catch up', () => events(dechunk(slow.raw())).length >= COUNT);
    await sleep(300);
    const got = events(dechunk(slow.raw()));
    expect(got.map((e) => e.n)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(await metric(app, 'stream_clients_behind')).toBe(0);
    expect(await metric(app, 'stream_stalled_disconnects_total')).toBe(0);

    // and it is live again: the next event arrives on both
    await publish(app, 1, 1);
    await until('the next event on both', () => normal.received.length === COUNT + 1 && events(dechunk(slow.raw())).length === COUNT + 1);
    expect(events(dechunk(slow.raw())).at(-1)!.id).toBe(Number(normal.received.at(-1)!.id));
    await normal.close();
    slow.socket.destroy();
  }, 300_000);

  it('that takes nothing for the stall time is disconnected, and resuming from its last id it misses nothing', async () => {
    const COUNT = 6_000;
    const { app, responses, port } = await start({ streamClientBufferBytes: 65_536, streamClientStallSeconds: 1 });
    const slow = await slowClient(port);
    const normal = await reader(port);
    await until('both stream subscriptions', () => app.streamSubscribers() === 2 && responses.length === 2);
    const slowRes = responses[0]!;
    await publish(app, COUNT, 1_000);
    await until('the reading client to receive every event', () => normal.received.length >= COUNT);
    await until('the slow client to be disconnected', () => slowRes.destroyed);
    expect(await metric(app, 'stream_stalled_disconnects_total')).toBe(1);
    expect(await metric(app, 'stream_client_held_bytes_peak')).toBeLessThanOrEqual(65_536 + EVENT_BYTES);
    await until('one subscription left', () => app.streamSubscribers() === 1);
    const ids = normal.received.map((e) => Number(e.id));

    // what reached it before the cut is a prefix; the rest comes by Last-Event-ID, paced by its socket
    slow.socket.resume();
    await slow.closed;
    const got = events(dechunk(slow.raw()));
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(COUNT);
    expect(got.map((e) => e.id)).toEqual(ids.slice(0, got.length));
    const resumed = await reader(port, got.at(-1)!.id);
    await until('the resumed client to catch up', () => resumed.received.length >= COUNT - got.length);
    await sleep(200);
    expect([...got.map((e) => e.id), ...resumed.received.map((e) => Number(e.id))]).toEqual(ids);
    expect(responses.at(-1)!.destroyed).toBe(false);
    await resumed.close();
    await normal.close();
  }, 300_000);

  it('a transaction that commits late, while the client is behind and was sent later numbers, reaches it once', async () => {
    // events of 20 kB, so that the kernel's buffers fill within the poller's window of 1,000 numbers
    const BIG = 'y'.repeat(20_000);
    const { app, responses, port } = await start({ streamClientBufferBytes: LIMIT, streamClientStallSeconds: 3600 });
    const db = app.db.database.db;
    const slow = await slowClient(port);
    const normal = await reader(port);
    await until('both stream subscriptions', () => app.streamSubscribers() === 2 && responses.length === 2);
    // a number taken now by a transaction that commits only later
    const late = Number((await sql<{ n: string }>`SELECT nextval(pg_get_serial_sequence('outbox_events', 'seq'))::text AS n`.execute(db)).rows[0]!.n);
    await publish(app, 1, 1, { pad: BIG }); // sent to the slow one at once: its cursor passes the late number
    await publish(app, 600, 100, { from: 1, pad: BIG }); // ~12 MB: it falls behind
    await until('the reading client to receive 601', () => normal.received.length >= 601);
    await sleep(300);
    expect(events(dechunk(slow.raw())).length).toBeLessThan(300);
    await sql`INSERT INTO outbox_events (seq, type, agent_ids, data, at) VALUES (${late}, 'test.slow', ${sql`ARRAY[]::text[]`}, ${JSON.stringify({ n: -1, pad: 'late' })}::jsonb, now())`.execute(db);
    app.app.services.outbox.poke();
    await until('the reading client to receive the late one', () => normal.received.some((e) => e.data.n === -1));

    slow.socket.resume();
    await until('the slow client to catch up', () => events(dechunk(slow.raw())).length >= 602);
    await publish(app, 1, 1, { from: 601 }); // live again: the next one arrives
    await until('the next event on the slow client', () => events(dechunk(slow.raw())).some((e) => e.n === 601));
    await sleep(300);
    const got = events(dechunk(slow.raw()));
    expect(got.filter((e) => e.n === -1).map((e) => e.id)).toEqual([late]); // once
    expect(got.filter((e) => e.n >= 0).map((e) => e.n)).toEqual(Array.from({ length: 602 }, (_, i) => i));
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    expect(normal.received.filter((e) => e.data.n === -1)).toHaveLength(1);
  }, 300_000);
});
