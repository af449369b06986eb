/** TypeBox schemas of the reputation API. */
import { Type } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Metric = Type.Object({ value: Nullable(Type.Number()), observations: Type.Integer() });
const Components = Type.Object({
  performance: Type.Number({ description: '-200..200' }),
  transactions: Type.Number({ description: '-150..150' }),
  community: Type.Number({ description: '-100..100' }),
  reliability: Type.Number({ description: '-50..50' }),
  disputes: Type.Number({ description: '-50..50' }),
});

export const Reputation = Type.Object({
  agentId: Uuid,
  trustScore: Type.Integer({ minimum: 0, maximum: 1000, description: 'Published trust score (after the daily gain cap)' }),
  level: Type.String({ description: 'unrated, bronze, silver (600), gold (750), platinum (900)' }),
  performanceRating: Type.Object({ value: Nullable(Type.Number({ description: '0-5 stars' })), observations: Type.Integer() }),
  reliability: Type.Object({ value: Nullable(Type.Number({ description: '0-100 %' })), observations: Type.Integer() }),
  communityRating: Type.Object({ value: Nullable(Type.Number({ description: '0-5, trust-weighted Bayesian average' })), observations: Type.Integer() }),
  observations: Type.Integer(),
  raw: Type.Number({ description: 'Score before the daily gain cap' }),
  gainCapped: Type.Boolean(),
  components: Components,
  probe: Type.Boolean({ description: 'Whether the agent is one of the operator\'s probe agents (pre-trusted)' }),
  asOf: Timestamp,
});

export const Explanation = Type.Object({
  agentId: Uuid,
  at: Timestamp,
  score: Type.Number(),
  raw: Type.Number(),
  gainCapped: Type.Boolean(),
  probe: Type.Boolean(),
  components: Type.Array(Type.Object({
    name: Type.String(), value: Type.Number(), min: Type.Number(), max: Type.Number(),
    channels: Type.Record(Type.String(), Type.Unknown(), { description: 'Evidence behind the component: mass, mean, goodness, confidence, value per channel' }),
  })),
  counts: Nullable(Type.Record(Type.String(), Type.Integer())),
  discounted: Type.Record(Type.String(), Type.Integer(), { description: 'How many pieces of evidence were discounted, by reason' }),
  recent: Type.Array(Type.Object({
    at: Timestamp, type: Type.String(), counterparty: Type.Optional(Type.String({ description: 'Shown to the agent itself and the operator only' })),
    weight: Type.Number({ description: 'Weight the item received when it was applied' }),
    weightNow: Type.Optional(Type.Number({ description: 'Its producer\'s trust weight (0..1) in the current epoch: every epoch weighs evidence again' })),
    discounts: Type.Array(Type.String()),
  })),
  globalTrust: Type.Object({
    trust: Type.Number(), weight: Type.Number({ description: 'Weight (0..1) of the evidence this agent produces' }), preTrusted: Type.Boolean(),
    fundedAitbc: Type.Number({ description: 'Value (AITBC) the agent brought in from outside (deposits and mints less withdrawals): its share of the trust seed' }),
  }),
  sameOwner: Nullable(Type.Object({
    verdictId: Uuid, at: Timestamp, size: Type.Integer({ description: 'Number of agents in the cluster' }),
    members: Type.Optional(Type.Array(Uuid, { description: 'Shown to the agent itself and the operator only' })),
    signals: Type.Array(Type.String(), { description: 'Account links between members: shared_public_key, shared_funder, funded_by_member, registration_burst' }),
    internalShare: Type.Number({ description: 'The smallest share of a member\'s trades that stayed inside the cluster' }),
    tradesWithdrawn: Type.Integer({ description: 'Earlier trades between members whose credit the verdict withdrew' }),
  }, { description: 'The latest same-owner verdict the agent is part of: trades and ratings between members count for nothing' })),
  riskIntervention: Nullable(Type.Object({
    since: Timestamp,
    interventionIds: Type.Optional(Type.Array(Uuid, { description: 'Shown to the agent itself and the operator only' })),
  }, { description: 'The discount_evidence risk interventions in force on this agent: the evidence it produced counts for nothing' })),
  notes: Type.Array(Type.String()),
});

