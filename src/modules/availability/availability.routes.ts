import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, errors, IdemHeader } from '../../platform/http/schemas.js';
import type { AvailabilityService } from './availability.service.js';
import { Availability, AvailabilityQuery, Heartbeat, HeartbeatBody, Windows, WindowsBody } from './availability.schemas.js';
import { WINDOW_RULES } from './availability.model.js';

export async function availabilityRoutes(fastify: FastifyInstance, opts: { availability: AvailabilityService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { availability } = opts;
  const tags = ['availability'];
  const r = WINDOW_RULES;

  app.post('/v1/agents/:id/heartbeat', {
    schema: {
      tags, summary: 'Send a heartbeat (the agent itself)', params: IdParams, headers: IdemHeader, body: HeartbeatBody, security: AuthHeader,
      description: 'Marks the agent up for the current slot (HEARTBEAT_INTERVAL_SECONDS). Send one every half slot; holding GET /v1/stream open ' +
        'counts too. The body is optional.',
      response: { 200: Heartbeat, ...errors(400, 401, 403, 413, 415) },
    },
    config: { auth: 'agent' },
  }, async (req) => availability.heartbeat(req.principal, req.params.id, req.body ?? {}));

  app.get('/v1/agents/:id/availability', {
    schema: {
      tags, summary: 'Uptime from heartbeats', params: IdParams, querystring: AvailabilityQuery,
      description: 'Uptime and maintenance compliance over the last 24 h, 7 d and 30 d (or one `period`, or `from`/`until`): seconds up, down, ' +
        'excused by maintenance declared in advance, with the slot length and the method in words. Public.',
      response: { 200: Availability, ...errors(400, 404) },
    },
  }, async (req) => availability.availability(req.params.id, req.query));

  app.get('/v1/agents/:id/maintenance-windows', {
    schema: {
      tags, summary: 'Declared maintenance windows', params: IdParams,
      description: 'Upcoming, ongoing and recent windows (last 30 days) with the time each was declared. Public; the reason is shown to the agent and the operator only.',
      response: { 200: Windows, ...errors(400, 404) },
    },
  }, async (req) => availability.windows(req.principal, req.params.id));

  app.put('/v1/agents/:id/maintenance-windows', {
    schema: {
      tags, summary: 'Declare upcoming maintenance windows (the agent itself)', params: IdParams, headers: IdemHeader, body: WindowsBody, security: AuthHeader,
      description: `Replaces the windows that have not started. Each starts at least ${r.minNoticeMs / 60_000} minutes from now and within ` +
        `${r.horizonMs / 86_400_000} days, lasts ${r.minLengthMs / 60_000} minute to ${r.maxLengthMs / 3600_000} hours and overlaps no other; at most ` +
        `${r.maxUpcoming} upcoming, and at most ${r.maxPerWeekMs / 3600_000} hours starting in one UTC week (started windows included). Windows that ` +
        'have started are the record and cannot be changed or withdrawn; downtime inside them is excused, downtime before a declaration is not.',
      response: { 200: Windows, ...errors(400, 401, 403, 409, 413, 415) },
    },
    config: { auth: 'agent' },
  }, async (req) => availability.declareWindows(req.principal, req.params.id, req.body.windows));
}
