/** GET /v1/stream: the outbox's events that concern the caller, as server-sent events, with Last-Event-ID replay. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Counter, Gauge } from 'prom-client';
import { AuthHeader } from '../http/schemas.js';
import { AppError } from '../http/errors.js';
import { EVENT_RETENTION_MS, type EventOutbox } from './outbox.js';
import { StreamClient } from './stream-client.js';

const RETENTION_HOURS = EVENT_RETENTION_MS / 3600_000;

function parseEventId(v: string | undefined, field: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(v)) throw new AppError('validation_failed', `${field} must be an event id`, { errors: [{ field, message: 'must be a non-negative integer' }] });
  return Number(v);
}

/** The defaults of STREAM_CLIENT_BUFFER_BYTES and STREAM_CLIENT_STALL_SECONDS. */
export const STREAM_CLIENT_BUFFER_BYTES = 256 * 1024;
export const STREAM_CLIENT_STALL_SECONDS = 60;

export interface StreamRoutesOptions {
  outbox: EventOutbox;
  /** Called for an agent holding the stream open, at connect and with every keep-alive (15 s). */
  onPresence?: (agentId: string) => Promise<void>;
  /** Most bytes held for one client before it falls behind and catches up from the table (stream-client.ts). */
  clientBufferBytes?: number;
  /** A client behind whose socket takes nothing for this long is disconnected. */
  clientStallSeconds?: number;
}

export async function streamRoutes(fastify: FastifyInstance, opts: StreamRoutesOptions) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onClose', async () => opts.outbox.close());
  const maxHeldBytes = opts.clientBufferBytes ?? STREAM_CLIENT_BUFFER_BYTES;
  const stallMs = (opts.clientStallSeconds ?? STREAM_CLIENT_STALL_SECONDS) * 1000;
  const clients = new Set<StreamClient>();
  let peak = 0;
  const registry = (fastify as Partial<Pick<FastifyInstance, 'metricsRegistry'>>).metricsRegistry;
  const registers = registry ? [registry] : [];
  const stalls = new Counter({
    name: 'stream_stalled_disconnects_total', registers,
    help: 'Stream connections closed because the client held STREAM_CLIENT_BUFFER_BYTES unread for STREAM_CLIENT_STALL_SECONDS',
  });
  new Gauge({
    name: 'stream_client_held_bytes_peak', registers,
    help: 'The most bytes this process has held for one stream client (its unsent buffer and catch-up page)',
    collect() { this.set(peak); },
  });
  new Gauge({
    name: 'stream_clients_behind', registers,
    help: 'Stream clients catching up from the outbox table (past STREAM_CLIENT_BUFFER_BYTES, or replaying)',
    collect() { let n = 0; for (const c of clients) if (c.isBehind) n++; this.set(n); },
  });

  app.get('/v1/stream', {
    schema: {
      tags: ['stream'], summary: 'Live events (server-sent events)', security: AuthHeader,
      querystring: Type.Object({
        types: Type.Optional(Type.String({ maxLength: 500, description: 'Comma-separated event type prefixes, e.g. trade_request,agreement,transfer' })),
        lastEventId: Type.Optional(Type.String({ maxLength: 20, description: 'Resume after this event id, for clients that cannot set the Last-Event-ID header' })),
      }, { additionalProperties: false }),
      description:
        'text/event-stream of the events that concern the caller: payments in and out (`transfer.sent`, `transfer.received`: transfers, mints, ' +
        'deposits, escrow legs, withdrawal holds), its escrows as payer or payee (`escrow.<state>`), withdrawals (`withdrawal.<state>`), trade ' +
        'requests matching its listings and its own, its listings, negotiations (offers) and agreements, and ratings it received (`rating.received`). ' +
        'The operator sees every event. Amounts are decimal AITBC strings, formatted as in the REST resource the event names (its id is in the data). ' +
        `Every event has an \`id\`; reconnecting with the \`Last-Event-ID\` header (or \`lastEventId\`) replays the caller's events after it, in order, ` +
        `then continues live. Events are kept ${RETENTION_HOURS} hours: when some after the given id were deleted, the first event is ` +
        '`stream.reset` with `prunedThrough` (events up to that id may be missing: re-read the resources). A comment line is sent every 15 s to keep the connection open. ' +
        'The server sends at the pace the client reads: a client that falls behind by STREAM_CLIENT_BUFFER_BYTES is caught up from the stored events (nothing is lost); ' +
        'one that takes nothing for STREAM_CLIENT_STALL_SECONDS after that is disconnected, and reconnecting with the last id it received misses nothing.',
    },
    config: { auth: 'authenticated' },
  }, async (req, reply) => {
    const p = req.principal;
    const agentId = p.kind === 'agent' ? p.agentId : null;
    const prefixes = req.query.types ? req.query.types.split(',').map((s) => s.trim()).filter(Boolean) : [];
    const header = req.headers['last-event-id'];
    const after = parseEventId(typeof header === 'string' ? header.trim() : undefined, 'header.last-event-id')
      ?? parseEventId(req.query.lastEventId, 'querystring.lastEventId');
    reply.hijack();
    const res = reply.raw;
    const client = new StreamClient(res, {
      outbox: opts.outbox, agentId, prefixes, after, maxHeldBytes, stallMs,
      onHeld: (b) => { if (b > peak) peak = b; },
      onStall: () => {
        stalls.inc();
        req.log.info({ agentId, held: client.heldBytes, maxHeldBytes }, 'stream client not reading: disconnected (it resumes with Last-Event-ID)');
      },
    });
    // live before the headers go out: whatever the client does after connecting is delivered
    await client.listen();
    clients.add(client);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': req.id });
    res.write(': connected\n\n');
    const present = () => {
      if (agentId !== null) opts.onPresence?.(agentId).catch((err: unknown) => req.log.warn({ err }, 'presence not recorded'));
    };
    present();
    const ping = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': ping\n\n');
      present();
    }, 15_000);
    const close = () => {
      clearInterval(ping);
      client.close();
      clients.delete(client);
    };
    req.raw.on('close', close);
    res.on('close', close);
    try {
      if (after !== undefined) {
        const prunedThrough = await opts.outbox.prunedThrough();
        if (after < prunedThrough) {
          res.write(`event: stream.reset\ndata: ${JSON.stringify({ reason: 'retention', lastEventId: String(after), prunedThrough: String(prunedThrough), retentionSeconds: EVENT_RETENTION_MS / 1000 })}\n\n`);
        }
      }
      await client.start();
    } catch (err) {
      req.log.warn({ err }, 'stream replay failed');
      res.end();
    }
  });
}
