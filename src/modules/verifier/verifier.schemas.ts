/** TypeBox schemas of the verifier's operator API (/v1/admin/verifier). Amounts are AITBC decimal strings. */
import { Type } from 'typebox';
import { Amount, Timestamp, Uuid } from '../../platform/http/schemas.js';

const ConfigFields = {
  enabled: Type.Boolean({ description: 'Whether the background run starts challenges (POST /v1/admin/verifier/run always runs)' }),
  challengesPerRun: Type.Integer({ minimum: 0, maximum: 1000, description: 'Challenges started per run at most' }),
  maxPrice: Amount,
  dailyBudget: Amount,
  feeShareBps: Type.Integer({ minimum: 0, maximum: 10_000, description: 'Share of all platform fees swept into the budget (basis points)' }),
  cooldownHours: Type.Integer({ minimum: 0, maximum: 8760, description: 'Least time between two challenges of one seller' }),
  thinObservations: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'A record with fewer observations is thin and challenged more often' }),
  thinCooldownHours: Type.Integer({ minimum: -1, maximum: 8760, description: 'Least time between two challenges of a seller whose record is thin; when set, thin records are topped up first, after newcomers, most uncertain first (-1, the default: off)' }),
  deadlineMinutes: Type.Integer({ minimum: 5, maximum: 10_080, description: 'Delivery deadline of a challenge, from its start' }),
};

export const VerifierConfigSchema = Type.Object({
  ...ConfigFields,
  maxPrice: Type.String({ description: 'Most paid for one challenge (AITBC)' }),
  dailyBudget: Type.String({ description: 'Most committed to challenges in any 24 hours (AITBC)' }),
  intervalSeconds: Type.Integer({ description: 'How often the background run happens (VERIFIER_INTERVAL_SECONDS; 0: never)' }),
  agentId: Uuid,
  probeId: Uuid,
});

export const VerifierConfigPatch = Type.Object(
  Object.fromEntries(Object.entries(ConfigFields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof typeof ConfigFields]: ReturnType<typeof Type.Optional<(typeof ConfigFields)[K]>> },
  { additionalProperties: false, minProperties: 1, description: 'Fields to change; the others keep their values' },
);

export const ChallengeSchema = Type.Object({
  id: Uuid, sellerId: Uuid, listingId: Uuid, requestId: Type.Union([Uuid, Type.Null()]), negotiationId: Type.Union([Uuid, Type.Null()]),
  agreementId: Type.Union([Uuid, Type.Null()]), workload: Type.String(), size: Type.Integer(), amount: Type.String(),
  state: Type.String({ description: 'reserved, negotiating, funded (in flight); passed, failed (probe recorded); abandoned (no trade: nothing spent)' }),
  result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]), createdAt: Timestamp, finishedAt: Type.Union([Timestamp, Type.Null()]),
});

export const BudgetSchema = Type.Object({
  agentId: Uuid,
  probeId: Uuid,
  balance: Type.String({ description: 'The budget wallet\'s balance (the ledger\'s)' }),
  available: Type.String({ description: 'Balance less holds' }),
  reserved: Type.String({ description: 'Prices of challenges reserved but not yet funded' }),
  dailyBudget: Type.String(),
  committedLast24h: Type.String({ description: 'Prices of the challenges started in the last 24 hours (abandoned ones excluded)' }),
  remaining: Type.String({ description: 'What the next challenges may still commit: min(daily budget - committed, available - reserved)' }),
  feeShare: Type.Object({ bps: Type.Integer(), swept: Type.String() }),
  challenges: Type.Record(Type.String(), Type.Object({ count: Type.Integer(), amount: Type.String() }), { description: 'Count and amount by state' }),
  history: Type.Array(ChallengeSchema, { description: 'The latest challenges, newest first' }),
  ledger: Type.Array(Type.Object({
    transferId: Uuid, code: Type.String(), direction: Type.String(), counterparty: Type.String(), amount: Type.String(), held: Type.String(),
    balanceAfter: Type.String(), reference: Type.Union([Type.String(), Type.Null()]), createdAt: Timestamp,
  }), { description: 'The budget wallet\'s latest ledger entries: fundings in, escrow payments out' }),
});

export const BudgetQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }, { additionalProperties: false });

export const FundBody = Type.Object({
  amount: Amount,
  source: Type.Optional(Type.Union([Type.Literal('mint'), Type.Literal('fees')], { description: 'mint (default): from the treasury, as POST /v1/admin/mint; fees: out of the platform\'s fee account' })),
  id: Type.Optional(Type.String({ format: 'uuid', description: 'Transfer id: a retry with the same id is a no-op' })),
  memo: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

export const RunBody = Type.Object({
  sellerIds: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Only consider these sellers' })),
}, { additionalProperties: false });

export const RunResult = Type.Object({
  started: Type.Array(Type.Object({ challengeId: Uuid, sellerId: Uuid, listingId: Uuid, reason: Type.String(), amount: Type.String() })),
  funded: Type.Integer(), passed: Type.Integer(), failed: Type.Integer(), abandoned: Type.Integer(),
  skipped: Type.Array(Type.Object({ sellerId: Uuid, reason: Type.String() })),
  feeShareSwept: Type.String(),
});
