/**
 * Certification: identity proofs, the operator's attestations (KYC per owner, security per agent),
 * applications for a level evaluated on live data (requirements.ts), signed certificates
 * (certificates.ts), the service's signing keys with rotation, the revocation list, and the job that
 * re-evaluates every live certificate (downgrade, revoke, renew; each on the agent's stream and in its
 * history).
 */
import { createPublicKey, verify, randomBytes } from 'node:crypto';
import type { Database, Executor, Tx } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import { assertActsFor, type Principal } from '../../platform/http/auth.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import type { BackgroundJob } from '../module.js';
import type { CertificationSources } from './certification.deps.js';
import { certificationRepository as repo, type CertificateRow, type HistoryRow } from './certification.repository.js';
import type { AttestationKind } from './certification.tables.js';
import {
  CERTIFICATION_RULES, LEVELS, digestOf, evaluateLevel, highestLevel, levelRank,
  type AgentFacts, type CertificationRules, type Level, type LevelResult,
} from './requirements.js';
import { CERTIFICATE_FORMAT, generateSigningKey, signCertificate, type CertificateDocument, type KeysFile, type SignedCertificate, type SigningKey } from './certificates.js';

export const ISSUER = 'agent-economy';
const DAY = 86_400_000;
const CHALLENGE_TTL_MS = 10 * 60_000;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface CertificationDeps {
  database: Database;
  clock: Clock;
  sources: CertificationSources;
  outbox: EventOutbox;
  rules?: Partial<CertificationRules> | undefined;
}

/** The bytes an agent signs to prove control of its key (UTF-8, lines joined by \n). */
export function identityPayload(agentId: string, challengeId: string, nonce: string, expiresAt: string): string {
  return ['aitbc-identity/v1', `agent:${agentId}`, `challenge:${challengeId}`, `nonce:${nonce}`, `expires:${expiresAt}`].join('\n');
}

function verifyEd25519(publicKeyB64: string, payload: string, signatureB64: string): boolean {
  const raw = Buffer.from(publicKeyB64, 'base64');
  const sig = Buffer.from(signatureB64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (raw.length !== 32 || sig.length !== 64) return false;
  try {
    return verify(null, Buffer.from(payload, 'utf8'), createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), sig);
  } catch {
    return false;
  }
}

export class CertificationService {
  readonly jobs: BackgroundJob[];
  readonly rules: CertificationRules;

  constructor(private readonly deps: CertificationDeps) {
    this.rules = { ...CERTIFICATION_RULES, ...deps.rules };
    this.jobs = [
      { name: 'certification.reverify', intervalMs: 10 * 60_000, run: () => this.reverify() },
    ];
  }

