/**
 * Certification through the HTTP API on a manual clock: identity proofs, levels granted exactly when their
 * chain holds on live data (platform-measured uptime from heartbeats, buyer-measured trades, verifier
 * verdicts), signed certificates checked offline, key rotation, re-verification downgrading an agent whose
 * uptime dropped (stream event, history, revocation list), and Sybil buyers that do not count.
 *
 * Below the API, in one place (`seedChallenges`): the verifier's verdicts are inserted as rows of its table,
 * as its run would leave them (running the real verifier needs sellers computing challenge digests; the
 * verifier's own tests cover that path).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { buildTestApp, HOUR, DAY, type Json, type TestAgent, type TestApp } from './helpers/test-app.js';
import { uuidv7 } from '../src/platform/ids.js';
import { verifyCertificate, type KeysFile } from '../src/modules/certification/certificates.js';

const run = promisify(execFile);
let t: TestApp;
let seller: TestAgent;
let T0: number;

const beat = (a: TestAgent) => t.post(`/v1/agents/${a.id}/heartbeat`, a.auth);

async function seedChallenges(sellerId: string, passed: number, failed = 0) {
  const now = t.clock.now();
  for (let i = 0; i < passed + failed; i++) {
    await t.db.database.db.insertInto('verifier_challenges').values({
      id: uuidv7(), seller_id: sellerId, listing_id: uuidv7(), request_id: null, negotiation_id: null, agreement_id: null, workload: 'hash-chain',
      seed: 'ab', size: 10, expected_digest: 'x', amount: 1n, state: i < passed ? 'passed' : 'failed', result: JSON.stringify({ reason: 'seeded' }),
      score_at_start: 0, created_at: now, updated_at: now, finished_at: now,
    }).execute();
  }
}

/** `n` trades of `s`, each with a new funded buyer who confirms with its own measurements. */
async function trades(s: TestAgent, n: number, m: { latencyMs: number; accuracy: number }, buyerOpts: Json = {}) {
  const listing = await t.listing(s, { capacity: 1000 });
  for (let i = 0; i < n; i++) {
    const b = await t.fundedBuyer('100', buyerOpts);
    const a = await t.agreement(b, s, listing.id, { quantity: 1, fund: true });
    expect((await t.post(`/v1/agreements/${a.id}/deliver`, s.auth, {})).statusCode).toBe(200);
    const c = await t.post(`/v1/agreements/${a.id}/confirm`, b.auth, { measurements: m });
    expect(c.statusCode, c.body).toBe(200);
  }
}

async function proveIdentity(a: TestAgent) {
  const ch = await t.post(`/v1/agents/${a.id}/identity/challenge`, a.auth);
  expect(ch.statusCode, ch.body).toBe(201);
  const { challengeId, payload } = ch.json();
  const v = await t.post(`/v1/agents/${a.id}/identity/verify`, a.auth, { challengeId, signature: sign(null, Buffer.from(payload), a.key).toString('base64') });
  expect(v.statusCode, v.body).toBe(200);
}

const apply = (a: TestAgent, level: string) => t.post('/v1/certifications', a.auth, { agentId: a.id, level });
const keys = async (): Promise<KeysFile> => (await t.get('/.well-known/agent-economy-keys.json')).json();

beforeAll(async () => {
  t = await buildTestApp({ heartbeatIntervalSeconds: 3600 });
  T0 = t.clock.now().getTime();
  seller = await t.newAgent({ type: 'provider' });
  // 30 days of presence, once in the middle of each one-hour slot: as the platform records an agent that
  // holds GET /v1/stream open (the service call, not 720 HTTP heartbeats; the heartbeat route is covered below)
  // (presence counts once the agent sent a heartbeat of its own: the first one is)
  for (let h = 0; h < 30 * 24; h++) {
    t.clock.set(T0 + h * HOUR + HOUR / 2);
    if (h === 0) expect((await beat(seller)).statusCode).toBe(200);
    else await t.app.services.availability.presence(seller.id);
  }
  t.clock.set(T0 + 30 * DAY);
  expect((await beat(seller)).statusCode).toBe(200);
  await trades(seller, 10, { latencyMs: 40, accuracy: 0.99 });
}, 300_000);

