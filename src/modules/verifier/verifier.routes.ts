/** The operator's view of the built-in verifier: configuration, budget and spend, funding, and a run now. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdemHeader, errors } from '../../platform/http/schemas.js';
import { AppError } from '../../platform/http/errors.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import { rejectionError, transferJson, TransferSchema as Transfer } from '../ledger/ledger.port.js';
import type { VerifierConfig, VerifierService } from './verifier.service.js';
import { BudgetQuery, BudgetSchema, FundBody, RunBody, RunResult, VerifierConfigPatch, VerifierConfigSchema } from './verifier.schemas.js';

const tags = ['verifier', 'operator'];

export async function verifierRoutes(fastify: FastifyInstance, opts: { verifier: VerifierService; intervalSeconds: number }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { verifier } = opts;

  const configJson = async (c: VerifierConfig) => {
    const id = await verifier.ensure();
    return { ...c, maxPrice: formatAmount(c.maxPrice), dailyBudget: formatAmount(c.dailyBudget), intervalSeconds: opts.intervalSeconds, agentId: id.buyerId, probeId: id.probeId };
  };

  app.get('/v1/admin/verifier', {
    schema: {
      tags, summary: 'The verifier\'s configuration (operator)', security: AuthHeader,
      description: 'The built-in verifier buys small challenge jobs from sellers through the ordinary trade flow and records probe evidence ' +
        '(docs/decisions.md, "The built-in verifier"). `agentId` is its buyer (an ordinary-looking consumer), `probeId` the pre-trusted probe in whose name it records measurements.',
      response: { 200: VerifierConfigSchema, ...errors(401, 403) },
    },
    config: { auth: 'admin' },
  }, async () => configJson(await verifier.config()));

  app.put('/v1/admin/verifier', {
    schema: {
      tags, summary: 'Change the verifier\'s configuration (operator)', headers: IdemHeader, body: VerifierConfigPatch, security: AuthHeader,
      description: 'Rate (challengesPerRun), budget (dailyBudget, maxPrice, feeShareBps) and selection (cooldownHours, thinObservations, thinCooldownHours). Overrides the VERIFIER_* defaults.',
      response: { 200: VerifierConfigSchema, ...errors(400, 401, 403) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const b = req.body;
    const amount = (field: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const x = parseAmount(v);
      if (x <= 0n) throw new AppError('validation_failed', `${field} must be greater than zero`, { errors: [{ field, message: 'must be greater than zero' }] });
      return x;
    };
    return configJson(await verifier.updateConfig({
      ...b, maxPrice: amount('body.maxPrice', b.maxPrice), dailyBudget: b.dailyBudget !== undefined ? parseAmount(b.dailyBudget) : undefined,
    } as Partial<VerifierConfig>));
  });

  app.get('/v1/admin/verifier/budget', {
    schema: {
      tags, summary: 'The verifier\'s budget and spend history (operator)', querystring: BudgetQuery, security: AuthHeader,
      description: 'The budget wallet\'s balance (the ledger\'s), what is reserved and committed, the fee share swept, challenges by state, the latest challenges and ledger entries.',
      response: { 200: BudgetSchema, ...errors(400, 401, 403) },
    },
    config: { auth: 'admin' },
  }, async (req) => verifier.budget(req.query.limit ?? 50));

  app.post('/v1/admin/verifier/fund', {
    schema: {
      tags, summary: 'Fund the verifier\'s budget (operator)', headers: IdemHeader, body: FundBody, security: AuthHeader,
      description: 'Credits the verifier\'s wallet: minted from the treasury (as POST /v1/admin/mint) or moved out of the fee account (422 insufficient_funds when it holds less).',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 409, 422) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => {
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero', { errors: [{ field: 'body.amount', message: 'must be greater than zero' }] });
    const o = await verifier.fund({ amount, id: req.body.id, source: req.body.source ?? 'mint', memo: req.body.memo });
    if (o.status === 'rejected') throw rejectionError(o.code);
    return reply.code(o.status === 'created' ? 201 : 200).send(transferJson(o.transfer));
  });

  app.post('/v1/admin/verifier/run', {
    schema: {
      tags, summary: 'Run the verifier now (operator)', headers: IdemHeader, body: RunBody, security: AuthHeader,
      description: 'One pass, as the background job does: moves the challenges in flight on (funds agreed ones, checks deliveries, confirms or rejects, ' +
        'records probe evidence), then starts new ones within the budget (newcomers first, then a weighted sample). Runs even when `enabled` is false.',
      response: { 200: RunResult, ...errors(400, 401, 403) },
    },
    config: { auth: 'admin' },
  }, async (req) => verifier.run({ sellerIds: req.body.sellerIds }));
}
