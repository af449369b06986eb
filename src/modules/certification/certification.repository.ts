/** All SQL of the certification module (its own tables only). */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../../database.js';
import type {
  AttestationKind, CertificationAttestationsTable, CertificationBadgesTable, CertificationCertificatesTable, CertificationHistoryTable,
  CertificationIdentityChallengesTable, CertificationKeysTable, CertificationPartnershipsTable, CertificateStatus,
} from './certification.tables.js';

export type ChallengeRow = Selectable<CertificationIdentityChallengesTable>;
export type AttestationRow = Selectable<CertificationAttestationsTable>;
export type KeyRow = Selectable<CertificationKeysTable>;
export type CertificateRow = Selectable<CertificationCertificatesTable>;
export type HistoryRow = Selectable<CertificationHistoryTable>;
export type BadgeRow = Selectable<CertificationBadgesTable>;
export type PartnershipRow = Selectable<CertificationPartnershipsTable>;

export const certificationRepository = {
  insertChallenge(db: Executor, row: Insertable<CertificationIdentityChallengesTable>) {
    return db.insertInto('certification_identity_challenges').values(row).execute();
  },
  challenge(db: Executor, id: string): Promise<ChallengeRow | undefined> {
    return db.selectFrom('certification_identity_challenges').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /** Marks a challenge used; false when it already was (single use, also across processes). */
  async useChallenge(db: Executor, id: string, at: Date): Promise<boolean> {
    const r = await db.updateTable('certification_identity_challenges').set({ used_at: at }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
  async upsertIdentity(db: Executor, agentId: string, publicKey: string, challengeId: string, at: Date) {
    await db.insertInto('certification_identity').values({ agent_id: agentId, public_key: publicKey, challenge_id: challengeId, verified_at: at })
      .onConflict((oc) => oc.column('agent_id').doUpdateSet({ public_key: publicKey, challenge_id: challengeId, verified_at: at })).execute();
  },
  identity(db: Executor, agentId: string) {
    return db.selectFrom('certification_identity').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
  },

  insertAttestation(db: Executor, row: Insertable<CertificationAttestationsTable>) {
    return db.insertInto('certification_attestations').values(row).execute();
  },
  attestations(db: Executor, kind: AttestationKind, subject: string): Promise<AttestationRow[]> {
    return db.selectFrom('certification_attestations').selectAll().where('kind', '=', kind).where('subject', '=', subject).where('withdrawn_at', 'is', null)
      .orderBy('created_at', 'desc').execute();
  },

  activeKey(db: Executor): Promise<KeyRow | undefined> {
    return db.selectFrom('certification_keys').selectAll().where('retired_at', 'is', null).executeTakeFirst();
  },
  keys(db: Executor): Promise<KeyRow[]> {
    return db.selectFrom('certification_keys').selectAll().orderBy('created_at').orderBy('id').execute();
  },
  key(db: Executor, id: string): Promise<KeyRow | undefined> {
    return db.selectFrom('certification_keys').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /** Inserts a key; false when another process made the active key first (one active key: a unique index). */
  async insertKey(db: Executor, row: Insertable<CertificationKeysTable>): Promise<boolean> {
    const r = await db.insertInto('certification_keys').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
  retireKey(db: Executor, id: string, at: Date) {
    return db.updateTable('certification_keys').set({ retired_at: at }).where('id', '=', id).where('retired_at', 'is', null).executeTakeFirst();
  },

  insertCertificate(db: Executor, row: Insertable<CertificationCertificatesTable>) {
    return db.insertInto('certification_certificates').values(row).execute();
  },
  certificate(db: Executor, id: string): Promise<CertificateRow | undefined> {
    return db.selectFrom('certification_certificates').selectAll().where('id', '=', id).executeTakeFirst();
  },
  activeCertificate(db: Executor, agentId: string): Promise<CertificateRow | undefined> {
    return db.selectFrom('certification_certificates').selectAll().where('agent_id', '=', agentId).where('status', '=', 'active').executeTakeFirst();
  },
  activeCertificates(db: Executor, agentIds?: readonly string[]): Promise<CertificateRow[]> {
    let q = db.selectFrom('certification_certificates').selectAll().where('status', '=', 'active');
    if (agentIds) {
      if (agentIds.length === 0) return Promise.resolve([]);
      q = q.where('agent_id', 'in', agentIds);
    }
    return q.orderBy('issued_at').execute();
  },
  certificatesOf(db: Executor, agentId: string): Promise<CertificateRow[]> {
    return db.selectFrom('certification_certificates').selectAll().where('agent_id', '=', agentId).orderBy('issued_at', 'desc').execute();
  },
  /** Ends an active certificate; false when it is no longer active (another run ended it). */
  async endCertificate(db: Executor, id: string, status: Exclude<CertificateStatus, 'active'>, at: Date, reason: string, replacedBy: string | null): Promise<boolean> {
    const r = await db.updateTable('certification_certificates').set({ status, ended_at: at, reason, replaced_by: replacedBy })
      .where('id', '=', id).where('status', '=', 'active').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
  revoked(db: Executor, limit: number, after?: { at: Date; id: string }): Promise<CertificateRow[]> {
    let q = db.selectFrom('certification_certificates').selectAll().where('status', '=', 'revoked');
    if (after) q = q.where((eb) => eb.or([eb('ended_at', '>', after.at), eb.and([eb('ended_at', '=', after.at), eb('id', '>', after.id)])]));
    return q.orderBy('ended_at').orderBy('id').limit(limit).execute();
  },

  insertHistory(db: Executor, row: Insertable<CertificationHistoryTable>) {
    return db.insertInto('certification_history').values(row).execute();
  },
  history(db: Executor, agentId: string, limit: number): Promise<HistoryRow[]> {
    return db.selectFrom('certification_history').selectAll().where('agent_id', '=', agentId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  },

  badges(db: Executor, agentId: string): Promise<BadgeRow[]> {
    return db.selectFrom('certification_badges').selectAll().where('agent_id', '=', agentId).orderBy('earned_at').orderBy('badge').execute();
  },
  badgesOf(db: Executor, agentIds: readonly string[]): Promise<BadgeRow[]> {
    if (agentIds.length === 0) return Promise.resolve([]);
    return db.selectFrom('certification_badges').selectAll().where('agent_id', 'in', agentIds).execute();
  },
  /** Inserts earned badges; a badge already held stays as first earned. Returns the badges that were new. */
  async jobMarker(db: Executor, job: string): Promise<Date | null> {
    const r = await db.selectFrom('certification_job_markers').select('marker').where('job', '=', job).executeTakeFirst();
    return r?.marker ?? null;
  },
  async setJobMarker(db: Executor, job: string, marker: Date, at: Date): Promise<void> {
    await db.insertInto('certification_job_markers').values({ job, marker, updated_at: at })
      .onConflict((oc) => oc.column('job').doUpdateSet({ marker, updated_at: at })).execute();
  },

  async insertBadges(db: Executor, rows: Insertable<CertificationBadgesTable>[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const r = await db.insertInto('certification_badges').values(rows).onConflict((oc) => oc.columns(['agent_id', 'badge']).doNothing()).returning('badge').execute();
    return r.map((x) => x.badge);
  },

  insertPartnership(db: Executor, row: Insertable<CertificationPartnershipsTable>) {
    return db.insertInto('certification_partnerships').values(row).execute();
  },
  partnership(db: Executor, id: string): Promise<PartnershipRow | undefined> {
    return db.selectFrom('certification_partnerships').selectAll().where('id', '=', id).executeTakeFirst();
  },
  partnershipsOf(db: Executor, agentId: string, status?: string): Promise<PartnershipRow[]> {
    let q = db.selectFrom('certification_partnerships').selectAll().where('agent_id', '=', agentId);
    if (status) q = q.where('status', '=', status as never);
    return q.orderBy('created_at').execute();
  },
  /** Moves a partnership from one of `from` to `to`; undefined when it was not in one of them. */
  updatePartnership(db: Executor, id: string, from: string[], set: Partial<Pick<PartnershipRow, 'status' | 'decided_by' | 'reason' | 'updated_at'>> & { history: string }) {
    return db.updateTable('certification_partnerships').set(set).where('id', '=', id).where('status', 'in', from as never[]).returningAll().executeTakeFirst();
  },
};
