/** Escrow over HTTP: open, read, the parties' actions and the operator's resolution of a dispute. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, errors, IdemHeader } from '../../platform/http/schemas.js';
import { AppError } from '../../platform/http/errors.js';
import { requireAgent } from '../../platform/http/auth.js';
import { parseAmount } from '../../platform/money.js';
import type { EscrowAction } from './escrow.js';
import type { EscrowService, EscrowView } from './escrow.service.js';
import { escrowJson } from './ledger.json.js';
import { Escrow, EscrowActionBody, EscrowCreate, EscrowResolveBody } from './ledger.schemas.js';

const ACTIONS: Array<{ action: EscrowAction; summary: string; description: string }> = [
  { action: 'deliver', summary: 'Report delivery (payee)', description: 'held -> delivered; starts the review window after which the escrow releases automatically.' },
  { action: 'release', summary: 'Release to the payee (payer)', description: 'held|delivered -> released, or a milestone: `amount` releases part and the escrow stays open.' },
  { action: 'refund', summary: 'Refund the payer (payee)', description: 'held|delivered -> refunded: the remaining amount returns to the payer.' },
  { action: 'dispute', summary: 'Open a dispute (either party)', description: 'held|delivered -> disputed; timers stop until the operator resolves it.' },
];

export async function escrowRoutes(fastify: FastifyInstance, opts: { escrow: EscrowService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { escrow } = opts;
  const tags = ['escrow'];
  /** The escrow as REST shows it, with its transitions. */
  const withEvents = async (e: EscrowView) => escrowJson(e, await escrow.events(e.id));

  app.post('/v1/escrows', {
    schema: {
      tags, summary: 'Open an escrow', headers: IdemHeader, body: EscrowCreate, security: AuthHeader,
      description: 'Moves `amount` from the caller\'s wallet into a new escrow account for `payee`. The payee delivers; the payer releases ' +
        '(in parts for milestones); after delivery the escrow releases automatically when the review window passes; an undelivered escrow ' +
        'refunds at `expiresAt`. Releases pay the payee minus the platform fee in one linked ledger step.',
      response: { 201: Escrow, 200: Escrow, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const { escrow: e, created } = await escrow.open({
      id: req.body.id, payerAgentId: requireAgent(req.principal), payeeAgentId: req.body.payee, amount: parseAmount(req.body.amount),
      reference: req.body.reference ?? null, expiresAt: req.body.expiresAt ? new Date(req.body.expiresAt) : null,
      reviewWindowMs: (req.body.reviewWindowSeconds ?? 86400) * 1000,
    }, req.principal);
    if (created) reply.code(201).header('location', `/v1/escrows/${e.id}`);
    return reply.send(await withEvents(e));
  });

  app.get('/v1/escrows/:id', {
    schema: {
      tags, summary: 'Get an escrow with its transitions', params: IdParams, security: AuthHeader,
      response: { 200: Escrow, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => withEvents(await escrow.getFor(req.principal, req.params.id)));

  for (const a of ACTIONS) {
    app.post(`/v1/escrows/:id/${a.action}`, {
      schema: {
        tags, summary: a.summary, description: `${a.description} Illegal transitions are 409 invalid_transition.`,
        params: IdParams, headers: IdemHeader, body: EscrowActionBody, security: AuthHeader,
        response: { 200: Escrow, ...errors(400, 401, 403, 404, 409) },
      },
      config: { auth: 'authenticated' },
    }, async (req) => {
      if (a.action !== 'release' && req.body.amount !== undefined) throw new AppError('validation_failed', `${a.action} takes no amount`);
      const amount = req.body.amount !== undefined ? parseAmount(req.body.amount) : undefined;
      return withEvents(await escrow.act(req.params.id, a.action, req.principal, { amount, reason: req.body.reason ?? null }));
    });
  }

  app.post('/v1/escrows/:id/resolve', {
    schema: {
      tags: [...tags, 'operator'], summary: 'Resolve a dispute (operator)', params: IdParams, headers: IdemHeader, body: EscrowResolveBody,
      security: AuthHeader, description: 'disputed -> resolved_release | resolved_refund | resolved_split (`payeeAmount` of the remaining to the payee, the rest refunded).',
      response: { 200: Escrow, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const { outcome } = req.body;
    if (outcome !== 'split' && req.body.payeeAmount !== undefined) throw new AppError('validation_failed', 'payeeAmount applies only to a split');
    return withEvents(await escrow.act(req.params.id, `resolve_${outcome}`, req.principal, {
      payeeAmount: req.body.payeeAmount !== undefined ? parseAmount(req.body.payeeAmount) : undefined, reason: req.body.reason ?? null,
    }));
  });
}