afterAll(async () => t.close());

describe('identity verification', () => {
  it('a level is refused without a proof of the registered key, naming the requirement', async () => {
    const r = await apply(seller, 'basic');
    expect(r.statusCode).toBe(422);
    const p = r.json();
    expect(p.code).toBe('unprocessable');
    expect(p.failed.map((f: Json) => f.requirement)).toEqual(['identity_verified', 'basic_performance']);
    expect(p.failed[1].shortfalls).toEqual([
      { metric: 'verifierChallengesPassed', actual: 0, required: 1, comparison: '>=', gap: 1 },
      { metric: 'verifierPassRate', actual: null, required: 0.8, comparison: '>=', gap: null },
    ]);
    expect(p.failed[0].toMeet).toContain('identity/challenge');
  });

  it('a wrong signature, another agent, a used or an expired challenge is refused and changes nothing', async () => {
    const other = await t.newAgent();
    const ch = (await t.post(`/v1/agents/${seller.id}/identity/challenge`, seller.auth)).json();
    expect((await t.post(`/v1/agents/${seller.id}/identity/challenge`, other.auth)).statusCode).toBe(403);
    // signed by a different key
    const bad = await t.post(`/v1/agents/${seller.id}/identity/verify`, seller.auth, { challengeId: ch.challengeId, signature: sign(null, Buffer.from(ch.payload), other.key).toString('base64') });
    expect(bad.statusCode).toBe(422);
    // a signature over other bytes
    const other2 = await t.post(`/v1/agents/${seller.id}/identity/verify`, seller.auth, { challengeId: ch.challengeId, signature: sign(null, Buffer.from(`${ch.payload}x`), seller.key).toString('base64') });
    expect(other2.statusCode).toBe(422);
    expect((await t.get(`/v1/agents/${seller.id}/certifications`)).json().identityVerified).toBe(false);
    // the right signature once: verified; again: 409
    const good = { challengeId: ch.challengeId, signature: sign(null, Buffer.from(ch.payload), seller.key).toString('base64') };
    expect((await t.post(`/v1/agents/${seller.id}/identity/verify`, other.auth, good)).statusCode).toBe(403);
    expect((await t.post(`/v1/agents/${seller.id}/identity/verify`, seller.auth, good)).statusCode).toBe(200);
    expect((await t.post(`/v1/agents/${seller.id}/identity/verify`, seller.auth, good)).statusCode).toBe(409);
    // an expired one
    const late = (await t.post(`/v1/agents/${other.id}/identity/challenge`, other.auth)).json();
    t.clock.advance(11 * 60_000);
    const exp = await t.post(`/v1/agents/${other.id}/identity/verify`, other.auth, { challengeId: late.challengeId, signature: sign(null, Buffer.from(late.payload), other.key).toString('base64') });
    expect(exp.statusCode).toBe(422);
    expect(exp.json().detail).toContain('expired');
    await beat(seller);
    expect((await t.get(`/v1/agents/${seller.id}/certifications`)).json().identityVerified).toBe(true);
  });

  it('the operator records KYC for the owner (who and when)', async () => {
    const r = await t.post(`/v1/admin/agents/${seller.id}/attestations`, t.admin, { kind: 'kyc', evidence: { description: 'passport checked' }, expiresAt: t.iso(365 * DAY), reviewedBy: 'ops:alice' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ kind: 'kyc', subject: seller.publicKey, reviewedBy: 'ops:alice' });
    expect((await t.post(`/v1/admin/agents/${seller.id}/attestations`, seller.auth, { kind: 'kyc', evidence: { description: 'x' }, expiresAt: t.iso(DAY), reviewedBy: 'me' })).statusCode).toBe(403);
    const c = (await t.get(`/v1/agents/${seller.id}/certifications`)).json();
    expect(c.kyc).toMatchObject({ reviewedBy: 'ops:alice', at: t.clock.now().toISOString() });
  });
});