export const Snapshot = Type.Object({
  at: Timestamp, trustScore: Type.Integer(), raw: Type.Number(), level: Type.String(), components: Components, observations: Type.Integer(),
});
export const HistoryQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

export const RatingCreate = Type.Object({
  tradeId: Type.String({ minLength: 1, maxLength: 200, description: 'The trade (agreement) id' }),
  stars: Type.Integer({ minimum: 1, maximum: 5 }),
  comment: Type.Optional(Type.String({ maxLength: 2000 })),
}, { additionalProperties: false });
export const Rating = Type.Object({
  id: Uuid, tradeId: Type.String(), raterId: Uuid, rateeId: Uuid, stars: Type.Integer(), comment: Nullable(Type.String()), at: Timestamp,
});

const unit = Type.Number({ minimum: 0, maximum: 1 });
export const EvidenceCreate = Type.Union([
  Type.Object({
    type: Type.Literal('probe'), agentId: Uuid,
    probeId: Type.Optional(Uuid), responseMs: Type.Number({ minimum: 0, maximum: 3_600_000 }), available: Type.Boolean(),
    accuracy: Type.Number({ minimum: 0, maximum: 1, description: 'Accuracy on known-answer tasks, 0..1' }),
  }, { additionalProperties: false, description: 'A probe measurement (probe agents, or the operator naming the probe)' }),
  Type.Object({
    type: Type.Literal('community'), agentId: Uuid,
    kind: Type.Union([Type.Literal('forum'), Type.Literal('knowledge_sharing'), Type.Literal('mentorship'), Type.Literal('voting')]),
  }, { additionalProperties: false, description: 'A community action (operator or integration)' }),
  Type.Object({
    type: Type.Literal('reliability'), agentId: Uuid,
    kind: Type.Union([Type.Literal('uptime'), Type.Literal('maintenance'), Type.Literal('security'), Type.Literal('backup')]),
    value: unit,
  }, { additionalProperties: false, description: 'A reliability attestation, 0..1 (1 = fully compliant) (operator or integration): security and backup standards only; uptime and maintenance come from heartbeats and maintenance windows (422 here)' }),
]);
export const EvidenceCreated = Type.Object({ id: Uuid, type: Type.String(), agentId: Uuid, producerId: Nullable(Uuid), at: Timestamp });

export const LeaderboardQuery = Type.Object({
  category: Type.Optional(Type.String({ maxLength: 100 })),
  region: Type.Optional(Type.String({ maxLength: 100 })),
  ...PageQuery,
}, { additionalProperties: false });
export const LeaderboardEntry = Type.Object({
  rank: Type.Integer(), agentId: Uuid, displayName: Type.String(), region: Type.String(), categories: Type.Array(Type.String()),
  trustScore: Type.Integer(), level: Type.String(), observations: Type.Integer(),
  certificationLevel: Type.Union([Type.String(), Type.Null()], { description: 'The live certification level (GET /v1/agents/{id}/certifications); null: none' }),
  badges: Type.Integer({ description: 'Badges earned (GET /v1/agents/{id}/badges)' }),
});
export const Probes = Type.Object({ data: Type.Array(Uuid) });

export const EpochRun = Type.Object({
  id: Uuid,
  at: Timestamp,
  computed: Type.Boolean({ description: 'false when nothing changed since the last epoch (the trust vector is unchanged)' }),
  epochs: Type.Integer({ description: 'Global-trust epochs this process\'s engine has computed' }),
  agents: Type.Integer(),
  edges: Type.Integer({ description: 'Trust-graph edges (settled trades, probe measurements, ratings)' }),
  trustedAgents: Type.Integer({ description: 'Agents with global trust > 0' }),
  trustReference: Nullable(Type.Number({ description: 'Trust at which a producer\'s evidence has full weight (null: nobody trusted)' })),
  seed: Type.Object({
    preTrusted: Type.Integer({ description: 'Probe and verifier agents' }),
    funded: Type.Integer({ description: 'Agents that brought value in from outside' }),
    fundedAitbc: Type.String({ description: 'Their value in AITBC (decimal), net of withdrawals' }),
  }),
  fundingReports: Type.Integer({ description: 'Funding reports recorded from the ledger before the epoch' }),
}, { description: 'The epoch recorded in the evidence log; every piece of evidence was weighed again with its producer\'s new trust' });
