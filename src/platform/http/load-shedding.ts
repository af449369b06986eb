/**
 * Load shedding: past `maxInFlight` API requests being served at once, a new one is answered at once with
 * 503 `overloaded` and `Retry-After`, instead of queueing without bound for the database pool. Counted per
 * process. The stream (long-lived by design), health, readiness, metrics and the dashboard are not counted.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';

const counted = new WeakSet<FastifyRequest>();

export default fp<{ maxInFlight: number; retryAfterSeconds?: number }>(
  async function loadShedding(app: FastifyInstance, opts) {
    if (!(opts.maxInFlight > 0)) return;
    const retryAfter = String(opts.retryAfterSeconds ?? 1);
    let inFlight = 0;
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/') || request.url.startsWith('/v1/stream')) return;
      if (inFlight >= opts.maxInFlight) {
        reply.header('retry-after', retryAfter);
        throw new AppError('overloaded', `the service is serving ${inFlight} requests, its limit (MAX_IN_FLIGHT_REQUESTS); retry in ${retryAfter} s`);
      }
      inFlight++;
      counted.add(request);
      // once per request, whether it finished or the client went away
      reply.raw.once('close', () => {
        if (counted.delete(request)) inFlight--;
      });
    });
  },
  { name: 'load-shedding' },
);