describe('levels and certificates', () => {
  let advanced: Json;
  let enterprise: Json;

  it('each level is granted exactly when its chain holds', async () => {
    await seedChallenges(seller.id, 6);
    // security_compliant missing: enterprise refused naming only that
    const e = await apply(seller, 'enterprise');
    expect(e.statusCode).toBe(422);
    expect(e.json().failed.map((f: Json) => f.requirement)).toEqual(['security_compliant']);
    const check = (await t.get(`/v1/agents/${seller.id}/certifications/check?level=advanced`, seller.auth)).json();
    expect(check.granted).toBe(true);
    expect(check.requirements.find((r: Json) => r.requirement === 'high_performance').evidence).toMatchObject({ independentBuyers: 10, medianBuyerLatencyMs: 40, meanBuyerAccuracy: 0.99 });
    expect((await t.get(`/v1/agents/${seller.id}/certifications/check?level=advanced`)).statusCode).toBe(401);
    const a = await apply(seller, 'advanced');
    expect(a.statusCode, a.body).toBe(201);
    advanced = a.json();
    expect(advanced).toMatchObject({ level: 'advanced', status: 'active', agentId: seller.id });
    expect(Date.parse(advanced.expiresAt) - Date.parse(advanced.issuedAt)).toBe(365 * DAY);
    expect(advanced.file.certificate.requirements.map((r: Json) => r.requirement)).toEqual(['identity_verified', 'basic_performance', 'reliability_proven', 'high_performance']);
    // a lower level than the live one: 409
    expect((await apply(seller, 'basic')).statusCode).toBe(409);
    // the security review lands: enterprise is granted and replaces advanced
    expect((await t.post(`/v1/admin/agents/${seller.id}/attestations`, t.admin, { kind: 'security', evidence: { description: 'pentest report', digest: 'sha256:abc' }, expiresAt: t.iso(200 * DAY), reviewedBy: 'ops:bob' })).statusCode).toBe(201);
    const en = await apply(seller, 'enterprise');
    expect(en.statusCode, en.body).toBe(201);
    enterprise = en.json();
    expect((await t.get(`/v1/certifications/${advanced.id}`)).json()).toMatchObject({ status: 'superseded', replacedBy: enterprise.id });
    const prof = (await t.get(`/v1/agents/${seller.id}/profile`)).json();
    expect(prof.certification).toMatchObject({ level: 'enterprise', certificateId: enterprise.id, identityVerified: true });
  });

  it('a certificate verifies offline and fails after one changed byte', async () => {
    const k = await keys();
    expect(verifyCertificate(enterprise.file, k, t.clock.now().getTime())).toMatchObject({ valid: true, level: 'enterprise', expired: false });
    const text = JSON.stringify(enterprise.file);
    const i = text.indexOf('"enterprise"') + 2;
    const changed = JSON.parse(text.slice(0, i) + 'E' + text.slice(i + 1));
    expect(verifyCertificate(changed, k, t.clock.now().getTime())).toMatchObject({ valid: false });
    const sig = Buffer.from(enterprise.file.signature, 'base64');
    sig[5] = sig[5]! ^ 1;
    expect(verifyCertificate({ ...enterprise.file, signature: sig.toString('base64') }, k, t.clock.now().getTime()).valid).toBe(false);
  });

  it('a rotated key still verifies old certificates; new ones are signed with the new key', async () => {
    const before = await keys();
    const r = await t.post('/v1/admin/certification/keys/rotate', t.admin);
    expect(r.statusCode).toBe(200);
    expect((await t.post('/v1/admin/certification/keys/rotate', seller.auth)).statusCode).toBe(403);
    const after = await keys();
    expect(after.keys).toHaveLength(before.keys.length + 1);
    expect(after.keys.filter((x) => x.retiredAt === null).map((x) => x.keyId)).toEqual([r.json().keyId]);
    expect(verifyCertificate(enterprise.file, after, t.clock.now().getTime()).valid).toBe(true);
    // a keys file without the retired key cannot verify it
    expect(verifyCertificate(enterprise.file, after.keys.filter((x) => x.keyId !== enterprise.file.keyId), t.clock.now().getTime()).valid).toBe(false);
  });

  it('re-verification downgrades an agent whose uptime dropped: stream event, history, revocation list', async () => {
    // nothing changed: the job keeps it
    expect((await t.post('/v1/admin/certification/reverify', t.admin)).json()).toMatchObject({ checked: 1, kept: 1 });
    // two days without a heartbeat: 28 of the last 30 days up (93 %)
    t.clock.advance(2 * DAY);
    const run = (await t.post('/v1/admin/certification/reverify', t.admin)).json();
    expect(run).toMatchObject({ checked: 1, downgraded: 1 });
    const c = (await t.get(`/v1/agents/${seller.id}/certifications`)).json();
    expect(c.level).toBe('basic');
    const old = c.certificates.find((x: Json) => x.id === enterprise.id);
    expect(old.status).toBe('revoked');
    expect(old.reason).toContain('reliability_proven');
    const fresh = c.certificates.find((x: Json) => x.status === 'active');
    expect(fresh.level).toBe('basic');
    expect(fresh.file.keyId).not.toBe(enterprise.file.keyId); // signed by the rotated key
    expect(c.history.map((h: Json) => h.action)).toContain('downgraded');
    const revoked = (await t.get('/v1/certifications/revoked')).json();
    expect(revoked.data.map((x: Json) => x.certificateId)).toEqual([enterprise.id]);
    const events = await sql<{ type: string; agent_ids: string[]; data: Json }>`SELECT type, agent_ids, data FROM outbox_events WHERE type LIKE 'certification.%' ORDER BY seq`.execute(t.db.database.db);
    const down = events.rows.find((e) => e.type === 'certification.downgraded');
    expect(down?.agent_ids).toEqual([seller.id]);
    expect(down?.data).toMatchObject({ certificateId: enterprise.id, level: 'enterprise', to: 'basic' });
    // the job again: nothing more to do
    expect((await t.post('/v1/admin/certification/reverify', t.admin)).json()).toMatchObject({ checked: 1, kept: 1 });
  });

  it('agent-economy verify-cert checks a file offline: valid, altered, revoked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-cert-'));
    const f = (name: string, v: unknown) => { const p = path.join(dir, name); writeFileSync(p, JSON.stringify(v)); return p; };
    const keysFile = f('keys.json', await keys());
    const cert = f('cert.json', (await t.get(`/v1/certifications/${enterprise.id}`)).json());
    const altered = f('altered.json', { ...enterprise.file, certificate: { ...enterprise.file.certificate, agentId: seller.id.slice(0, -1) + (seller.id.endsWith('0') ? '1' : '0') } });
    const revokedFile = f('revoked.json', (await t.get('/v1/certifications/revoked')).json());
    const cli = (args: string[]) => run('node', [path.resolve('bin/agent-economy.js'), 'verify-cert', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } })
      .then((r) => ({ code: 0, out: JSON.parse(r.stdout) as Json }), (e: { code: number; stdout: string }) => ({ code: e.code, out: JSON.parse(e.stdout || '{}') as Json }));
    const ok = await cli([cert, '--keys', keysFile]);
    expect(ok).toMatchObject({ code: 0, out: { ok: true, valid: true, level: 'enterprise', revocationChecked: false } });
    expect(await cli([altered, '--keys', keysFile])).toMatchObject({ code: 1, out: { ok: false, valid: false } });
    const rev = await cli([cert, '--keys', keysFile, '--revoked', revokedFile]);
    expect(rev).toMatchObject({ code: 1, out: { ok: false, valid: true, revocationChecked: true } });
    expect(rev.out.revoked.reason).toContain('reliability_proven');
  }, 300_000);

  it('renews before expiry when the level still holds', async () => {
    const before = (await t.get(`/v1/agents/${seller.id}/certifications`)).json().certificates.find((x: Json) => x.status === 'active');
    t.clock.advance(340 * DAY);
    // fresh evidence for the new window (heartbeats do not matter for basic)
    await seedChallenges(seller.id, 2);
    await trades(seller, 3, { latencyMs: 200, accuracy: 0.9 });
    const r = (await t.post('/v1/admin/certification/reverify', t.admin)).json();
    expect(r).toMatchObject({ renewed: 1 });
    const now = (await t.get(`/v1/agents/${seller.id}/certifications`)).json();
    expect((await t.get(`/v1/certifications/${before.id}`)).json()).toMatchObject({ status: 'superseded', reason: 'renewed before expiry' });
    expect(now.certificates.find((x: Json) => x.status === 'active').level).toBe('basic');
  });
});

