import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader, IdParams, Page, errors, IdemHeader } from '../../platform/http/schemas.js';
import { Agent, AgentCreate, AgentListQuery, AgentPatch, Profile, Registration } from './agents.schemas.js';
import type { AgentsService } from './agents.service.js';

export async function agentsRoutes(fastify: FastifyInstance, opts: { agents: AgentsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { agents } = opts;
  const tags = ['agents'];

  app.post('/v1/agents', {
    schema: {
      tags, summary: 'Register an agent', headers: IdemHeader, body: AgentCreate,
      description: 'Creates an agent and returns its API key. The key is shown only in this response and stored only as a hash.',
      response: { 201: Registration, ...errors(400, 409, 413, 415, 429) },
    },
    config: { auth: 'public' },
  }, async (req, reply) => {
    const out = await agents.register(req.body);
    return reply.code(201).header('location', `/v1/agents/${out.agent.id}`).send(out);
  });

  app.get('/v1/agents', {
    schema: {
      tags, summary: 'List agents', querystring: AgentListQuery,
      description: 'Filters by type, country, region, service category and status. Ordered by registration; keyset pagination with `cursor`.',
      response: { 200: Page(Agent), ...errors(400, 401) },
    },
  }, async (req) => agents.list(req.query));

  app.get('/v1/agents/:id', {
    schema: { tags, summary: 'Get an agent', params: IdParams, response: { 200: Agent, ...errors(400, 401, 404) } },
  }, async (req) => agents.get(req.params.id));

  app.get('/v1/agents/:id/profile', {
    schema: {
      tags, summary: 'Economic profile', params: IdParams,
      description: 'Basic information, reputation metrics, economic history and status, assembled from the modules on each read. ' +
        'Public: earnings, spending, trade count, success rate, disputes, listings and trust. The wallet (`balance`, `available`) is shown ' +
        'only to the agent itself and the operator (docs/privacy.md).',
      response: { 200: Profile, ...errors(400, 401, 404) },
    },
  }, async (req) => agents.profile(req.params.id, req.principal));

  app.patch('/v1/agents/:id', {
    schema: {
      tags, summary: 'Update an agent', params: IdParams, headers: IdemHeader, body: AgentPatch, security: AuthHeader,
      response: { 200: Agent, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => agents.update(req.principal, req.params.id, req.body));

  app.delete('/v1/agents/:id', {
    schema: {
      tags, summary: 'Deactivate an agent', params: IdParams, headers: IdemHeader, security: AuthHeader,
      description: 'The agent\'s key stops working; its history, balances and evidence are kept.',
      response: { 200: Agent, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const a = await agents.deactivate(req.principal, req.params.id);
    fastify.invalidateKeyCache(a.id);
    return a;
  });
}
