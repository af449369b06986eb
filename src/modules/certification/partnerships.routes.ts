import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, IdemHeader, errors } from '../../platform/http/schemas.js';
import type { BadgesService } from './badges.service.js';
import type { PartnershipsService } from './partnerships.service.js';
import { Badges, DecisionBody, Partnership, PartnershipApply, PartnershipDecisionParams } from './certification.schemas.js';

export async function badgeAndPartnershipRoutes(fastify: FastifyInstance, opts: { badges: BadgesService; partnerships: PartnershipsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { badges, partnerships } = opts;

  app.get('/v1/agents/:id/badges', {
    schema: {
      tags: ['certification'], summary: 'An agent\'s badges', params: IdParams,
      description: 'Awarded automatically from the agent\'s record (first trade, 50 / 100 / 500 jobs, earnings milestones, streaks of daily sales, ' +
        'verifier challenges passed, dispute-free periods); each with when it was earned and what earned it. `rules` lists the thresholds. Public.',
      response: { 200: Badges, ...errors(400, 404) },
    },
  }, async (req) => badges.badgesOf(req.params.id));

  app.post('/v1/partnerships', {
    schema: {
      tags: ['partnerships'], summary: 'Apply for a partnership program (the seller itself)', headers: IdemHeader, body: PartnershipApply, security: AuthHeader,
      description: 'Programs: technology, service, reseller, integration, affiliate. `revenueShareBps` of the seller\'s gross sales goes to `partnerId` ' +
        '(required for reseller and affiliate, and with any share) as linked legs of each settlement while the partnership is active. Pending until the operator decides.',
      response: { 201: Partnership, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req, reply) => reply.code(201).send(await partnerships.apply(req.principal, req.body)));

  app.get('/v1/partnerships/:id', {
    schema: {
      tags: ['partnerships'], summary: 'A partnership (its parties and the operator)', params: IdParams, security: AuthHeader,
      description: 'State, terms, revenue share and the history of decisions.',
      response: { 200: Partnership, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => partnerships.get(req.principal, req.params.id));

  app.post('/v1/admin/partnerships/:id/:action', {
    schema: {
      tags: ['partnerships', 'operator'], summary: 'Decide on a partnership (operator)', params: PartnershipDecisionParams, headers: IdemHeader, body: DecisionBody, security: AuthHeader,
      description: 'approve or reject (pending); suspend (active), resume (suspended), end (active or suspended). Approving a share is refused (409) when the ' +
        'seller\'s active partnerships would together take more than 5000 bps. 409 invalid_transition from any other state.',
      response: { 200: Partnership, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => partnerships.decide(req.params.id, req.params.action, req.body?.reason));
}
