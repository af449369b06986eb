/** TypeBox schemas of the rewards API. Amounts are AITBC decimal strings; bonuses are fractions (0.25 = +25 %). */
import { Type, type TSchema } from 'typebox';
import { Amount, Timestamp, Uuid } from '../../platform/http/schemas.js';

const Nullable = <T extends TSchema>(t: T, opts: { description?: string } = {}) => Type.Union([t, Type.Null()], opts);
const Bps = (description: string) => Type.Integer({ minimum: 0, maximum: 10_000, description });
const Fraction = (description: string) => Type.Number({ minimum: 0, maximum: 10, description });

export const ProgramParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9][a-z0-9-]*$', errorMessage: 'must be a program id: lower-case letters, digits and dashes', description: 'Program id, e.g. "default"' }),
}, { additionalProperties: false });

const TierSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9_-]*$', errorMessage: 'must be a tier name such as "gold"' }),
  minTrust: Type.Integer({ minimum: 0, maximum: 1000, description: 'Trust score (0-1000) from which the tier applies' }),
  multiplier: Type.Number({ minimum: 0, maximum: 10, description: 'Reward multiplier' }),
  feeDiscountBps: Bps('Platform-fee discount at settlement for a seller of this tier (bps of the fee)'),
  maxOpenAgreements: Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }), { description: 'Concurrent open agreements a seller of this tier may hold (null: no limit)' }),
}, { additionalProperties: false });

const ConfigFields = {
  epochMs: Type.Integer({ minimum: 60_000, maximum: 31 * 86_400_000, description: 'Epoch length in ms (default one day)' }),
  tiers: Type.Array(TierSchema, { minItems: 1, maxItems: 8, description: 'Ascending by minTrust, the first at 0; add a fifth (diamond) as you wish' }),
  sellerWeightBps: Bps('Base points per unit of counted sales (bps)'),
  buyerWeightBps: Bps('Base points per unit of counted purchases (bps)'),
  performance: Type.Object({
    latencyMs: Type.Number({ minimum: 0, maximum: 600_000 }), latencyBonus: Fraction('Bonus when the measured mean latency is below latencyMs'),
    accuracy: Type.Number({ minimum: 0, maximum: 1 }), accuracyBonus: Fraction('Bonus when measured accuracy is above accuracy'),
    availability: Type.Number({ minimum: 0, maximum: 1 }), availabilityBonus: Fraction('Bonus when platform-measured uptime is above availability'),
    successRate: Type.Number({ minimum: 0, maximum: 1 }), successBonus: Fraction('Bonus when the success rate as seller is above successRate'),
    minTrades: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  }, { additionalProperties: false }),
  loyalty: Type.Object({
    tenureDays: Type.Integer({ minimum: 1, maximum: 36_500 }), tenureBonus: Fraction('Bonus at tenureDays since registration (linear before)'),
    streakStep: Fraction('Bonus per consecutive active epoch before this one'), streakMax: Fraction('Most streak bonus'),
    repeatStep: Fraction('Bonus per independent repeat customer'), repeatMax: Fraction('Most repeat-customer bonus'),
  }, { additionalProperties: false }),
  supplyBonus: Fraction('Bonus on sales in cells where open demand exceeds open supply'),
  funding: Type.Object({
    feeShareBps: Bps('Share of every platform fee paid into the reward pool at settlement (bps of the fee)'),
    epochBudget: Nullable(Amount, { description: 'Most one epoch may pay (null: no fixed limit)' }),
    poolShareBps: Bps('Share of the pool (less what closed epochs still owe) one epoch may pay'),
  }, { additionalProperties: false }),
  caps: Type.Object({
    feeRebateBps: Type.Integer({ minimum: 0, maximum: 4_999, description: 'An agent earns at most this share of the platform fees of its counted trades (below 5000: a trade\'s two sides earn less than its fee)' }),
    agentShareBps: Bps('An agent earns at most this share of the epoch'),
    clusterShareBps: Bps('An owner cluster earns at most this share of the epoch'),
  }, { additionalProperties: false }),
  referral: Type.Object({
    amount: Amount, minTrust: Type.Integer({ minimum: 0, maximum: 1000 }), maxPerReferrer: Type.Integer({ minimum: 0, maximum: 10_000 }),
  }, { additionalProperties: false }),
  autoDistribute: Type.Boolean({ description: 'Pay when the job closes an epoch (false: the operator previews and distributes)' }),
};

export const ProgramBody = Type.Partial(Type.Object({
  ...ConfigFields,
  performance: Type.Partial(ConfigFields.performance),
  loyalty: Type.Partial(ConfigFields.loyalty),
  funding: Type.Partial(ConfigFields.funding),
  caps: Type.Partial(ConfigFields.caps),
  referral: Type.Partial(ConfigFields.referral),
}), { additionalProperties: false });

export const ProgramSchema = Type.Object({ id: Type.String(), version: Type.Integer(), createdAt: Timestamp, ...ConfigFields });
export const ProgramList = Type.Object({ data: Type.Array(ProgramSchema) });

