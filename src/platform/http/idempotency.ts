/**
 * Idempotency-Key on mutating requests, with Stripe's semantics:
 * - the first completed response (status < 500) is stored and replayed for the same key and body;
 * - the same key with a different method, path or body is 409 `idempotency_key_reused`;
 * - a request still in flight with that key is 409 `idempotency_in_flight`;
 * - keys are scoped per caller (agent, operator, anonymous);
 * - a 5xx or a crash leaves the key free again (a crashed in-flight lock expires after `lockMs`).
 * Requests that fail validation never reach this hook, so they are not stored (as at Stripe).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { IdempotencyTables } from '../db/schema.js';
import type { Clock } from '../clock.js';
import { AppError } from './errors.js';
import { principalScope } from './auth.js';
import { canonicalJson } from '../json.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KEY_RE = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { scope: string; key: string; replayed: boolean };
  }
}

export default fp<{ db: Kysely<IdempotencyTables>; clock: Clock; lockMs?: number }>(
  async function idempotency(app: FastifyInstance, opts) {
    const { db, clock } = opts;
    const lockMs = opts.lockMs ?? 60_000;

    app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!MUTATING.has(request.method)) return;
      const raw = request.headers['idempotency-key'];
      if (raw === undefined) return;
      const key = Array.isArray(raw) ? raw[0]! : raw;
      if (!KEY_RE.test(key)) {
        throw new AppError('bad_request', 'Idempotency-Key must be 1-255 printable ASCII characters');
      }
      const scope = principalScope(request.principal);
      const hash = createHash('sha256')
        .update(`${request.method} ${request.url}\n${canonicalJson(request.body ?? null)}`)
        .digest('hex');
      const now = clock.now();
      const lockedUntil = new Date(now.getTime() + lockMs);

      const inserted = await db
        .insertInto('idempotency_keys')
        .values({
          scope, key, request_hash: hash, method: request.method, path: request.url,
          state: 'in_flight', created_at: now, locked_until: lockedUntil,
        })
        .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) {
        request.idempotency = { scope, key, replayed: false };
        return;
      }
      const row = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('scope', '=', scope)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) throw new AppError('idempotency_in_flight', 'the request with this key just failed; retry');
      if (row.request_hash !== hash) {
        throw new AppError('idempotency_key_reused', `Idempotency-Key "${key}" was used for a different request (${row.method} ${row.path})`);
      }
      if (row.state === 'completed') {
        request.idempotency = { scope, key, replayed: true };
        reply.header('idempotent-replayed', 'true');
        return reply.code(row.response_status ?? 200).type(row.response_type ?? 'application/json').send(row.response_body ?? '');
      }
      // In flight: take over only a lock whose owner crashed (expired).
      const taken = await db
        .updateTable('idempotency_keys')
        .set({ locked_until: lockedUntil })
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('state', '=', 'in_flight')
        .where('locked_until', '<', now)
        .returning('key')
        .executeTakeFirst();
      if (!taken) throw new AppError('idempotency_in_flight', `a request with Idempotency-Key "${key}" is still in progress`);
      request.idempotency = { scope, key, replayed: false };
    });

    app.addHook('onSend', async (request, reply, payload) => {
      const idem = request.idempotency;
      if (!idem || idem.replayed) return payload;
      request.idempotency = undefined;
      if (reply.statusCode >= 500) {
        await db.deleteFrom('idempotency_keys').where('scope', '=', idem.scope).where('key', '=', idem.key).execute();
        return payload;
      }
      const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
      await db
        .updateTable('idempotency_keys')
        .set({
          state: 'completed',
          response_status: reply.statusCode,
          response_type: String(reply.getHeader('content-type') ?? 'application/json'),
          response_body: body,
          completed_at: clock.now(),
        })
        .where('scope', '=', idem.scope)
        .where('key', '=', idem.key)
        .execute();
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['auth'] },
);