describe('matching', () => {
  it('a request requiring advanced never matches a basic seller; diagnostics count what the level eliminated', async () => {
    // the seller holds a live basic certificate now (downgraded, then renewed); another seller holds none
    expect((await t.get(`/v1/agents/${seller.id}/certifications`)).json().level).toBe('basic');
    const board = (await t.get('/v1/leaderboard?limit=200')).json().data as Json[];
    expect(board.find((e) => e.agentId === seller.id)).toMatchObject({ certificationLevel: 'basic' });
    expect(board.filter((e) => e.certificationLevel !== null).map((e) => e.agentId)).toEqual([seller.id]);
    const plain = await t.newAgent({ type: 'provider' });
    const mine = await t.listing(seller);
    const theirs = await t.listing(plain);
    const buyer = await t.fundedBuyer('100');
    const matches = async (body: Json) => {
      const r = await t.tradeRequest(buyer, body);
      const m = await t.get(`/v1/trade-requests/${r.id}/matches?limit=5`, buyer.auth);
      expect(m.statusCode, m.body).toBe(200);
      return { request: r, m: m.json() };
    };
    const any = await matches({});
    expect(any.m.candidates.map((c: Json) => c.listingId)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    const basic = await matches({ minCertificationLevel: 'basic' });
    expect(basic.request.minCertificationLevel).toBe('basic');
    expect(basic.m.candidates.length).toBeGreaterThan(0);
    expect([...new Set(basic.m.candidates.map((c: Json) => c.sellerId))]).toEqual([seller.id]);
    expect(basic.m.candidates[0].rank).toBe(1);
    expect(basic.m.diagnostics.byConstraint.min_certification).toBeGreaterThanOrEqual(1);
    const adv = await matches({ minCertificationLevel: 'advanced' });
    expect(adv.m.candidates).toEqual([]);
    expect(adv.m.diagnostics.byConstraint.min_certification).toBe(any.m.candidates.length);
    expect(adv.m.diagnostics.message).toContain('below certification level advanced');
    expect((await t.post('/v1/trade-requests', buyer.auth, { category: 'gpu_compute', quantity: 1, budget: { max: '3' }, deadline: t.iso(HOUR), minCertificationLevel: 'gold' })).statusCode).toBe(400);
  });
});

describe('attacks', () => {
  it('Sybil buyers sharing the seller\'s key are not independent buyers', async () => {
    const s = await t.newAgent({ type: 'provider' });
    await proveIdentity(s);
    await seedChallenges(s.id, 3);
    await trades(s, 4, { latencyMs: 10, accuracy: 1 }, { publicKey: s.publicKey });
    const r = await apply(s, 'basic');
    expect(r.statusCode).toBe(422);
    const bp = r.json().failed.find((f: Json) => f.requirement === 'basic_performance');
    expect(bp.evidence).toMatchObject({ independentBuyers: 0, excludedTrades: { sameKey: 4 } });
  });
});

describe('bad input', () => {
  it('unknown agents and certificates are 404, bad levels 400', async () => {
    expect((await t.get(`/v1/certifications/${uuidv7()}`)).statusCode).toBe(404);
    expect((await t.get(`/v1/agents/${uuidv7()}/certifications`)).statusCode).toBe(404);
    expect((await t.post('/v1/certifications', seller.auth, { agentId: seller.id, level: 'platinum' })).statusCode).toBe(400);
    expect((await t.post('/v1/certifications', t.admin, { agentId: uuidv7(), level: 'basic' })).statusCode).toBe(404);
    const other = await t.newAgent();
    expect((await t.post('/v1/certifications', other.auth, { agentId: seller.id, level: 'basic' })).statusCode).toBe(403);
  });
});
