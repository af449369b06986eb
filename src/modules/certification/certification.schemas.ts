/** TypeBox schemas of the certification, badges and partnership API. */
import { Type } from 'typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';
import { LEVELS } from './requirements.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Any = Type.Record(Type.String(), Type.Unknown());

export const LevelSchema = Type.Union(LEVELS.map((l) => Type.Literal(l)), { description: 'basic < intermediate < advanced < enterprise' });

export const IdentityChallenge = Type.Object({
  challengeId: Uuid,
  nonce: Type.String(),
  expiresAt: Timestamp,
  payload: Type.String({ description: 'Sign these UTF-8 bytes with the registered Ed25519 key: lines aitbc-identity/v1, agent:<id>, challenge:<id>, nonce:<nonce>, expires:<ISO time>' }),
});

export const IdentityVerifyBody = Type.Object({
  challengeId: Uuid,
  signature: Type.String({ minLength: 1, maxLength: 200, description: 'Ed25519 signature of `payload`, base64 or base64url' }),
}, { additionalProperties: false });

export const IdentityVerified = Type.Object({ agentId: Uuid, verified: Type.Boolean(), publicKey: Type.String(), verifiedAt: Timestamp });

export const AttestationBody = Type.Object({
  kind: Type.Union([Type.Literal('kyc'), Type.Literal('security')], { description: 'kyc: the owner (the registered public key) passed KYC; security: the agent passed a security review' }),
  evidence: Type.Object({
    description: Type.String({ minLength: 1, maxLength: 2000, description: 'What was reviewed and found' }),
    url: Type.Optional(Type.String({ maxLength: 500 })),
    digest: Type.Optional(Type.String({ maxLength: 200, description: 'Digest of the reviewed documents' })),
  }, { additionalProperties: false }),
  expiresAt: Type.String({ format: 'date-time' }),
  reviewedBy: Type.String({ minLength: 1, maxLength: 200, description: 'Who reviewed it' }),
}, { additionalProperties: false });

export const Attestation = Type.Object({
  id: Uuid, kind: Type.String(), agentId: Uuid, subject: Type.String(), evidence: Any, evidenceDigest: Type.String(), reviewedBy: Type.String(),
  createdAt: Timestamp, expiresAt: Timestamp,
});

export const ApplyBody = Type.Object({
  agentId: Uuid,
  level: LevelSchema,
}, { additionalProperties: false });

export const CertificateFile = Type.Object({
  certificate: Type.Object({
    format: Type.String(), id: Uuid, issuer: Type.String(), agentId: Uuid, level: Type.String(),
    requirements: Type.Array(Type.Object({ requirement: Type.String(), evidenceDigest: Type.String() })),
    issuedAt: Timestamp, expiresAt: Timestamp,
  }),
  signature: Type.String({ description: 'base64 Ed25519 signature over the canonical JSON of `certificate` (keys sorted at every depth, no spaces)' }),
  keyId: Type.String({ description: 'The key in /.well-known/agent-economy-keys.json' }),
}, { description: 'Save this object as a file and check it offline with `agent-economy verify-cert FILE`' });

export const Certificate = Type.Object({
  id: Uuid, agentId: Uuid, level: Type.String(), status: Type.String({ description: 'active, revoked, superseded (renewed or upgraded) or expired' }),
  issuedAt: Timestamp, expiresAt: Timestamp, endedAt: Nullable(Timestamp), reason: Nullable(Type.String()), replacedBy: Nullable(Uuid),
  file: CertificateFile,
});

export const Requirement = Type.Object({
  requirement: Type.String(), met: Type.Boolean(), evidenceDigest: Type.String(), evidence: Any,
  shortfalls: Type.Array(Type.Object({ metric: Type.String(), actual: Type.Unknown(), required: Type.Unknown(), comparison: Type.String(), gap: Nullable(Type.Number()) })),
  toMeet: Nullable(Type.String()),
});

export const CheckQuery = Type.Object({ level: LevelSchema }, { additionalProperties: false });
export const CheckResult = Type.Object({ level: Type.String(), granted: Type.Boolean(), requirements: Type.Array(Requirement) });

export const AgentCertifications = Type.Object({
  agentId: Uuid,
  level: Nullable(Type.String()),
  identityVerified: Type.Boolean(),
  kyc: Nullable(Type.Object({ attestationId: Uuid, reviewedBy: Type.String(), at: Timestamp, expiresAt: Timestamp })),
  certificates: Type.Array(Certificate),
  history: Type.Array(Type.Object({ id: Uuid, action: Type.String(), level: Nullable(Type.String()), certificateId: Nullable(Uuid), reason: Nullable(Type.String()), detail: Type.Unknown(), at: Timestamp })),
});

export const RevokedQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export const RevokedList = Type.Object({
  issuer: Type.String(),
  generatedAt: Timestamp,
  data: Type.Array(Type.Object({ certificateId: Uuid, agentId: Uuid, level: Type.String(), revokedAt: Timestamp, reason: Type.String() })),
  nextCursor: Nullable(Type.String()),
});

export const KeysFileSchema = Type.Object({
  issuer: Type.String(),
  keys: Type.Array(Type.Object({ keyId: Type.String(), algorithm: Type.String(), publicKey: Type.String({ description: 'raw 32-byte Ed25519 key, base64' }), createdAt: Timestamp, retiredAt: Nullable(Timestamp) })),
});

export const RotateResult = Type.Object({ keyId: Type.String(), retired: Nullable(Type.String()) });
export const ReverifyResult = Type.Object({ checked: Type.Integer(), kept: Type.Integer(), renewed: Type.Integer(), downgraded: Type.Integer(), revoked: Type.Integer(), expired: Type.Integer() });

export const Badges = Type.Object({
  agentId: Uuid,
  badges: Type.Array(Type.Object({
    badge: Type.String(), title: Type.String(), earnedAt: Timestamp, because: Type.String({ description: 'What earned it, in words' }),
    evidence: Any,
  })),
  rules: Any,
});

const Program = Type.Union(['technology', 'service', 'reseller', 'integration', 'affiliate'].map((p) => Type.Literal(p)));
export const PartnershipApply = Type.Object({
  agentId: Uuid,
  program: Program,
  partnerId: Type.Optional(Uuid),
  revenueShareBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 5000, description: 'Share of the seller\'s gross sales paid to the partner at settlement, in basis points' })),
  terms: Type.Object({
    description: Type.String({ minLength: 1, maxLength: 4000 }),
    endsAt: Type.Optional(Type.String({ format: 'date-time', description: 'No shares after this' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export const Partnership = Type.Object({
  id: Uuid, agentId: Uuid, program: Type.String(), partnerId: Nullable(Uuid),
  status: Type.String({ description: 'pending, active, rejected, suspended or ended' }), revenueShareBps: Type.Integer(), terms: Any,
  createdAt: Timestamp, updatedAt: Timestamp, decidedBy: Nullable(Type.String()), reason: Nullable(Type.String()), history: Type.Array(Any),
});

export const PartnershipDecisionParams = Type.Object({
  id: Uuid,
  action: Type.Union(['approve', 'reject', 'suspend', 'resume', 'end'].map((a) => Type.Literal(a))),
}, { additionalProperties: false });
export const DecisionBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false });
