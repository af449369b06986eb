/** Agents, bad input: problem+json with the field that is wrong, and nothing changes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

const valid = { displayName: 'GPU farm', type: 'provider', country: 'DE', region: 'eu-west', categories: ['gpu_compute', 'training'] };

describe('agents', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t?.close(); });

  it('rejects a malformed public key, naming the field', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { ...valid, publicKey: 'not-a-key' } });
    expect(bad.statusCode).toBe(400);
    expect(problem(bad).errors?.[0]?.field).toBe('body.publicKey');
    expect(problem(bad).code).toBe('validation_failed');
  });

  it('answers validation failures with problem+json and field errors, and changes nothing', async () => {
    const before = (await t.app.inject({ url: '/v1/agents?limit=200', headers: t.admin })).json().data.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, type: 'robot' }, 'body.type'],
      [{ ...valid, displayName: 42 }, 'body.displayName'],
      [{ ...valid, extra: true }, 'body.extra'],
      [{ ...valid, country: 'ZZ' }, 'body.country'],
      [{ ...valid, country: 'de' }, 'body.country'],
      [{ ...valid, categories: ['gpu_compute', 'gpu_compute'] }, 'body.categories'],
      [{ ...valid, region: 'EU WEST' }, 'body.region'],
      [{ ...valid, sla: { availability: 2, maxLatencyMs: 10 } }, 'body.sla.availability'],
    ];
    for (const [payload, field] of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/agents', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const p = problem(res);
      expect(p.code).toBe('validation_failed');
      expect(p.errors?.map((e) => e.field)).toContain(field);
    }
    const missing = problem(await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { type: 'provider' } }));
    expect(missing.errors?.map((e) => e.field)).toContain('body.displayName');
    const after = (await t.app.inject({ url: '/v1/agents?limit=200', headers: t.admin })).json().data.length;
    expect(after).toBe(before);
  });

  it('a malformed id is 400, an unknown one 404', async () => {
    const badId = await t.app.inject('/v1/agents/not-a-uuid');
    expect(badId.statusCode).toBe(400);
    expect(problem(badId).code).toBe('validation_failed');
    const unknown = await t.app.inject('/v1/agents/0190aaaa-0000-7000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(problem(unknown).code).toBe('not_found');
  });

  it('an empty update is 400 and changes nothing', async () => {
    const a = await t.newAgent();
    const before = (await t.app.inject(`/v1/agents/${a.id}`)).json();
    const empty = await t.patch(`/v1/agents/${a.id}`, a.auth, {});
    expect(empty.statusCode).toBe(400);
    expect(problem(empty).code).toBe('validation_failed');
    expect((await t.app.inject(`/v1/agents/${a.id}`)).json()).toEqual(before);
  });

  it('a list query with a bad cursor, limit or type is 400', async () => {
    const bad = await t.app.inject('/v1/agents?cursor=garbage');
    expect(bad.statusCode).toBe(400);
    expect(problem(bad).code).toBe('validation_failed');
    expect((await t.app.inject('/v1/agents?limit=0')).statusCode).toBe(400);
    expect((await t.app.inject('/v1/agents?type=robot')).statusCode).toBe(400);
  });
});