const EpochFields = {
  id: Uuid, programId: Type.String(), programVersion: Type.Integer({ description: 'The program version in force when the epoch opened' }), number: Type.Integer(),
  startsAt: Timestamp, endsAt: Timestamp, status: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('distributed')]),
  poolBalance: Nullable(Amount, { description: 'The reward pool at close' }), budget: Nullable(Amount, { description: 'What the epoch could pay' }),
  demand: Nullable(Amount, { description: 'What the statements asked before scaling and caps' }), paid: Nullable(Amount, { description: 'What the payable statements pay' }),
  held: Nullable(Amount, { description: 'Computed for agents under review: kept in the pool' }), capped: Nullable(Amount, { description: 'Cut by the per-agent and per-cluster caps: kept in the pool' }),
  remainderUnits: Nullable(Type.Integer(), { description: 'Base units assigned by the largest-remainder rule when scaling' }),
  scalePpm: Nullable(Type.Integer(), { description: 'Scaling factor in parts per million (1000000: not scaled)' }), agents: Nullable(Type.Integer()),
  closedAt: Nullable(Timestamp), distributedAt: Nullable(Timestamp),
};
export const EpochSchema = Type.Object(EpochFields);
export const EpochList = Type.Object({ data: Type.Array(EpochSchema), nextCursor: Nullable(Type.String()) });
export const EpochQuery = Type.Object({
  programId: Type.Optional(ProgramParams.properties.id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 20, pattern: '^[0-9]{1,9}$', errorMessage: 'must be the nextCursor of a previous page' })),
}, { additionalProperties: false });

export const EpochDetail = Type.Object({
  ...EpochFields,
  poolBalanceNow: Amount,
  budgetRule: Type.Object({ epochBudget: Nullable(Amount), poolShareBps: Type.Integer() }),
  statements: Type.Array(Type.Object({ status: Type.String(), count: Type.Integer(), amount: Amount })),
  tiers: Type.Array(Type.Object({ tier: Type.String(), agents: Type.Integer(), amount: Amount }), { description: 'Agents with a statement, by tier at the close' }),
});

const StatementDetail = Type.Record(Type.String(), Type.Unknown(), { description: 'Every factor: base, tier, trust, multiplier, performance, loyalty, supply bonus, raw, eligible, scaled, amount, notes' });
export const PreviewSchema = Type.Object({
  epoch: EpochSchema, asOf: Timestamp, stored: Type.Boolean({ description: 'false: an open epoch computed as of now (nothing stored)' }),
  poolBalance: Nullable(Amount), budget: Nullable(Amount), demand: Nullable(Amount), paid: Nullable(Amount), held: Nullable(Amount), capped: Nullable(Amount),
  remainderUnits: Nullable(Type.Integer()), scalePpm: Nullable(Type.Integer()), agents: Nullable(Type.Integer()), trades: Nullable(Type.Integer()),
  uncounted: Nullable(Type.Record(Type.String(), Type.Integer()), { description: 'Trades that count nothing, by reason' }),
  statements: Type.Array(Type.Object({ agentId: Uuid, amount: Amount, status: Type.String(), detail: StatementDetail })),
});
export const DistributeSchema = Type.Object({
  epoch: EpochSchema, created: Type.Integer({ description: 'Transfers created by this call' }), existing: Type.Integer({ description: 'Transfers that existed already (a re-run pays nothing twice)' }),
  rejected: Type.Integer(), paid: Amount,
});
export const HeldStateSchema = Type.Union([Type.Literal('held'), Type.Literal('released'), Type.Literal('forfeited')]);
export const HoldSchema = Type.Object({
  state: HeldStateSchema, heldAt: Nullable(Timestamp, { description: 'The epoch\'s close: held from then' }),
  decidedAt: Nullable(Timestamp), decidedBy: Nullable(Type.String()), reason: Nullable(Type.String()),
});
export const AgentRewardsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false });
export const AgentRewards = Type.Object({
  agentId: Uuid,
  tier: Type.Object({ name: Type.String(), trust: Nullable(Type.Integer()), multiplier: Type.Number(), feeDiscountBps: Type.Integer(), maxOpenAgreements: Nullable(Type.Integer()), asOfEpoch: Nullable(Uuid) }),
  totalPaid: Amount,
  totalHeld: Amount,
  statements: Type.Array(Type.Object({
    epochId: Uuid, number: Type.Integer(), programId: Type.String(), programVersion: Type.Integer(), startsAt: Timestamp, endsAt: Timestamp, amount: Amount,
    status: Type.String(), tier: Type.String(), trust: Type.Integer(), transferId: Nullable(Uuid), paidAt: Nullable(Timestamp), detail: StatementDetail,
    hold: Nullable(HoldSchema, { description: 'Only for a statement held under risk review: its state and decision' }),
  })),
  referrals: Type.Array(Type.Object({ referredId: Uuid, createdAt: Timestamp, paidAt: Nullable(Timestamp), epochId: Nullable(Uuid) })),
});
export const GrantBody = Type.Object({ amount: Amount, memo: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export const GrantSchema = Type.Object({ transferId: Uuid, amount: Amount, poolBalance: Amount });
export const RoyaltiesBody = Type.Object({
  recipients: Type.Array(Type.Object({
    agentId: Uuid, bps: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Share of the seller\'s net (after the fee), bps' }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9_-]*$', errorMessage: 'must be a short word such as "royalty"' })),
  }, { additionalProperties: false }), { maxItems: 10 }),
}, { additionalProperties: false });
export const RoyaltiesSchema = Type.Object({ listingId: Uuid, recipients: Type.Array(Type.Object({ agentId: Uuid, bps: Type.Integer(), reason: Type.String() })) });
export const ReferrerBody = Type.Object({ referrerId: Uuid }, { additionalProperties: false });
export const ReferralSchema = Type.Object({ referredId: Uuid, referrerId: Uuid, createdAt: Timestamp, paidAt: Nullable(Timestamp) });
