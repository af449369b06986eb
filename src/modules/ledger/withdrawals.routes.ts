/** Withdrawals to the chain over HTTP: an agent requests and reads its own; the operator completes or fails them. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader, IdParams, errors, IdemHeader } from '../../platform/http/schemas.js';
import { assertActsFor, requireAgent } from '../../platform/http/auth.js';
import { parseAmount } from '../../platform/money.js';
import type { LocalBridge } from './bridge.service.js';
import { withdrawalJson } from './ledger.json.js';
import { Withdrawal, WithdrawalCreate } from './ledger.schemas.js';

export async function withdrawalsRoutes(fastify: FastifyInstance, opts: { bridge: LocalBridge }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { bridge } = opts;
  const tags = ['ledger'];
  const adminTags = ['operator'];

  app.post('/v1/withdrawals', {
    schema: {
      tags, summary: 'Withdraw to the chain', headers: IdemHeader, body: WithdrawalCreate, security: AuthHeader,
      description: 'Holds the amount in the caller\'s wallet and queues the withdrawal for the bridge. Completing it posts the hold; failing it voids it.',
      response: { 201: Withdrawal, ...errors(400, 401, 403, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const w = await bridge.requestWithdrawal({ id: req.body.id, agentId: requireAgent(req.principal), amount: parseAmount(req.body.amount), address: req.body.address });
    return reply.code(201).header('location', `/v1/withdrawals/${w.id}`).send(withdrawalJson(w));
  });

  app.get('/v1/withdrawals', {
    schema: {
      tags, summary: 'List withdrawals', security: AuthHeader,
      querystring: Type.Object({
        state: Type.Optional(Type.Union([Type.Literal('queued'), Type.Literal('completed'), Type.Literal('failed')])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
      }, { additionalProperties: false }),
      description: 'An agent sees its own; the operator sees the queue of all agents (oldest first).',
      response: { 200: Type.Object({ data: Type.Array(Withdrawal) }), ...errors(400, 401) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const agentId = req.principal.kind === 'agent' ? req.principal.agentId : undefined;
    const rows = await bridge.listWithdrawals({ state: req.query.state, agentId, limit: req.query.limit ?? 100 });
    return { data: rows.map(withdrawalJson) };
  });

  app.get('/v1/withdrawals/:id', {
    schema: { tags, summary: 'Get a withdrawal', params: IdParams, security: AuthHeader, response: { 200: Withdrawal, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const w = await bridge.getWithdrawal(req.params.id);
    assertActsFor(req.principal, w.agentId);
    return withdrawalJson(w);
  });

  app.post('/v1/admin/withdrawals/:id/complete', {
    schema: {
      tags: adminTags, summary: 'Mark a withdrawal sent on chain (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      body: Type.Object({ chainTxId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 200: Withdrawal, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => withdrawalJson(await bridge.completeWithdrawal(req.params.id, req.body.chainTxId)));

  app.post('/v1/admin/withdrawals/:id/fail', {
    schema: {
      tags: adminTags, summary: 'Fail a withdrawal and release its hold (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      response: { 200: Withdrawal, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => withdrawalJson(await bridge.failWithdrawal(req.params.id, req.body.reason)));
}