  private get db() {
    return this.deps.database.db;
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private async agentOrThrow(agentId: string) {
    const a = await this.deps.sources.agent(agentId);
    if (!a) throw notFound('agent', agentId);
    return a;
  }

  // ----------------------------------------------------------------------------------------- identity

  async identityChallenge(p: Principal, agentId: string) {
    assertActsFor(p, agentId, false);
    const a = await this.agentOrThrow(agentId);
    if (!a.publicKey) throw new AppError('unprocessable', 'the agent has no registered public key; register one (PATCH /v1/agents/{id}) first');
    const now = this.now();
    const id = uuidv7(this.deps.clock);
    const nonce = (this.deps.clock.randomBytes ?? randomBytes)(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS);
    await repo.insertChallenge(this.db, { id, agent_id: agentId, nonce, public_key: a.publicKey, created_at: now, expires_at: expiresAt, used_at: null });
    return { challengeId: id, nonce, expiresAt: expiresAt.toISOString(), payload: identityPayload(agentId, id, nonce, expiresAt.toISOString()) };
  }

  async verifyIdentity(p: Principal, agentId: string, body: { challengeId: string; signature: string }) {
    assertActsFor(p, agentId, false);
    const a = await this.agentOrThrow(agentId);
    const ch = await repo.challenge(this.db, body.challengeId);
    if (!ch || ch.agent_id !== agentId) throw notFound('identity challenge', body.challengeId);
    const now = this.now();
    if (ch.used_at) throw new AppError('conflict', 'this challenge was already used; ask for a new one');
    if (ch.expires_at.getTime() <= now.getTime()) throw new AppError('unprocessable', 'this challenge has expired; ask for a new one');
    if (a.publicKey !== ch.public_key) throw new AppError('unprocessable', 'the registered key changed since the challenge was issued; ask for a new one');
    const payload = identityPayload(agentId, ch.id, ch.nonce, ch.expires_at.toISOString());
    if (!verifyEd25519(ch.public_key, payload, body.signature)) {
      throw new AppError('unprocessable', 'the signature does not verify with the registered key over the challenge payload', { errors: [{ field: 'body.signature', message: 'does not verify' }] });
    }
    await this.deps.database.transaction(async (tx) => {
      if (!(await repo.useChallenge(tx, ch.id, now))) throw new AppError('conflict', 'this challenge was already used; ask for a new one');
      await repo.upsertIdentity(tx, agentId, ch.public_key, ch.id, now);
      await this.history(tx, agentId, null, 'identity_verified', null, null, { publicKey: ch.public_key, challengeId: ch.id });
    });
    return { agentId, verified: true, publicKey: ch.public_key, verifiedAt: now.toISOString() };
  }

  // ------------------------------------------------------------------------------------ attestations

  /** The operator's reviewed attestation: KYC of the agent's owner (its registered key), or security of the agent. */
  async attest(agentId: string, input: { kind: AttestationKind; evidence: { description: string; url?: string | undefined; digest?: string | undefined }; expiresAt: string; reviewedBy: string }) {
    const a = await this.agentOrThrow(agentId);
    const now = this.now();
    const exp = new Date(input.expiresAt);
    if (!(exp.getTime() > now.getTime())) throw new AppError('validation_failed', 'expiresAt must be in the future', { errors: [{ field: 'body.expiresAt', message: 'must be in the future' }] });
    let subject = agentId;
    if (input.kind === 'kyc') {
      if (!a.publicKey) throw new AppError('unprocessable', 'KYC is recorded for an owner, named by the registered public key; this agent has none');
      subject = a.publicKey;
    }
    const id = uuidv7(this.deps.clock);
    const evidence = { ...input.evidence };
    const digest = digestOf(evidence);
    await this.deps.database.transaction(async (tx) => {
      await repo.insertAttestation(tx, { id, kind: input.kind, subject, evidence: JSON.stringify(evidence), evidence_digest: digest, reviewed_by: input.reviewedBy, created_at: now, expires_at: exp, withdrawn_at: null });
      await this.history(tx, agentId, null, `attestation.${input.kind}`, null, null, { attestationId: id, evidenceDigest: digest, expiresAt: exp.toISOString(), reviewedBy: input.reviewedBy });
    });
    return { id, kind: input.kind, agentId, subject, evidence, evidenceDigest: digest, reviewedBy: input.reviewedBy, createdAt: now.toISOString(), expiresAt: exp.toISOString() };
  }

  /** Whether the agent's owner (its registered key) carries a live KYC attestation, and who recorded it when. */
  async kycOf(agentId: string) {
    const a = await this.deps.sources.agent(agentId);
    if (!a?.publicKey) return null;
    const now = this.now().getTime();
    const live = (await repo.attestations(this.db, 'kyc', a.publicKey)).find((r) => r.expires_at.getTime() > now);
    return live ? { attestationId: live.id, reviewedBy: live.reviewed_by, at: live.created_at.toISOString(), expiresAt: live.expires_at.toISOString() } : null;
  }

  // ---------------------------------------------------------------------------------------- evaluate

  /** Everything the chains look at for this agent, read now from the live sources. */
  async facts(agentId: string, exec: Executor = this.db): Promise<AgentFacts> {
    const now = this.now().getTime();
    const r = this.rules;
    const since = now - r.evidenceWindowDays * DAY;
    const a = await this.agentOrThrow(agentId);
    const [ident, challenges, trades, peers, up, sec] = await Promise.all([
      repo.identity(exec, agentId),
      this.deps.sources.challengeResults(agentId, since),
      this.deps.sources.buyerMeasurements(agentId, since),
      this.deps.sources.sameOwnerPeers(agentId),
      this.deps.sources.uptime(agentId, now - r.reliability_proven.windowDays * DAY, now),
      repo.attestations(exec, 'security', agentId),
    ]);
    return {
      agentId, nowMs: now, registeredKey: a.publicKey,
      identity: ident ? { publicKey: ident.public_key, verifiedAtMs: ident.verified_at.getTime(), challengeId: ident.challenge_id } : null,
      challenges, trades, sameOwnerPeers: peers,
      uptime: { uptime: up.uptime, coveredMs: up.countedFromMs === null ? 0 : Math.max(0, up.untilMs - up.countedFromMs) },
      security: sec.map((s) => ({ id: s.id, digest: s.evidence_digest, reviewedBy: s.reviewed_by, createdAtMs: s.created_at.getTime(), expiresAtMs: s.expires_at.getTime() })),
    };
  }

  /** The chain of a level evaluated now, without applying (what would be granted or refused, and why). */
  async check(agentId: string, level: Level): Promise<LevelResult> {
    return evaluateLevel(level, await this.facts(agentId), this.rules);
  }

  /**
   * Applies for a level: granted (a signed certificate, replacing a lower or equal one) exactly when its
   * whole chain holds on live data; otherwise 422 with each failing requirement, by how much, and what would meet it.
   */
  async apply(p: Principal, agentId: string, level: Level) {
    assertActsFor(p, agentId);
    const result = await this.check(agentId, level);
    if (!result.granted) {
      throw new AppError('unprocessable', `level ${level} is refused: ${result.failed.map((f) => f.requirement).join(', ')} not met`, {
        level, failed: result.failed.map(requirementJson), requirements: result.requirements.map(requirementJson),
      });
    }
    const current = await repo.activeCertificate(this.db, agentId);
    if (current && levelRank(current.level) > levelRank(level)) {
      throw new AppError('conflict', `the agent holds a live ${current.level} certificate (${current.id}), above ${level}`);
    }
    const row = await this.deps.database.transaction(async (tx) => {
      const issued = await this.issue(tx, agentId, result, current ? { id: current.id, reason: current.level === level ? 'renewed' : `upgraded to ${level}` } : null, 'granted');
      return issued;
    });
    return certificateView(row);
  }

  // ------------------------------------------------------------------------------------ certificates

  private async signingKey(exec: Executor): Promise<SigningKey> {
    for (let i = 0; i < 3; i++) {
      const k = await repo.activeKey(exec);
      if (k) return { keyId: k.id, publicKey: k.public_key, privateKey: k.private_key };
      const g = generateSigningKey();
      await repo.insertKey(exec, { id: g.keyId, public_key: g.publicKey, private_key: g.privateKey, created_at: this.now(), retired_at: null });
    }
    throw new AppError('service_unavailable', 'no signing key could be made; retry');
  }

  /** Makes the signing key at first start (idempotent across processes). */
  async ensureKey(): Promise<string> {
    return (await this.signingKey(this.db)).keyId;
  }

  /** Retires the active key and makes a new one; retired keys stay published so old certificates still verify. */
  async rotateKey() {
    const next = await this.deps.database.transaction(async (tx) => {
      const cur = await repo.activeKey(tx);
      if (cur) await repo.retireKey(tx, cur.id, this.now());
      const g = generateSigningKey();
      await repo.insertKey(tx, { id: g.keyId, public_key: g.publicKey, private_key: g.privateKey, created_at: this.now(), retired_at: null });
      return { keyId: g.keyId, retired: cur?.id ?? null };
    });
    return next;
  }

  async keysFile(): Promise<KeysFile> {
    await this.ensureKey();
    const keys = await repo.keys(this.db);
    return {
      issuer: ISSUER,
      keys: keys.map((k) => ({ keyId: k.id, algorithm: 'Ed25519' as const, publicKey: k.public_key, createdAt: k.created_at.toISOString(), retiredAt: k.retired_at ? k.retired_at.toISOString() : null })),
    };
  }

  private async issue(tx: Tx, agentId: string, result: LevelResult, replaces: { id: string; reason: string } | null, action: string): Promise<CertificateRow> {
    const key = await this.signingKey(tx);
    const now = this.now();
    const id = uuidv7(this.deps.clock);
    const doc: CertificateDocument = {
      format: CERTIFICATE_FORMAT, id, issuer: ISSUER, agentId, level: result.level,
      requirements: result.requirements.map((r) => ({ requirement: r.requirement, evidenceDigest: r.digest })),
      issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + this.rules.validityDays * DAY).toISOString(),
    };
    const signed = signCertificate(doc, key);
    if (replaces) {
      await repo.endCertificate(tx, replaces.id, 'superseded', now, replaces.reason, id);
    }
    const row = {
      id, agent_id: agentId, level: result.level, document: JSON.stringify(doc), signature: signed.signature, key_id: key.keyId,
      issued_at: now, expires_at: new Date(doc.expiresAt), status: 'active' as const, ended_at: null, reason: null, replaced_by: null,
    };
    await repo.insertCertificate(tx, row);
    await this.history(tx, agentId, id, action, result.level, replaces?.reason ?? null, { evidence: result.requirements.map((r) => ({ requirement: r.requirement, digest: r.digest, evidence: r.evidence })) });
    await this.deps.outbox.append(tx, [{ type: `certification.${action}`, agentIds: [agentId], data: { certificateId: id, agentId, level: result.level, expiresAt: doc.expiresAt, replaces: replaces?.id ?? null }, at: now.toISOString() }]);
    return row;
  }

