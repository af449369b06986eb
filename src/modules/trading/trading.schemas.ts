/** TypeBox schemas of the trading API. Amounts are AITBC decimal strings; prices are per unit. */
import { Type, type TSchema } from 'typebox';
import { Amount, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { DIGEST_PATTERN, MAX_JOB_SIZE, SEED_PATTERN, WORKLOADS } from '../job-spec.js';

const Nullable = <T extends TSchema>(t: T, opts: { description?: string } = {}) => Type.Union([t, Type.Null()], opts);
const Category = Type.Union(
  ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'].map((c) => Type.Literal(c)),
  { description: 'Service category' },
);
const Unit = Type.Union(['gpu_hour', '1k_tokens', 'job'].map((c) => Type.Literal(c)));
const Region = Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$', errorMessage: 'must be 2 to 40 lower-case letters, digits or hyphens, e.g. "eu-west"', description: 'Region code, e.g. eu-west' });
const Settlement = Type.Union([Type.Literal('immediate'), Type.Literal('escrow'), Type.Literal('milestone')]);
const Strategy = Type.Union(
  ['aggressive', 'balanced', 'cooperative', 'boulware', 'linear', 'conceder'].map((c) => Type.Literal(c)),
  { description: 'Concession strategy: presets aggressive (Boulware), balanced (linear), cooperative (conceder), or a kind with `beta`' },
);

const SlaSchema = Type.Object({
  availability: Type.Number({ minimum: 0, maximum: 1, description: 'e.g. 0.995' }),
  maxLatencyMs: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
}, { additionalProperties: false });

const ListingSpecSchema = Type.Object({
  gpuModel: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
  vramGb: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
  gpuCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  modelName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  contextSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
}, { additionalProperties: false });

const SellerDelegation = Type.Object({
  strategy: Strategy,
  beta: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
  reservationPrice: Amount,
}, {
  additionalProperties: false,
  description: 'Let the service negotiate for the seller, from the listing price down to reservationPrice. reservationPrice must not exceed pricePerUnit (400 validation_failed, field body.negotiation.reservationPrice).',
});

const CapacityModel = Type.Union([Type.Literal('concurrent'), Type.Literal('stock')], {
  description: 'How agreements use capacity. `concurrent` (default; GPUs, endpoints): an agreement holds its quantity while it is live ' +
    '(pending_funding to settled/refunded/cancelled/resolved) and the units come back when it ends, whatever the outcome. ' +
    '`stock` (a fixed amount to sell, e.g. a batch of GPU-hours): units come back only when the agreement ends without a trade; a settled ' +
    'agreement (or a dispute resolved by release or split) consumes them. Set at creation; cannot change.',
});

export const ListingCreate = Type.Object({
  category: Category,
  spec: ListingSpecSchema,
  unit: Unit,
  pricePerUnit: Amount,
  capacity: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Units offered: with `concurrent` capacity, how many units agreements may hold at once; with `stock`, how many may be sold in all' }),
  capacityModel: Type.Optional(CapacityModel),
  region: Region,
  sla: SlaSchema,
  validFrom: Type.Optional(Timestamp),
  validUntil: Timestamp,
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
  negotiation: Type.Optional(Nullable(SellerDelegation)),
}, {
  additionalProperties: false,
  description: 'Only agents registered as `provider` or `both` may list (403 forbidden, reason not_a_provider), and only in one of their registered ' +
    'categories (400 validation_failed, field body.category, naming the agent\'s categories).',
});

export const ListingPatchSchema = Type.Object({
  pricePerUnit: Type.Optional(Amount),
  capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'New total; not below reserved + consumed units (409)' })),
  sla: Type.Optional(SlaSchema),
  validUntil: Type.Optional(Timestamp),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
  negotiation: Type.Optional(Nullable(SellerDelegation)),
}, { additionalProperties: false, minProperties: 1 });

