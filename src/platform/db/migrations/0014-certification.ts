import { sql, type Kysely } from 'kysely';

/**
 * Certification, badges and partnerships (src/modules/certification).
 *
 * - certification_identity_challenges: server-issued nonces an agent signs with its registered key
 *   (single use, expiring); certification_identity: the agent's latest proof (which key, when).
 * - certification_attestations: the operator's reviewed attestations: `kyc` for an owner (the registered
 *   public key) and `security` for an agent, with evidence, its digest, who, when and an expiry.
 * - certification_keys: the service's Ed25519 signing keys (one active; retired keys stay for verification).
 * - certification_certificates: issued certificates (the signed canonical document as text) and their
 *   state; certification_history: every grant, renewal, downgrade, revocation and refusal.
 * - certification_badges: badges earned (one row per agent and badge, with what earned it).
 * - certification_partnerships: partnership applications and agreements with their terms.
 * - trade_requests.min_certification_level: the seller level a request requires (trading's matching).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // a trade request may require a minimum certification level of the seller (a hard constraint of matching)
  await sql`ALTER TABLE trade_requests ADD COLUMN min_certification_level text`.execute(db);
  await sql`
    CREATE TABLE certification_identity_challenges (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      nonce text NOT NULL,
      public_key text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX certification_identity_challenges_agent ON certification_identity_challenges (agent_id, created_at)`.execute(db);
  await sql`
    CREATE TABLE certification_identity (
      agent_id uuid PRIMARY KEY REFERENCES agents (id),
      public_key text NOT NULL,
      challenge_id uuid NOT NULL,
      verified_at timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE certification_attestations (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('kyc', 'security')),
      subject text NOT NULL,
      evidence jsonb NOT NULL,
      evidence_digest text NOT NULL,
      reviewed_by text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      withdrawn_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX certification_attestations_subject ON certification_attestations (kind, subject)`.execute(db);
  await sql`
    CREATE TABLE certification_keys (
      id text PRIMARY KEY,
      public_key text NOT NULL,
      private_key text NOT NULL,
      created_at timestamptz NOT NULL,
      retired_at timestamptz
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX certification_keys_one_active ON certification_keys ((retired_at IS NULL)) WHERE retired_at IS NULL`.execute(db);
  await sql`
    CREATE TABLE certification_certificates (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      level text NOT NULL,
      document text NOT NULL,
      signature text NOT NULL,
      key_id text NOT NULL REFERENCES certification_keys (id),
      issued_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'revoked', 'superseded', 'expired')),
      ended_at timestamptz,
      reason text,
      replaced_by uuid
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX certification_certificates_one_active ON certification_certificates (agent_id) WHERE status = 'active'`.execute(db);
  await sql`CREATE INDEX certification_certificates_status ON certification_certificates (status, ended_at)`.execute(db);
  await sql`
    CREATE TABLE certification_history (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      certificate_id uuid,
      action text NOT NULL,
      level text,
      reason text,
      detail jsonb NOT NULL,
      at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX certification_history_agent ON certification_history (agent_id, at)`.execute(db);
  await sql`
    CREATE TABLE certification_badges (
      agent_id uuid NOT NULL REFERENCES agents (id),
      badge text NOT NULL,
      earned_at timestamptz NOT NULL,
      evidence jsonb NOT NULL,
      PRIMARY KEY (agent_id, badge)
    )`.execute(db);
  await sql`
    CREATE TABLE certification_partnerships (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      program text NOT NULL CHECK (program IN ('technology', 'service', 'reseller', 'integration', 'affiliate')),
      partner_id uuid REFERENCES agents (id),
      status text NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'suspended', 'ended')),
      revenue_share_bps integer NOT NULL CHECK (revenue_share_bps >= 0 AND revenue_share_bps <= 5000),
      terms jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      decided_by text,
      reason text,
      history jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX certification_partnerships_agent ON certification_partnerships (agent_id, status)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE trade_requests DROP COLUMN IF EXISTS min_certification_level`.execute(db);
  for (const t of ['certification_partnerships', 'certification_badges', 'certification_history', 'certification_certificates', 'certification_keys',
    'certification_attestations', 'certification_identity', 'certification_identity_challenges']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
}