  private history(tx: Executor, agentId: string, certificateId: string | null, action: string, level: string | null, reason: string | null, detail: Record<string, unknown>) {
    return repo.insertHistory(tx, { id: uuidv7(this.deps.clock), agent_id: agentId, certificate_id: certificateId, action, level, reason, detail: JSON.stringify(detail), at: this.now() });
  }

  async getCertificate(id: string) {
    const row = await repo.certificate(this.db, id);
    if (!row) throw notFound('certificate', id);
    return certificateView(row);
  }

  async agentCertifications(agentId: string, limit = 50) {
    await this.agentOrThrow(agentId);
    const certs = await repo.certificatesOf(this.db, agentId);
    const hist = await repo.history(this.db, agentId, limit);
    const active = certs.find((c) => c.status === 'active') ?? null;
    return {
      agentId, level: active?.level ?? null, identityVerified: await this.identityVerified(agentId), kyc: await this.kycOf(agentId),
      certificates: certs.map(certificateView), history: hist.map(historyJson),
    };
  }

  async revoked(limit: number, after?: { at: Date; id: string }) {
    const rows = await repo.revoked(this.db, limit, after);
    return rows.map((r) => ({ certificateId: r.id, agentId: r.agent_id, level: r.level, revokedAt: r.ended_at!.toISOString(), reason: r.reason ?? '' }));
  }