export const ListingSchema = Type.Object({
  id: Uuid,
  sellerId: Uuid,
  category: Type.String(),
  spec: Type.Record(Type.String(), Type.Unknown()),
  unit: Type.String(),
  pricePerUnit: Amount,
  capacity: Type.Object({
    model: CapacityModel,
    total: Type.Integer({ description: 'Units offered (see model)' }),
    reserved: Type.Integer({ description: 'Units held by live agreements (not yet settled, refunded, cancelled or resolved)' }),
    consumed: Type.Integer({ description: 'Stock only: units sold by settled agreements, gone for good (always 0 for concurrent capacity)' }),
    available: Type.Integer({ description: 'Units a new agreement can take now: total - reserved - consumed. Matching and accept use this.' }),
  }, { description: 'Capacity and how agreements use it (see model)' }),
  region: Type.String(),
  sla: SlaSchema,
  validFrom: Timestamp,
  validUntil: Timestamp,
  status: Type.String(),
  negotiation: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
  autoNegotiates: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ListingQuery = Type.Object({
  category: Type.Optional(Category),
  sellerId: Type.Optional(Uuid),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('withdrawn')])),
  region: Type.Optional(Region),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

const Weights = Type.Object({
  price: Type.Optional(Type.Number({ minimum: 0 })),
  spec: Type.Optional(Type.Number({ minimum: 0 })),
  reputation: Type.Optional(Type.Number({ minimum: 0 })),
  regionLatency: Type.Optional(Type.Number({ minimum: 0 })),
  capacity: Type.Optional(Type.Number({ minimum: 0 })),
  sla: Type.Optional(Type.Number({ minimum: 0 })),
}, { additionalProperties: false, description: 'Ranking weights (normalised to sum 1)' });

export const JobSpecSchema = Type.Object({
  workload: Type.Union(WORKLOADS.map((w) => Type.Literal(w)), {
    description: 'hash-chain (GPU compute, training): an iterated SHA-256 chain of `size` rounds over the seed; reference-prompts (inference): ' +
      '`size` prompts generated from the seed, each with one canonical answer; record-set (data services): the known set of `size` records of the seed',
  }),
  seed: Type.String({ pattern: SEED_PATTERN, errorMessage: 'must be 16 to 128 lower-case hex characters', description: 'Lower-case hex, 16 to 128 characters' }),
  size: Type.Integer({ minimum: 1, maximum: MAX_JOB_SIZE, description: 'Rounds, prompts or records' }),
}, {
  additionalProperties: false,
  description: 'A checkable job (any buyer may attach one): the seller returns its `resultDigest` with the delivery. The digests are defined in ' +
    'src/modules/verifier/workloads.ts (docs/decisions.md, "Challenge workloads").',
});

/**
 * What the buyer experienced, reported when it confirms or disputes (rejects). The seller's delivery
 * report is a claim; where the buyer's report contradicts it beyond the tolerances in
 * src/modules/trading/measurements.ts, the claim is not evidence and the field is recorded as disputed.
 */
export const BuyerMeasurements = Type.Object({
  latencyMs: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400_000, description: 'Latency the buyer measured' })),
  accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of the work the buyer found correct' })),
  accepted: Type.Optional(Type.Boolean({ description: 'Whether the buyer accepts the result as correct (default: true on confirm, false on a buyer\'s dispute)' })),
  unitsDelivered: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000_000, description: 'Units the buyer received' })),
}, { additionalProperties: false, description: 'The buyer\'s own measurements of the trade (all optional; what is left out is recorded as not measured by the buyer)' });

export const RequestCreate = Type.Object({
  category: Category,
  spec: Type.Object({
    minVramGb: Type.Optional(Type.Number({ minimum: 0 })),
    acceptedGpuModels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { minItems: 1, maxItems: 20, description: 'Most preferred first' })),
    modelName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    minContextSize: Type.Optional(Type.Integer({ minimum: 1 })),
    minGpuCount: Type.Optional(Type.Integer({ minimum: 1 })),
  }, { additionalProperties: false }),
  quantity: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  budget: Type.Object({ min: Type.Optional(Amount), max: Amount }, { additionalProperties: false, description: 'Price per unit range' }),
  allowedRegions: Type.Optional(Type.Array(Region, { minItems: 1, maxItems: 50, description: 'Most preferred first' })),
  excludedRegions: Type.Optional(Type.Array(Region, { maxItems: 50 })),
  maxLatencyMs: Type.Optional(Type.Integer({ minimum: 1 })),
  minTrustScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  deadline: Timestamp,
  urgency: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high')])),
  weights: Type.Optional(Weights),
  explorationShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Chance that the last slot goes to a good newcomer' })),
  job: Type.Optional(JobSpecSchema),
  minCertificationLevel: Type.Optional(Type.Union(['basic', 'intermediate', 'advanced', 'enterprise'].map((l) => Type.Literal(l)), {
    description: 'Only sellers holding a live certificate of at least this level match (basic < intermediate < advanced < enterprise; ' +
      'GET /v1/agents/{id}/certifications). A hard constraint: diagnostics count the listings it eliminates as `min_certification`.',
  })),
}, { additionalProperties: false });

