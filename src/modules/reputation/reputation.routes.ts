import type { FastifyInstance } from 'fastify';
import type { LeaderboardExtras } from './reputation.deps.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader, IdParams, Page, errors, IdemHeader } from '../../platform/http/schemas.js';
import { AppError } from '../../platform/http/errors.js';
import { formatAmount } from '../../platform/money.js';
import { requireAgent, seesPrivateOf } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { ratingJson, type ReputationService } from './reputation.service.js';
import {
  EpochRun, EvidenceCreate, EvidenceCreated, Explanation, HistoryQuery, LeaderboardEntry, LeaderboardQuery, Probes, Rating, RatingCreate, Reputation, Snapshot,
} from './reputation.schemas.js';

const iso = (ms: number | Date) => new Date(ms).toISOString();
/** AITBC as a decimal string (the engine holds funded value as a number of AITBC). */
const formatAitbc = (x: number): string => formatAmount(BigInt(Math.round(x * 1e8)));

export async function reputationRoutes(fastify: FastifyInstance, opts: { reputation: ReputationService; extras?: LeaderboardExtras | undefined }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { reputation } = opts;
  const tags = ['reputation'];

  app.get('/v1/agents/:id/reputation', {
    schema: {
      tags, summary: 'Trust score and published metrics', params: IdParams,
      description: 'Trust score 0-1000 (five components: performance +-200, transactions +-150, community +-100, reliability +-50, disputes +-50), ' +
        'level, performance rating (0-5), reliability (0-100%), community rating (0-5), each with its number of observations.',
      response: { 200: Reputation, ...errors(400, 404) },
    },
  }, async (req) => {
    const v = await reputation.reputation(req.params.id);
    return { ...v, asOf: v.asOf.toISOString() };
  });

  app.get('/v1/agents/:id/reputation/explain', {
    schema: {
      tags, summary: 'Why the score is what it is', params: IdParams,
      description: 'Each component with the evidence behind it (mass, mean, confidence per channel), counts, recent items and what was discounted ' +
        'and why. Counterparties of recent items are shown to the agent itself and the operator only.',
      response: { 200: Explanation, ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const x = await reputation.explain(req.params.id, seesPrivateOf(req.principal, req.params.id));
    return {
      ...x, at: iso(x.at), counts: x.counts ? { ...x.counts } : null, discounted: { ...x.discounted },
      recent: x.recent.map((r) => ({ ...r, at: iso(r.at), discounts: [...r.discounts] })),
      components: x.components.map((c) => ({ ...c, channels: { ...c.channels } })), notes: [...x.notes],
      riskIntervention: x.riskIntervention === null ? null : { ...x.riskIntervention, since: x.riskIntervention.since.toISOString() },
      sameOwner: x.sameOwner === null ? null : (({ members, ...o }) => ({
        ...o, at: iso(o.at), signals: [...o.signals], ...(members ? { members: [...members] } : {}),
      }))(x.sameOwner),
    };
  });

  app.get('/v1/agents/:id/reputation/history', {
    schema: {
      tags, summary: 'Score history', params: IdParams, querystring: HistoryQuery,
      description: 'Score snapshots, newest first (at most one per hour: the latest value in that hour). Keyset pagination.',
      response: { 200: Page(Snapshot), ...errors(400, 404) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor, 1);
    let before: Date | undefined;
    if (after) {
      before = new Date(String(after[0]));
      if (Number.isNaN(before.getTime())) throw new AppError('validation_failed', 'cursor is not valid');
    }
    const rows = await reputation.history(req.params.id, before, limit + 1);
    const page = rows.slice(0, limit);
    return {
      data: page.map((r) => ({ at: r.at.toISOString(), trustScore: r.score, raw: r.raw, level: r.level, components: r.components as never, observations: r.observations })),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1]!.at.toISOString()]) : null,
    };
  });

  app.post('/v1/ratings', {
    schema: {
      tags, summary: 'Rate the other party of a trade', headers: IdemHeader, body: RatingCreate, security: AuthHeader,
      description: 'One rating per trade and side, only by a party of a trade whose outcome has been recorded (settled or failed). ' +
        'A rating that contradicts the measured outcome counts only as far as the outcome allows; ratings weigh by the rater\'s global trust.',
      response: { 201: Rating, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const rater = requireAgent(req.principal);
    const r = await reputation.rate(rater, req.body);
    return reply.code(201).send(ratingJson(r));
  });

  app.post('/v1/evidence', {
    schema: {
      tags, summary: 'Report evidence (operator and probe agents)', headers: IdemHeader, body: EvidenceCreate, security: AuthHeader,
      description: 'Probe measurements from the operator\'s probe agents (or the operator naming the probe); community actions from the operator ' +
        'or an integration using the operator key. The operator attests only security and backup standards (`reliability` with kind `security` or ' +
        '`backup`); uptime and maintenance compliance are measured by the platform from heartbeats and declared maintenance windows ' +
        '(POST /v1/agents/{id}/heartbeat, PUT /v1/agents/{id}/maintenance-windows, GET /v1/agents/{id}/availability), and an `uptime` or ' +
        '`maintenance` attestation is refused (422). Trade and dispute outcomes come from settlement, ratings from POST /v1/ratings.',
      response: { 201: EvidenceCreated, ...errors(400, 401, 403, 404, 422) },
    },
    config: { auth: 'authenticated' },
  }, async (req, reply) => {
    const p = req.principal;
    const actor = p.kind === 'admin' ? { kind: 'admin' as const } : { kind: 'agent' as const, agentId: requireAgent(p) };
    const out = await reputation.submitEvidence(actor, req.body);
    return reply.code(201).send({ ...out, at: out.at.toISOString() });
  });

  app.get('/v1/leaderboard', {
    schema: {
      tags, summary: 'Leaderboard by trust score', querystring: LeaderboardQuery,
      description: 'Active agents by trust score (ties by id), optionally filtered by service category and region. Keyset pagination.',
      response: { 200: Page(LeaderboardEntry), ...errors(400) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor, 2);
    const all = await reputation.leaderboard({ category: req.query.category, region: req.query.region });
    let start = 0;
    if (after) {
      const [score, id] = after as [number, string];
      if (typeof score !== 'number' || typeof id !== 'string') throw new AppError('validation_failed', 'cursor is not valid');
      start = all.findIndex((e) => e.trustScore < score || (e.trustScore === score && e.agentId > id));
      if (start === -1) start = all.length;
    }
    const page = all.slice(start, start + limit);
    const last = page[page.length - 1];
    const extra = opts.extras ? await opts.extras(page.map((e) => e.agentId)) : new Map<string, { certificationLevel: string | null; badges: number }>();
    return { data: page.map((e) => ({ ...e, certificationLevel: extra.get(e.agentId)?.certificationLevel ?? null, badges: extra.get(e.agentId)?.badges ?? 0 })), nextCursor: start + limit < all.length && last ? encodeCursor([last.trustScore, last.agentId]) : null };
  });

  app.post('/v1/admin/reputation/epoch', {
    schema: {
      tags: [...tags, 'admin'], summary: 'Run a global-trust epoch now (operator)', headers: IdemHeader, security: AuthHeader,
      description: 'Records the externally funded value that changed (the trust seed, read from the ledger), then a trust epoch in the evidence ' +
        'log, and computes it: EigenTrust from the seed (probe and verifier agents, and agents that brought value in from outside), after which ' +
        'every piece of evidence is weighed again with its producer\'s new trust. Without this call an epoch runs hourly (when evidence changed) ' +
        'and at the first evidence of each day. The response says what was computed.',
      response: { 201: EpochRun, ...errors(401, 403) },
    },
    config: { auth: 'admin' },
  }, async (_req, reply) => {
    const r = await reputation.runEpoch();
    return reply.code(201).send({
      ...r, at: r.at.toISOString(),
      seed: { preTrusted: r.seed.preTrusted, funded: r.seed.funded, fundedAitbc: formatAitbc(r.seed.fundedAitbc) },
    });
  });

  app.get('/v1/reputation/probes', {
    schema: { tags, summary: 'The operator\'s probe agents', description: 'Probe agents are the pre-trusted seed of the trust graph.', response: { 200: Probes } },
  }, async () => ({ data: await reputation.probes() }));

  app.put('/v1/reputation/probes/:id', {
    schema: {
      tags, summary: 'Mark an agent as a probe agent (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      response: { 200: Probes, 201: Probes, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => {
    const added = await reputation.addProbe(req.params.id);
    return reply.code(added ? 201 : 200).send({ data: await reputation.probes() });
  });

  app.delete('/v1/reputation/probes/:id', {
    schema: {
      tags, summary: 'Remove a probe agent (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      response: { 200: Probes, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    if (!(await reputation.removeProbe(req.params.id))) throw new AppError('not_found', `agent ${req.params.id} is not a probe agent`);
    return { data: await reputation.probes() };
  });
}
