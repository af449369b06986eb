/** The operator's routes for held rewards (rewards.held.ts): the list, and release or forfeit. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Amount, AuthHeader, IdParams, IdemHeader, Timestamp, Uuid, errors } from '../../platform/http/schemas.js';
import { formatAmount } from '../../platform/money.js';
import type { HeldStatement } from './rewards.held.js';
import type { RewardsService } from './rewards.service.js';
import { HeldStateSchema } from './rewards.schemas.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

const HeldItem = Type.Object({
  agentId: Uuid, epochId: Uuid, epochNumber: Type.Integer(), programId: Type.String(), amount: Amount, state: HeldStateSchema,
  heldAt: Nullable(Timestamp), decidedAt: Nullable(Timestamp), decidedBy: Nullable(Type.String()), reason: Nullable(Type.String()),
  transferId: Nullable(Uuid),
});
const HeldQuery = Type.Object({
  agentId: Type.Optional(Uuid),
  state: Type.Optional(Type.Union([HeldStateSchema], { default: 'held', description: 'held (default), released or forfeited' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 80, pattern: `^${UUID}_${UUID}$`, errorMessage: 'must be the nextCursor of a previous page' })),
}, { additionalProperties: false });
const HeldList = Type.Object({
  data: Type.Array(HeldItem), nextCursor: Type.Union([Type.String(), Type.Null()]),
  count: Type.Integer({ description: 'Statements in this state (for the agent, if filtered), on all pages' }), amount: Amount,
});
const DecisionBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why: recorded with the decision and shown to the agent' }),
  epochId: Type.Optional(Type.Union([Uuid], { description: 'Only this epoch\'s statement (default: every held statement of the agent)' })),
}, { additionalProperties: false });
const DecisionResult = Type.Object({
  agentId: Uuid, action: Type.Union([Type.Literal('release'), Type.Literal('forfeit')]), amount: Amount,
  transfers: Type.Integer({ description: 'Ledger transfers created (release: one per positive statement)' }), statements: Type.Array(HeldItem),
});

function itemJson(s: HeldStatement) {
  return {
    agentId: s.agentId, epochId: s.epochId, epochNumber: s.epochNumber, programId: s.programId, amount: formatAmount(s.amount), state: s.state,
    heldAt: s.heldAt?.toISOString() ?? null, decidedAt: s.decidedAt?.toISOString() ?? null, decidedBy: s.decidedBy, reason: s.reason, transferId: s.transferId,
  };
}

export async function heldRoutes(fastify: FastifyInstance, opts: { rewards: RewardsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const held = opts.rewards.held;
  const tags = ['rewards'];

  app.get('/v1/admin/rewards/held', {
    schema: {
      tags, summary: 'Held reward statements (operator)', querystring: HeldQuery, security: AuthHeader,
      description: 'Statements computed for agents under risk review: kept in the pool and reserved until released or forfeited. By agent id, then epoch id; ' +
        'state=released or forfeited lists the decided ones with who decided, when and why.',
      response: { 200: HeldList, ...errors(400, 401, 403) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const [agentId, epochId] = req.query.cursor?.split('_') ?? [];
    const r = await held.list({ state: req.query.state ?? 'held', agentId: req.query.agentId, after: agentId && epochId ? { agentId, epochId } : undefined, limit });
    const last = r.data[r.data.length - 1];
    return { data: r.data.map(itemJson), nextCursor: r.data.length === limit && last ? `${last.agentId}_${last.epochId}` : null, count: r.count, amount: formatAmount(r.amount) };
  });

  for (const action of ['release', 'forfeit'] as const) {
    app.post(`/v1/admin/rewards/held/:id/${action}`, {
      schema: {
        tags, params: IdParams, headers: IdemHeader, body: DecisionBody, security: AuthHeader,
        summary: action === 'release' ? 'Release an agent\'s held rewards: pay them (operator)' : 'Forfeit an agent\'s held rewards: the pool keeps them (operator)',
        description: (action === 'release'
          ? 'Pays each held statement from the reward pool with the epoch\'s reward transfer id for the agent, in the transaction that marks it released: exactly once, whoever calls it again or beside it. '
          : 'Marks each held statement forfeited: the amount stays in the pool and is no longer reserved, so the next epoch\'s budget can use it. ') +
          'Released and forfeited exclude each other and are final. 404: unknown agent or epoch, or the agent never had a held statement; 409 (invalid_transition): already decided, with the state it is in. ' +
          'A risk review decides them too: a confirmed alert forfeits what its holds held, a dismissed one releases it.',
        response: { 200: DecisionResult, ...errors(400, 401, 403, 404, 409, 413, 415, 422) },
      },
      config: { auth: 'admin' },
    }, async (req) => {
      const r = await held.decide(action, req.params.id, { reason: req.body.reason, epochId: req.body.epochId, actor: 'admin' });
      return { agentId: req.params.id, action, amount: formatAmount(r.amount), transfers: r.transfers, statements: r.statements.map(itemJson) };
    });
  }
}