  /** The live level of each agent (null: no live certificate): the port trading's matching asks. */
  async levelsOf(agentIds: readonly string[]): Promise<Map<string, Level>> {
    const now = this.now().getTime();
    const out = new Map<string, Level>();
    for (const c of await repo.activeCertificates(this.db, agentIds)) if (c.expires_at.getTime() > now) out.set(c.agent_id, c.level as Level);
    return out;
  }

  /** A proof exists for the key registered now (a changed key needs a new proof). */
  private async identityVerified(agentId: string): Promise<boolean> {
    const [ident, a] = await Promise.all([repo.identity(this.db, agentId), this.deps.sources.agent(agentId)]);
    return ident !== undefined && a?.publicKey != null && ident.public_key === a.publicKey;
  }

  /** The profile's certification section: live level, identity, badges. */
  async profile(agentId: string) {
    const now = this.now().getTime();
    const c = await repo.activeCertificate(this.db, agentId);
    const live = c && c.expires_at.getTime() > now ? c : null;
    const badges = await repo.badges(this.db, agentId);
    return {
      level: live?.level ?? null, certificateId: live?.id ?? null, expiresAt: live ? live.expires_at.toISOString() : null,
      identityVerified: await this.identityVerified(agentId),
      badges: badges.map((b) => ({ badge: b.badge, title: String((b.evidence as { title?: unknown }).title ?? b.badge), earnedAt: b.earned_at.toISOString() })),
    };
  }

  /** Level and badge count of each agent, for the leaderboard. */
  async leaderboardExtras(agentIds: readonly string[]): Promise<Map<string, { certificationLevel: string | null; badges: number }>> {
    const levels = await this.levelsOf(agentIds);
    const out = new Map<string, { certificationLevel: string | null; badges: number }>();
    for (const id of agentIds) out.set(id, { certificationLevel: levels.get(id) ?? null, badges: 0 });
    for (const b of await repo.badgesOf(this.db, agentIds)) out.get(b.agent_id)!.badges++;
    return out;
  }

