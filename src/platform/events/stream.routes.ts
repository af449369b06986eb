/** GET /v1/stream: the outbox's events that concern the caller, as server-sent events, with Last-Event-ID replay. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader } from '../http/schemas.js';
import { AppError } from '../http/errors.js';
import { EVENT_RETENTION_MS, type DeliveredEvent, type EventOutbox } from './outbox.js';

const RETENTION_HOURS = EVENT_RETENTION_MS / 3600_000;

function parseEventId(v: string | undefined, field: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(v)) throw new AppError('validation_failed', `${field} must be an event id`, { errors: [{ field, message: 'must be a non-negative integer' }] });
  return Number(v);
}

/** `onPresence`: called for an agent holding the stream open, at connect and with every keep-alive (15 s). */
export async function streamRoutes(fastify: FastifyInstance, opts: { outbox: EventOutbox; onPresence?: (agentId: string) => Promise<void> }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onClose', async () => opts.outbox.close());

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
        '`stream.reset` with `prunedThrough` (events up to that id may be missing: re-read the resources). A comment line is sent every 15 s to keep the connection open.',
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
    const send = (e: DeliveredEvent) => {
      if (prefixes.length && !prefixes.some((x) => e.type.startsWith(x))) return;
      res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.at })}\n\n`);
    };
    // live before the headers go out: whatever the client does after connecting is delivered
    const sub = await opts.outbox.subscribe(agentId, send, { after });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': req.id });
    res.write(': connected\n\n');
    const present = () => {
      if (agentId !== null) opts.onPresence?.(agentId).catch((err: unknown) => req.log.warn({ err }, 'presence not recorded'));
    };
    present();
    const ping = setInterval(() => { res.write(': ping\n\n'); present(); }, 15_000);
    const close = () => {
      clearInterval(ping);
      sub.unsubscribe();
    };
    req.raw.on('close', close);
    res.on('close', close);
    try {
      await sub.replay((r) => {
        res.write(`event: stream.reset\ndata: ${JSON.stringify({ reason: 'retention', lastEventId: String(r.lastEventId), prunedThrough: String(r.prunedThrough), retentionSeconds: EVENT_RETENTION_MS / 1000 })}\n\n`);
      });
    } catch (err) {
      req.log.warn({ err }, 'stream replay failed');
      res.end();
    }
  });
}