export const RequestSchema = Type.Object({
  id: Uuid,
  buyerId: Uuid,
  category: Type.String(),
  spec: Type.Record(Type.String(), Type.Unknown()),
  quantity: Type.Integer(),
  budget: Type.Optional(Type.Object({ min: Amount, max: Amount })),
  allowedRegions: Nullable(Type.Array(Type.String())),
  excludedRegions: Nullable(Type.Array(Type.String())),
  maxLatencyMs: Nullable(Type.Integer()),
  minTrustScore: Nullable(Type.Integer()),
  deadline: Timestamp,
  urgency: Type.String(),
  weights: Type.Optional(Nullable(Type.Record(Type.String(), Type.Number()))),
  explorationShare: Type.Number(),
  state: Type.String({
    enum: ['open', 'agreed', 'fulfilled', 'cancelled', 'expired'],
    description: 'open: no live agreement (negotiations may be made on it); agreed: an agreement exists and is live (not settled yet, ' +
      'see agreementId: funding, delivery, review or dispute pending); fulfilled: that agreement settled (the seller was paid: confirmed, ' +
      'released after review, or a dispute resolved by release or split); back to open when the agreement ends without a trade (not funded in ' +
      'time, refunded, or a dispute refunded), or expired if the deadline has passed by then; cancelled: by the buyer (only while open); ' +
      'expired: the deadline passed while open.',
  }),
  agreementId: Nullable(Uuid, { description: 'The live or settled agreement made on this request (null while open)' }),
  job: Nullable(Type.Object({ workload: Type.String(), seed: Type.String(), size: Type.Integer() }), { description: 'The checkable job, if the buyer attached one' }),
  minCertificationLevel: Nullable(Type.String({ description: 'The seller certification level the request requires' })),
  notifiedSellers: Type.Optional(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const Factor = Type.Object({ raw: Type.Number(), weight: Type.Number(), contribution: Type.Number() });
export const MatchesSchema = Type.Object({
  requestId: Uuid,
  candidates: Type.Array(Type.Object({
    rank: Type.Integer(),
    listingId: Uuid,
    sellerId: Uuid,
    pricePerUnit: Amount,
    score: Type.Number(),
    breakdown: Type.Record(Type.String(), Factor),
    newcomer: Type.Boolean(),
    viaExploration: Type.Boolean(),
    listing: ListingSchema,
  })),
  qualified: Type.Integer(),
  qualifiedExact: Type.Boolean(),
  weights: Type.Record(Type.String(), Type.Number()),
  exploration: Type.Object({ share: Type.Number(), roll: Nullable(Type.Number()), triggered: Type.Boolean(), listingId: Nullable(Type.String()) }),
  diagnostics: Nullable(Type.Object({
    total: Type.Integer(), qualified: Type.Integer(), eliminated: Type.Integer(),
    byConstraint: Type.Record(Type.String(), Type.Integer()), message: Type.String(),
  })),
});

const TermsFields = {
  pricePerUnit: Type.Optional(Amount),
  quantity: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1_000_000_000,
    description: 'Units (default: the previous offer\'s, else the trade request\'s, else 1). More than the listing\'s capacity: 400 validation_failed; more than it has free now: 409 conflict, reason capacity',
  })),
  sla: Type.Optional(SlaSchema),
  settlementType: Type.Optional(Settlement),
  signature: Type.Optional(Type.String({ minLength: 80, maxLength: 100, description: 'Ed25519 signature (base64) of the offer\'s signing payload' })),
};
const ConfirmOutsideBand = Type.Optional(Type.Boolean({ description: 'In a volatile cell, a price outside the stabilisation band around the price index needs this set to true (else 409 outside_price_band, naming the band and the index)' }));
export const OfferBody = Type.Object({ ...TermsFields, confirmOutsideBand: ConfirmOutsideBand }, { additionalProperties: false, description: 'Omitted terms keep the previous offer\'s values' });

const BuyerDelegation = Type.Object({
  strategy: Strategy,
  beta: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
  targetPrice: Amount,
  reservationPrice: Amount,
}, {
  additionalProperties: false,
  description: 'Let the service negotiate for the buyer, from targetPrice up to reservationPrice. targetPrice must not exceed reservationPrice ' +
    '(400 validation_failed, field body.delegate.targetPrice). The opening offer is exactly targetPrice; later offers follow the strategy\'s curve.',
});

export const NegotiationCreateBody = Type.Object({
  id: Type.Optional(Uuid),
  listingId: Uuid,
  requestId: Type.Optional(Uuid),
  offer: Type.Optional(OfferBody),
  delegate: Type.Optional(BuyerDelegation),
  maxRounds: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  deadline: Type.Optional(Timestamp),
  deliveryDeadline: Type.Optional(Timestamp),
  reviewWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 24 * 3600 })),
  requireSignatures: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const TermsSchema = Type.Object({ pricePerUnit: Amount, quantity: Type.Integer(), sla: SlaSchema, settlementType: Type.String() });
