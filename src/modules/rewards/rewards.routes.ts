import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, IdemHeader, errors } from '../../platform/http/schemas.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import type { RewardsService } from './rewards.service.js';
import { amt, epochJson, programJson, programPatch } from './rewards.json.js';
import {
  AgentRewards, AgentRewardsQuery, DistributeSchema, EpochDetail, EpochList, EpochQuery, EpochSchema, GrantBody, GrantSchema, PreviewSchema, ProgramBody,
  ProgramList, ProgramParams, ProgramSchema, ReferralSchema, ReferrerBody, RoyaltiesBody, RoyaltiesSchema,
} from './rewards.schemas.js';

export async function rewardsRoutes(fastify: FastifyInstance, opts: { rewards: RewardsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { rewards } = opts;
  const tags = ['rewards'];
  const formula = 'reward = base x tier multiplier x (1 + performance bonus) x (1 + loyalty bonus) x (1 + supply bonus), where base is the counted ' +
    '(settled, not same-owner, not circular) trade value as seller and buyer; capped at caps.feeRebateBps of the platform fees of the agent\'s counted trades, ' +
    'scaled pro rata to the budget (largest remainder, ties to the smaller agent id), then capped per agent and per owner cluster as a share of the epoch.';

  app.get('/v1/rewards/programs', {
    schema: { tags, summary: 'Reward programs (current versions)', description: `Tiers, weights, bonuses, funding and caps of each program. ${formula} Public.`, response: { 200: ProgramList } },
  }, async () => ({ data: (await rewards.listPrograms()).map(programJson) }));

  app.put('/v1/admin/rewards/programs/:id', {
    schema: {
      tags, summary: 'Configure a reward program (operator)', params: ProgramParams, headers: IdemHeader, body: ProgramBody, security: AuthHeader,
      description: 'Creates the next version of an existing program (today: default); fields left out keep their values. An epoch is computed with the version in force when it opened: the open epoch keeps its version, the next one takes this.',
      response: { 200: ProgramSchema, ...errors(400, 401, 403, 404, 409, 413, 415) },
    },
    config: { auth: 'admin' },
  }, async (req) => programJson(await rewards.putProgram(req.params.id, programPatch(req.body as Record<string, unknown>))));

  app.get('/v1/rewards/epochs', {
    schema: { tags, summary: 'Reward epochs, newest first', querystring: EpochQuery, description: 'Each epoch with its budget, the pool at close and its totals. Public.', response: { 200: EpochList, ...errors(400) } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const data = await rewards.listEpochs({ programId: req.query.programId, before: req.query.cursor === undefined ? undefined : Number(req.query.cursor), limit });
    return { data: data.map(epochJson), nextCursor: data.length === limit ? String(data[data.length - 1]!.number) : null };
  });

  app.get('/v1/rewards/epochs/:id', {
    schema: {
      tags, summary: 'One epoch: totals, pool balance and budget, tiers', params: IdParams,
      description: 'The epoch\'s report: pool balance at close and now, the budget and its rule, what was paid, held and capped, statements by status and agents by tier. Aggregates only: public.',
      response: { 200: EpochDetail, ...errors(400, 404) },
    },
  }, async (req) => {
    const d = await rewards.epochDetail(req.params.id);
    return {
      ...epochJson(d), poolBalanceNow: formatAmount(d.poolBalanceNow), budgetRule: { epochBudget: amt(d.budgetRule.epochBudget), poolShareBps: d.budgetRule.poolShareBps },
      statements: d.statements.map((s) => ({ ...s, amount: formatAmount(s.amount) })), tiers: d.tiers.map((t) => ({ ...t, amount: formatAmount(t.amount) })),
    };
  });

  for (const action of ['close', 'preview', 'distribute'] as const) {
    const summary = { close: 'Close an open epoch now (operator)', preview: 'Preview what an epoch pays (operator)', distribute: 'Pay a closed epoch (operator)' }[action];
    const description = {
      close: 'Computes the epoch from its evidence up to now with its program version, stores every agent\'s statement and opens the next epoch. 409 when it is not open.',
      preview: 'An open epoch computed as of now (nothing stored), or a closed one as stored: totals and the largest statements with every factor.',
      distribute: 'Pays the payable statements from the reward pool (system:rewards) in ledger batches with transfer ids derived from the epoch, its program version and the agent: a re-run, a crash half-way or two processes at once pay each agent once. Held agents are not paid. 409 when the epoch is open.',
    }[action];
    app.post(`/v1/admin/rewards/epochs/:id/${action}`, {
      schema: {
        tags, summary, description, params: IdParams, headers: IdemHeader, security: AuthHeader,
        response: { 200: action === 'close' ? EpochSchema : action === 'preview' ? PreviewSchema : DistributeSchema, ...errors(400, 401, 403, 404, 409) },
      },
      config: { auth: 'admin' },
    }, async (req) => {
      if (action === 'close') return epochJson(await rewards.close(req.params.id, { early: true }));
      if (action === 'distribute') {
        const r = await rewards.distribute(req.params.id);
        return { epoch: epochJson(r.epoch), created: r.created, existing: r.existing, rejected: r.rejected, paid: formatAmount(r.paid) };
      }
      const p = await rewards.preview(req.params.id);
      return {
        ...p, epoch: epochJson(p.epoch), asOf: p.asOf.toISOString(), poolBalance: amt(p.poolBalance), budget: amt(p.budget), demand: amt(p.demand), paid: amt(p.paid),
        held: amt(p.held), capped: amt(p.capped), remainderUnits: p.remainderUnits === null ? null : Number(p.remainderUnits),
        statements: p.statements.map((s) => ({ ...s, amount: formatAmount(s.amount) })),
      };
    });
  }

  app.post('/v1/admin/rewards/grants', {
    schema: {
      tags, summary: 'Grant tokens to the reward pool (operator)', headers: IdemHeader, body: GrantBody, security: AuthHeader,
      description: 'Moves the amount from the treasury into the reward pool (system:rewards), beside the fee share every settlement pays into it.',
      response: { 200: GrantSchema, ...errors(400, 401, 403, 413, 415) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const r = await rewards.grant(parseAmount(req.body.amount), req.body.memo ?? null);
    return { transferId: r.transferId, amount: formatAmount(r.amount), poolBalance: formatAmount(r.poolBalance) };
  });

  app.get('/v1/agents/:id/rewards', {
    schema: {
      tags, summary: 'An agent\'s reward statements, tier and referrals (the agent itself and the operator)', params: IdParams, querystring: AgentRewardsQuery, security: AuthHeader,
      description: `Each epoch's statement explains every factor. ${formula} A statement held while the agent was under risk review shows hold: held since the close, then released (paid) or forfeited (kept by the pool), when, by whom and why. Paid rewards are also ledger transfers (code reward) in the wallet history and the stream.`,
      response: { 200: AgentRewards, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const r = await rewards.agentRewards(req.principal, req.params.id, req.query.limit ?? 50);
    return {
      ...r, totalPaid: formatAmount(r.totalPaid), totalHeld: formatAmount(r.totalHeld),
      statements: r.statements.map((s) => ({
        ...s, amount: formatAmount(s.amount), startsAt: s.startsAt.toISOString(), endsAt: s.endsAt.toISOString(), paidAt: s.paidAt?.toISOString() ?? null,
        hold: s.hold && { ...s.hold, state: s.hold.state as 'held' | 'released' | 'forfeited', heldAt: s.hold.heldAt?.toISOString() ?? null, decidedAt: s.hold.decidedAt?.toISOString() ?? null },
      })),
      referrals: r.referrals.map((x) => ({ ...x, createdAt: x.createdAt.toISOString(), paidAt: x.paidAt?.toISOString() ?? null })),
    };
  });

  app.put('/v1/agents/:id/referrer', {
    schema: {
      tags, summary: 'Name who referred this agent (the agent itself, once, within 7 days of registering)', params: IdParams, headers: IdemHeader, body: ReferrerBody, security: AuthHeader,
      description: 'The referrer receives the program\'s referral reward in the first epoch closed after this agent\'s trust reaches referral.minTrust, at most referral.maxPerReferrer times.',
      response: { 200: ReferralSchema, ...errors(400, 401, 403, 409, 413, 415, 422) },
    },
    config: { auth: 'agent' },
  }, async (req) => {
    const r = await rewards.setReferrer(req.principal, req.params.id, req.body.referrerId);
    return { ...r, createdAt: r.createdAt.toISOString(), paidAt: r.paidAt?.toISOString() ?? null };
  });

  app.get('/v1/listings/:id/royalties', {
    schema: { tags, summary: 'Royalty recipients of a listing', params: IdParams, description: 'Shares (bps of the seller\'s net) paid to each recipient at every settlement of the listing. Public.', response: { 200: RoyaltiesSchema, ...errors(400) } },
  }, async (req) => rewards.royalties(req.params.id));

  app.put('/v1/listings/:id/royalties', {
    schema: {
      tags, summary: 'Name a listing\'s royalty recipients (its seller)', params: IdParams, headers: IdemHeader, body: RoyaltiesBody, security: AuthHeader,
      description: 'Replaces the recipients. At each release of an agreement on the listing, each recipient receives its bps of the seller\'s net (after the fee), rounded down; the rounding remainder stays with the seller. All legs are one linked ledger step.',
      response: { 200: RoyaltiesSchema, ...errors(400, 401, 403, 404, 413, 415) },
    },
    config: { auth: 'agent' },
  }, async (req) => rewards.setRoyalties(req.principal, req.params.id, req.body.recipients));
}
