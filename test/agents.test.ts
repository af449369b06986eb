import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

const valid = { displayName: 'GPU farm', type: 'provider', country: 'DE', region: 'eu-west', categories: ['gpu_compute', 'training'] };

describe('agents: registration, auth, validation, pagination, profile', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  it('registers an agent, returns its key once and stores only its hash', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/agents',
      payload: { ...valid, capacity: { unit: 'gpu_hour', units: 96, gpuModel: 'H100', gpuCount: 4, vramGb: 80 }, sla: { availability: 0.995, maxLatencyMs: 200 } },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.apiKey).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(body.agent).toMatchObject({ displayName: 'GPU farm', type: 'provider', country: 'DE', region: 'eu-west', status: 'active', publicKey: null });
    expect(body.agent.capacity.gpuModel).toBe('H100');
    expect(res.headers.location).toBe(`/v1/agents/${body.agent.id}`);
    const row = await t.db.database.db.selectFrom('agents').selectAll().where('id', '=', body.agent.id).executeTakeFirstOrThrow();
    expect(row.api_key_hash).toBe(createHash('sha256').update(body.apiKey).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(body.apiKey);
    const get = await t.app.inject(`/v1/agents/${body.agent.id}`);
    expect(get.statusCode).toBe(200);
    expect(get.body).not.toContain(body.apiKey);
    expect(get.json().registeredAt).toBe(new Date(Date.UTC(2026, 10, 1)).toISOString());
  });

  it('accepts a valid Ed25519 public key and rejects a malformed one', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
    const ok = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { ...valid, publicKey: raw } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().agent.publicKey).toBe(raw);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { ...valid, publicKey: 'not-a-key' } });
    expect(bad.statusCode).toBe(400);
    expect(problem(bad).errors?.[0]?.field).toBe('body.publicKey');
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
    const badId = await t.app.inject('/v1/agents/not-a-uuid');
    expect(badId.statusCode).toBe(400);
    const unknown = await t.app.inject('/v1/agents/0190aaaa-0000-7000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(problem(unknown).code).toBe('not_found');
  });

  it('refuses every mutating route without a key (401), with a wrong key (401) and with another agent\'s key (403)', async () => {
    const a = await t.registerAgent();
    const b = await t.registerAgent();
    const routes = [
      { method: 'PATCH' as const, url: `/v1/agents/${a.id}`, payload: { displayName: 'x' } },
      { method: 'DELETE' as const, url: `/v1/agents/${a.id}` },
    ];
    for (const r of routes) {
      const none = await t.app.inject(r);
      expect(none.statusCode, `${r.method} none`).toBe(401);
      expect(problem(none).code).toBe('unauthorized');
      const wrong = await t.app.inject({ ...r, headers: { authorization: 'Bearer ak_wrong' } });
      expect(wrong.statusCode, `${r.method} wrong`).toBe(401);
      const malformed = await t.app.inject({ ...r, headers: { authorization: 'Basic abc' } });
      expect(malformed.statusCode, `${r.method} malformed`).toBe(401);
      const other = await t.app.inject({ ...r, headers: b.auth });
      expect(other.statusCode, `${r.method} other`).toBe(403);
      expect(problem(other).code).toBe('forbidden');
    }
    expect((await t.app.inject(`/v1/agents/${a.id}`)).json().status).toBe('active');
  });

  it('lets an agent update itself', async () => {
    const a = await t.registerAgent();
    t.clock.advance(60_000);
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: a.auth, payload: { displayName: 'Renamed', region: 'us-east-1', sla: { availability: 0.99, maxLatencyMs: 50 } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ displayName: 'Renamed', region: 'us-east-1', sla: { availability: 0.99, maxLatencyMs: 50 } });
    expect(res.json().updatedAt).not.toBe(res.json().registeredAt);
    const empty = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: a.auth, payload: {} });
    expect(empty.statusCode).toBe(400);
  });

  it('deactivates an agent: its key stops working, its record stays', async () => {
    const a = await t.registerAgent();
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/agents/${a.id}`, headers: a.auth });
    expect(del.statusCode).toBe(200);
    expect(del.json().status).toBe('deactivated');
    const again = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: a.auth, payload: { displayName: 'y' } });
    expect(again.statusCode).toBe(401);
    const get = await t.app.inject(`/v1/agents/${a.id}`);
    expect(get.json()).toMatchObject({ status: 'deactivated' });
    expect(get.json().deactivatedAt).not.toBeNull();
    // the operator may deactivate any agent
    const b = await t.registerAgent();
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/agents/${b.id}`, headers: t.admin })).statusCode).toBe(200);
  });

  it('lists with filters and keyset pagination that visits every agent exactly once', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) {
      mine.push((await t.registerAgent({ country: 'JP', region: 'ap-northeast', type: i % 2 ? 'consumer' : 'provider', categories: i % 3 ? ['inference'] : ['training'] })).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.app.inject({ url: `/v1/agents?country=JP&limit=3${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { data: { id: string; country: string }[]; nextCursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(3);
      for (const a of page.data) expect(a.country).toBe('JP');
      seen.push(...page.data.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(mine);
    const consumers = (await t.app.inject('/v1/agents?country=JP&type=consumer')).json().data;
    expect(consumers).toHaveLength(3);
    const training = (await t.app.inject('/v1/agents?country=JP&category=training')).json().data;
    expect(training.map((a: { id: string }) => a.id)).toEqual([mine[0], mine[3], mine[6]]);
    const bad = await t.app.inject('/v1/agents?cursor=garbage');
    expect(bad.statusCode).toBe(400);
    expect((await t.app.inject('/v1/agents?limit=0')).statusCode).toBe(400);
    expect((await t.app.inject('/v1/agents?type=robot')).statusCode).toBe(400);
  });

  it('assembles the economic profile from the modules', async () => {
    const a = await t.registerAgent({ capacity: { unit: 'gpu_hour', units: 24 }, sla: { availability: 0.99, maxLatencyMs: 100 } });
    const res = await t.app.inject(`/v1/agents/${a.id}/profile`);
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p.agent.id).toBe(a.id);
    expect(p.reputation).toHaveProperty('trustScore');
    expect(p.economicHistory).toHaveProperty('totalEarnings');
    expect(p.status.availableCapacity).toBe(24);
    expect(p.status.sla).toEqual({ availability: 0.99, maxLatencyMs: 100 });
    expect(Object.keys(p.sections).sort()).toEqual(['economicHistory', 'reputation', 'status']);
  });
});