  // ---------------------------------------------------------------------------------- re-verification

  /**
   * Re-evaluates every live certificate on live data: an agent that no longer meets its level is
   * downgraded to the highest level it still meets (a new certificate; the old one is revoked with the
   * reason) or revoked; one that still meets it is renewed within `renewBeforeDays` of expiry; an expired
   * one that no longer qualifies is marked expired.
   */
  async reverify(): Promise<{ checked: number; kept: number; renewed: number; downgraded: number; revoked: number; expired: number }> {
    const out = { checked: 0, kept: 0, renewed: 0, downgraded: 0, revoked: 0, expired: 0 };
    const now = this.now();
    for (const cert of await repo.activeCertificates(this.db)) {
      out.checked++;
      const facts = await this.facts(cert.agent_id).catch(() => null);
      const level = cert.level as Level;
      const own = facts ? evaluateLevel(level, facts, this.rules) : null;
      const expiring = cert.expires_at.getTime() - now.getTime() <= this.rules.renewBeforeDays * DAY;
      if (own?.granted) {
        if (!expiring) { out.kept++; continue; }
        await this.deps.database.transaction(async (tx) => { await this.issue(tx, cert.agent_id, own, { id: cert.id, reason: 'renewed before expiry' }, 'renewed'); });
        out.renewed++;
        continue;
      }
      const reason = own ? `${level} no longer met: ${own.failed.map((f) => `${f.requirement} (${f.shortfalls.map((s) => `${s.metric} ${s.actual ?? 'none'} vs ${s.comparison} ${s.required}`).join(', ')})`).join('; ')}` : 'the agent no longer exists';
      if (cert.expires_at.getTime() <= now.getTime()) {
        await this.deps.database.transaction(async (tx) => {
          if (!(await repo.endCertificate(tx, cert.id, 'expired', now, reason, null))) return;
          await this.history(tx, cert.agent_id, cert.id, 'expired', level, reason, {});
          await this.deps.outbox.append(tx, [{ type: 'certification.expired', agentIds: [cert.agent_id], data: { certificateId: cert.id, level, reason }, at: now.toISOString() }]);
        });
        out.expired++;
        continue;
      }
      const lower = facts ? highestLevel(facts, this.rules) : null;
      await this.deps.database.transaction(async (tx) => {
        if (!(await repo.endCertificate(tx, cert.id, 'revoked', now, reason, null))) return;
        await this.history(tx, cert.agent_id, cert.id, lower ? 'downgraded' : 'revoked', level, reason, { failed: own?.failed.map(requirementJson) ?? [] });
        await this.deps.outbox.append(tx, [{
          type: lower ? 'certification.downgraded' : 'certification.revoked', agentIds: [cert.agent_id],
          data: { certificateId: cert.id, level, to: lower?.level ?? null, reason }, at: now.toISOString(),
        }]);
        if (lower && levelRank(lower.level) < levelRank(level)) {
          const row = await this.issue(tx, cert.agent_id, lower, null, 'granted');
          await tx.updateTable('certification_certificates').set({ replaced_by: row.id }).where('id', '=', cert.id).execute();
        }
      });
      if (lower) out.downgraded++;
      else out.revoked++;
    }
    return out;
  }
}

export function requirementJson(r: LevelResult['requirements'][number]) {
  return { requirement: r.requirement, met: r.met, evidenceDigest: r.digest, evidence: r.evidence, shortfalls: r.shortfalls, toMeet: r.toMeet };
}

export function certificateView(row: CertificateRow) {
  const file: SignedCertificate = { certificate: JSON.parse(row.document) as CertificateDocument, signature: row.signature, keyId: row.key_id };
  return {
    id: row.id, agentId: row.agent_id, level: row.level, status: row.status, issuedAt: row.issued_at.toISOString(), expiresAt: row.expires_at.toISOString(),
    endedAt: row.ended_at ? row.ended_at.toISOString() : null, reason: row.reason, replacedBy: row.replaced_by, file,
  };
}

function historyJson(h: HistoryRow) {
  return { id: h.id, action: h.action, level: h.level, certificateId: h.certificate_id, reason: h.reason, detail: h.detail, at: h.at.toISOString() };
}

export { LEVELS };
