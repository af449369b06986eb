import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, IdemHeader, errors } from '../../platform/http/schemas.js';
import { assertActsFor } from '../../platform/http/auth.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import type { CertificationService } from './certification.service.js';
import { requirementJson } from './certification.service.js';
import {
  AgentCertifications, ApplyBody, Attestation, AttestationBody, Certificate, CheckQuery, CheckResult, IdentityChallenge, IdentityVerified,
  IdentityVerifyBody, KeysFileSchema, ReverifyResult, RevokedList, RevokedQuery, RotateResult,
} from './certification.schemas.js';
import { CERTIFICATION_RULES } from './requirements.js';

export async function certificationRoutes(fastify: FastifyInstance, opts: { certification: CertificationService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { certification } = opts;
  const tags = ['certification'];
  const r = CERTIFICATION_RULES;

  app.post('/v1/agents/:id/identity/challenge', {
    schema: {
      tags, summary: 'Ask for an identity challenge (the agent itself)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      description: 'A server-issued nonce, valid 10 minutes and usable once. Sign `payload` with the Ed25519 key registered for the agent and send ' +
        'the signature to POST /v1/agents/{id}/identity/verify.',
      response: { 201: IdentityChallenge, ...errors(400, 401, 403, 404, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => reply.code(201).send(await certification.identityChallenge(req.principal, req.params.id)));

  app.post('/v1/agents/:id/identity/verify', {
    schema: {
      tags, summary: 'Prove control of the registered key (the agent itself)', params: IdParams, headers: IdemHeader, body: IdentityVerifyBody, security: AuthHeader,
      description: 'Checks the signature over the challenge payload with the key registered when it was issued (and still registered). Success uses ' +
        'the challenge and records the requirement `identity_verified`; 422 when the signature does not verify or the challenge expired, 409 when used.',
      response: { 200: IdentityVerified, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req) => certification.verifyIdentity(req.principal, req.params.id, req.body));

  app.post('/v1/admin/agents/:id/attestations', {
    schema: {
      tags: [...tags, 'operator'], summary: 'Record a reviewed attestation (operator)', params: IdParams, headers: IdemHeader, body: AttestationBody, security: AuthHeader,
      description: '`kyc`: the agent\'s owner (named by its registered public key, so every agent of that key) passed KYC. `security`: the agent passed ' +
        'a security review; a live one meets `security_compliant` (enterprise). Each records the evidence, its digest, who reviewed it, when, and its expiry.',
      response: { 201: Attestation, ...errors(400, 401, 403, 404, 422) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => reply.code(201).send(await certification.attest(req.params.id, req.body)));

  app.post('/v1/certifications', {
    schema: {
      tags, summary: 'Apply for a certification level (the agent itself or the operator)', headers: IdemHeader, body: ApplyBody, security: AuthHeader,
      description: 'Evaluates the level\'s whole chain on live data: basic <- identity_verified + basic_performance; intermediate <- basic + reliability_proven; ' +
        'advanced <- intermediate + high_performance; enterprise <- advanced + security_compliant. Performance: verifier challenge jobs passed and the latency and ' +
        `accuracy buyers measured themselves (per buyer, independent buyers only) over ${r.evidenceWindowDays} days; basic: ${r.basic_performance.minIndependentBuyers} buyers, ` +
        `p50 <= ${r.basic_performance.maxMedianLatencyMs} ms, accuracy >= ${r.basic_performance.minMeanAccuracy}, ${r.basic_performance.minChallengesPassed} challenge(s); high: ` +
        `${r.high_performance.minIndependentBuyers} buyers, p50 <= ${r.high_performance.maxMedianLatencyMs} ms, accuracy >= ${r.high_performance.minMeanAccuracy}, ` +
        `${r.high_performance.minChallengesPassed} challenges at >= ${r.high_performance.minPassRate * 100}% passed. Reliability: platform-measured uptime >= ` +
        `${r.reliability_proven.minUptime * 100}% over ${r.reliability_proven.windowDays} days (${r.reliability_proven.minCoveredDays} measured). Granted: a signed certificate ` +
        `valid ${r.validityDays} days (201). Refused: 422 with \`failed\`: each failing requirement, its shortfalls (actual vs required, gap) and what would meet it.`,
      response: { 201: Certificate, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'authenticated' },
  }, async (req, reply) => reply.code(201).send(await certification.apply(req.principal, req.body.agentId, req.body.level)));

  app.get('/v1/certifications/revoked', {
    schema: {
      tags, summary: 'The revocation list', querystring: RevokedQuery,
      description: 'Certificates revoked before their expiry (downgraded or no longer meeting their level), oldest first, with the reason. ' +
        'A certificate that verifies offline (`agent-economy verify-cert`) is also checked against this list when online.',
      response: { 200: RevokedList, ...errors(400) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 500;
    const c = decodeCursor(req.query.cursor, 2);
    let after: { at: Date; id: string } | undefined;
    if (c) {
      const [at, id] = c as [string, string];
      if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(at))) throw new AppError('validation_failed', 'cursor is not valid');
      after = { at: new Date(at), id };
    }
    const data = await certification.revoked(limit + 1, after);
    const page = data.slice(0, limit);
    const last = page[page.length - 1];
    return { issuer: 'agent-economy', generatedAt: new Date().toISOString(), data: page, nextCursor: data.length > limit && last ? encodeCursor([last.revokedAt, last.certificateId]) : null };
  });

  app.get('/v1/certifications/:id', {
    schema: {
      tags, summary: 'A certificate', params: IdParams,
      description: 'Its state (active, revoked, superseded, expired) and the signed file (`file`). Public.',
      response: { 200: Certificate, ...errors(400, 404) },
    },
  }, async (req) => certification.getCertificate(req.params.id));

  app.get('/v1/agents/:id/certifications', {
    schema: {
      tags, summary: 'An agent\'s certificates and certification history', params: IdParams,
      description: 'The live level, identity and KYC status, every certificate, and the history: identity proofs, attestations, grants, renewals, ' +
        'downgrades and revocations with their reasons. Public.',
      response: { 200: AgentCertifications, ...errors(400, 404) },
    },
  }, async (req) => certification.agentCertifications(req.params.id));

  app.get('/v1/agents/:id/certifications/check', {
    schema: {
      tags, summary: 'Evaluate a level without applying (the agent itself or the operator)', params: IdParams, querystring: CheckQuery, security: AuthHeader,
      description: 'What POST /v1/certifications would decide now, requirement by requirement, with the evidence and what is missing.',
      response: { 200: CheckResult, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    assertActsFor(req.principal, req.params.id);
    const res = await certification.check(req.params.id, req.query.level);
    return { level: res.level, granted: res.granted, requirements: res.requirements.map(requirementJson) };
  });

  app.get('/.well-known/agent-economy-keys.json', {
    schema: {
      tags, summary: 'The service\'s certificate signing keys',
      description: 'Every Ed25519 key that signed certificates: the active one (retiredAt null) and retired ones, which stay listed so old ' +
        'certificates keep verifying. Save it for offline checks (`agent-economy verify-cert FILE --keys keys.json`).',
      response: { 200: KeysFileSchema },
    },
    config: { rateLimit: false },
  }, async () => certification.keysFile());

  app.post('/v1/admin/certification/keys/rotate', {
    schema: {
      tags: [...tags, 'operator'], summary: 'Rotate the signing key (operator)', headers: IdemHeader, security: AuthHeader,
      description: 'Retires the active key (it stays published) and makes a new one that signs certificates from now on.',
      response: { 200: RotateResult, ...errors(401, 403) },
    },
    config: { auth: 'admin' },
  }, async () => certification.rotateKey());

  app.post('/v1/admin/certification/reverify', {
    schema: {
      tags: [...tags, 'operator'], summary: 'Re-verify every live certificate now (operator)', headers: IdemHeader, security: AuthHeader,
      description: 'What the background job certification.reverify does every 10 minutes: downgrade or revoke with the reason, renew before expiry.',
      response: { 200: ReverifyResult, ...errors(401, 403) },
    },
    config: { auth: 'admin' },
  }, async () => certification.reverify());
}
