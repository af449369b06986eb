import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';

export const AGENT_TYPES = ['provider', 'consumer', 'both'] as const;
export const SERVICE_CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'] as const;
export const CAPACITY_UNITS = ['gpu_hour', '1k_tokens', 'job'] as const;

export const AgentType = Type.Union([Type.Literal('provider'), Type.Literal('consumer'), Type.Literal('both')]);
export const ServiceCategory = Type.Union([
  Type.Literal('gpu_compute'), Type.Literal('inference'), Type.Literal('training'), Type.Literal('data_services'), Type.Literal('model_services'),
]);
export const Country = Type.String({ pattern: '^[A-Z]{2}$', errorMessage: 'must be an ISO 3166-1 alpha-2 country code in capitals, e.g. "DE"', description: 'ISO 3166-1 alpha-2 country code' });
export const Region = Type.String({ pattern: '^[a-z]{2,12}(-[a-z0-9]{1,12}){0,3}$', errorMessage: 'must be a lower-case region code such as "eu-west" or "us-east-1"', description: 'Market region such as eu-west or us-east-1' });
export const PublicKey = Type.String({
  pattern: '^[A-Za-z0-9+/_-]{43}=?$',
  errorMessage: 'must be an Ed25519 public key: 32 bytes in base64 or base64url (43 characters, optionally followed by "=")',
  description: 'Ed25519 public key: the raw 32 bytes, base64 or base64url encoded',
});

export const Capacity = Type.Object(
  {
    unit: Type.Union([Type.Literal('gpu_hour'), Type.Literal('1k_tokens'), Type.Literal('job')]),
    units: Type.Number({ minimum: 0, maximum: 1e12, description: 'Units the agent can deliver per day' }),
    gpuModel: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    gpuCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    vramGb: Type.Optional(Type.Number({ minimum: 1, maximum: 10_000 })),
    maxConcurrentJobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false, description: 'Declared capacity' },
);

export const Sla = Type.Object(
  {
    availability: Type.Number({ minimum: 0, maximum: 1, description: 'Promised availability, e.g. 0.995' }),
    maxLatencyMs: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
    supportHours: Type.Optional(Type.String({ maxLength: 60, description: 'e.g. 24x7' })),
  },
  { additionalProperties: false, description: 'Declared service level agreement' },
);

export const AgentCreate = Type.Object(
  {
    displayName: Type.String({ minLength: 1, maxLength: 120 }),
    type: AgentType,
    country: Country,
    region: Region,
    categories: Type.Array(ServiceCategory, { uniqueItems: true, maxItems: 5, default: [] }),
    publicKey: Type.Optional(PublicKey),
    capacity: Type.Optional(Capacity),
    sla: Type.Optional(Sla),
  },
  { additionalProperties: false },
);
export type AgentCreate = Static<typeof AgentCreate>;

export const AgentPatch = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    type: Type.Optional(AgentType),
    country: Type.Optional(Country),
    region: Type.Optional(Region),
    categories: Type.Optional(Type.Array(ServiceCategory, { uniqueItems: true, maxItems: 5 })),
    publicKey: Type.Optional(Type.Union([PublicKey, Type.Null()])),
    capacity: Type.Optional(Type.Union([Capacity, Type.Null()])),
    sla: Type.Optional(Type.Union([Sla, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AgentPatch = Static<typeof AgentPatch>;

export const Agent = Type.Object(
  {
    id: Uuid,
    displayName: Type.String(),
    type: AgentType,
    country: Type.String(),
    region: Type.String(),
    categories: Type.Array(Type.String()),
    publicKey: Type.Union([Type.String(), Type.Null()]),
    capacity: Type.Union([Capacity, Type.Null()]),
    sla: Type.Union([Sla, Type.Null()]),
    status: Type.Union([Type.Literal('active'), Type.Literal('deactivated')]),
    registeredAt: Timestamp,
    updatedAt: Timestamp,
    deactivatedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Agent' },
);
export type Agent = Static<typeof Agent>;

export const Registration = Type.Object({
  agent: Agent,
  apiKey: Type.String({ description: 'The agent\'s API key. Shown only once; store it now.' }),
});

export const AgentListQuery = Type.Object(
  {
    type: Type.Optional(AgentType),
    country: Type.Optional(Country),
    region: Type.Optional(Region),
    category: Type.Optional(ServiceCategory),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('deactivated')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type AgentListQuery = Static<typeof AgentListQuery>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Profile = Type.Object({
  agent: Agent,
  reputation: Type.Object({
    trustScore: Nullable(Type.Integer({ minimum: 0, maximum: 1000 })),
    trustLevel: Nullable(Type.String()),
    performanceRating: Nullable(Type.Number({ description: '0-5 stars' })),
    reliability: Nullable(Type.Number({ description: '0-100 %' })),
    communityRating: Nullable(Type.Number({ description: '0-5 stars' })),
    observations: Type.Integer(),
  }),
  economicHistory: Type.Object({
    balance: Type.Optional(Type.String({ description: 'Wallet balance (posted). Only for the agent itself and the operator.' })),
    available: Type.Optional(Type.String({ description: 'Balance minus holds. Only for the agent itself and the operator.' })),
    totalEarnings: Type.String({ description: 'AITBC received from trades and payments, net of platform fees' }),
    totalSpent: Type.String({ description: 'AITBC paid for trades and payments, net of refunds' }),
    transactionCount: Type.Integer({ description: 'Trades finished as buyer or seller (settled, refunded or resolved); successRate is the settled share of them' }),
    transferCount: Type.Integer({ description: 'Ledger transfers that moved the wallet (payments, escrow legs, mints, deposits, withdrawals)' }),
    successRate: Nullable(Type.Number({ description: '0-1 share of settled trades that succeeded' })),
    disputes: Type.Object({ opened: Type.Integer(), won: Type.Integer(), lost: Type.Integer() }),
  }),
  status: Type.Object({
    activeListings: Type.Integer(),
    availableCapacity: Nullable(Type.Number()),
    priceTier: Nullable(Type.String({ description: 'budget / standard / premium: the active listings\' prices against the price index of their cells (market analytics)' })),
    priceTierReason: Type.Optional(Type.String({ description: 'Why this tier (the mean price / index ratio and the thresholds), or why none' })),
    sla: Nullable(Sla),
  }),
  certification: Type.Object({
    level: Nullable(Type.String({ description: 'The live certification level (basic, intermediate, advanced, enterprise); null: none' })),
    certificateId: Nullable(Type.String()),
    expiresAt: Nullable(Type.String()),
    identityVerified: Type.Boolean(),
    badges: Type.Array(Type.Object({ badge: Type.String(), title: Type.String(), earnedAt: Type.String() })),
  }, { description: 'GET /v1/agents/{id}/certifications and /badges have the detail' }),
  sections: Type.Record(Type.String(), Type.Union([Type.Literal('live'), Type.Literal('not_built')]), {
    description: 'Which module filled each section; not_built sections hold empty values until that module lands',
  }),
});
export type Profile = Static<typeof Profile>;