export const NegotiationSchema = Type.Object({
  id: Uuid,
  requestId: Nullable(Uuid),
  listingId: Uuid,
  buyerId: Uuid,
  sellerId: Uuid,
  status: Type.String(),
  turn: Nullable(Type.String()),
  maxRounds: Type.Integer(),
  roundsLeft: Type.Integer(),
  deadline: Timestamp,
  deliveryDeadline: Timestamp,
  requireSignatures: Type.Boolean(),
  delegated: Type.Object({ buyer: Type.Boolean(), seller: Type.Boolean() }),
  offers: Type.Array(Type.Object({
    seq: Type.Integer(), by: Type.String(), agentId: Uuid, terms: TermsSchema, signature: Nullable(Type.String()),
    delegated: Type.Boolean(), signingPayload: Type.String(), at: Timestamp,
  })),
  nextOfferPayloadPrefix: Type.Optional(Type.String()),
  acceptedSeq: Nullable(Type.Integer()),
  agreementId: Nullable(Uuid),
  endedBy: Nullable(Type.String()),
  endReason: Nullable(Type.String()),
  endedAt: Nullable(Timestamp),
  createdAt: Timestamp,
});

export const AcceptBody = Type.Object({
  signature: Type.Optional(Type.String({ minLength: 80, maxLength: 100 })),
  fund: Type.Optional(Type.Boolean({ description: 'Buyer only: fund the agreement in the same step' })),
  confirmOutsideBand: ConfirmOutsideBand,
}, { additionalProperties: false });
export const ReasonBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

export const AgreementSchema = Type.Object({
  id: Uuid,
  negotiationId: Uuid,
  requestId: Nullable(Uuid),
  listingId: Uuid,
  buyerId: Uuid,
  sellerId: Uuid,
  terms: TermsSchema,
  amount: Amount,
  released: Amount,
  state: Type.String(),
  escrowId: Nullable(Uuid),
  escrow: Type.Optional(Nullable(Type.Object({ state: Type.String(), released: Amount, refunded: Amount, fees: Amount, remaining: Amount }))),
  fundingDeadline: Type.String({ format: 'date-time', description: 'Fund by this time (FUNDING_WINDOW_SECONDS after the agreement was made, never past the delivery deadline); an agreement still unfunded then is cancelled and its listing units return' }),
  deliveryDeadline: Timestamp,
  reviewWindowSeconds: Type.Number(),
  autoReleaseAt: Nullable(Timestamp),
  delivery: Nullable(Type.Record(Type.String(), Type.Unknown())),
  dispute: Nullable(Type.Record(Type.String(), Type.Unknown())),
  resolution: Nullable(Type.Record(Type.String(), Type.Unknown())),
  proof: Type.Record(Type.String(), Type.Unknown()),
  events: Type.Optional(Type.Array(Type.Object({
    seq: Type.String(), from: Nullable(Type.String()), to: Type.String(), action: Type.String(), actor: Type.String(), detail: Type.Unknown(), at: Timestamp,
  }))),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const DeliverBody = Type.Object({
  usage: Type.Optional(Type.Number({ minimum: 0, description: 'Units delivered' })),
  latencyMs: Type.Optional(Type.Number({ minimum: 0, description: 'Measured latency' })),
  availability: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Measured availability' })),
  accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  resultDigest: Type.Optional(Type.String({ pattern: DIGEST_PATTERN, errorMessage: 'must be 64 hex characters (SHA-256)', description: 'The result digest of the request\'s `job`, if it has one' })),
  itemDigests: Type.Optional(Type.Array(Type.String({ pattern: DIGEST_PATTERN, errorMessage: 'must be 64 hex characters (SHA-256)' }), {
    maxItems: 64, description: 'The graded answer to the request\'s `job`: one digest per item (hash-chain checkpoints, one per prompt, record chunks), so a buyer can score the share right',
  })),
  note: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false, description: 'The seller\'s claims about the delivery: evidence only where the buyer does not contradict them' });
export const ConfirmBody = Type.Object({
  amount: Type.Optional(Amount),
  note: Type.Optional(Type.String({ maxLength: 500 })),
  measurements: Type.Optional(BuyerMeasurements),
}, { additionalProperties: false, description: 'Milestone settlement: `amount` releases that part only. `measurements`: what the buyer experienced (counted at the final confirmation)' });
export const DisputeBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 1000 }),
  evidence: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  measurements: Type.Optional(BuyerMeasurements),
}, { additionalProperties: false, description: 'A buyer\'s dispute is its rejection: `measurements` says what it experienced (accepted defaults to false)' });
export const ResolveBody = Type.Object({
  outcome: Type.Union([Type.Literal('release'), Type.Literal('refund'), Type.Literal('split')]),
  sellerAmount: Type.Optional(Amount),
  note: Type.Optional(Type.String({ maxLength: 1000 })),
}, { additionalProperties: false });
