/** Row types of the certification module's tables (migration 0014-certification). */
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface CertificationIdentityChallengesTable {
  id: string;
  agent_id: string;
  nonce: string;
  /** the key registered when the challenge was issued (a key changed since makes it void) */
  public_key: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface CertificationIdentityTable {
  agent_id: string;
  public_key: string;
  challenge_id: string;
  verified_at: Timestamp;
}

export type AttestationKind = 'kyc' | 'security';

export interface CertificationAttestationsTable {
  id: string;
  kind: AttestationKind;
  /** kyc: the owner (registered public key); security: the agent id */
  subject: string;
  evidence: Json<Record<string, unknown>>;
  evidence_digest: string;
  reviewed_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  withdrawn_at: Timestamp | null;
}

export interface CertificationKeysTable {
  id: string;
  /** raw 32-byte Ed25519 public key, base64 */
  public_key: string;
  /** PKCS#8 DER, base64 */
  private_key: string;
  created_at: Timestamp;
  retired_at: Timestamp | null;
}

export type CertificateStatus = 'active' | 'revoked' | 'superseded' | 'expired';

export interface CertificationCertificatesTable {
  id: string;
  agent_id: string;
  level: string;
  document: string;
  signature: string;
  key_id: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  status: CertificateStatus;
  ended_at: Timestamp | null;
  reason: string | null;
  replaced_by: string | null;
}

export interface CertificationHistoryTable {
  id: string;
  agent_id: string;
  certificate_id: string | null;
  action: string;
  level: string | null;
  reason: string | null;
  detail: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface CertificationBadgesTable {
  agent_id: string;
  badge: string;
  earned_at: Timestamp;
  evidence: Json<Record<string, unknown>>;
}

export type PartnershipProgram = 'technology' | 'service' | 'reseller' | 'integration' | 'affiliate';
export type PartnershipStatus = 'pending' | 'active' | 'rejected' | 'suspended' | 'ended';

export interface CertificationPartnershipsTable {
  id: string;
  agent_id: string;
  program: PartnershipProgram;
  partner_id: string | null;
  status: PartnershipStatus;
  revenue_share_bps: number;
  terms: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
  decided_by: string | null;
  reason: string | null;
  history: Json<Record<string, unknown>[]>;
}

/** How far a certification job has folded the record (migration 0017). */
export interface CertificationJobMarkersTable {
  job: string;
  marker: Timestamp;
  updated_at: Timestamp;
}

export interface CertificationTables {
  certification_identity_challenges: CertificationIdentityChallengesTable;
  certification_identity: CertificationIdentityTable;
  certification_attestations: CertificationAttestationsTable;
  certification_keys: CertificationKeysTable;
  certification_certificates: CertificationCertificatesTable;
  certification_history: CertificationHistoryTable;
  certification_badges: CertificationBadgesTable;
  certification_job_markers: CertificationJobMarkersTable;
  certification_partnerships: CertificationPartnershipsTable;
}
