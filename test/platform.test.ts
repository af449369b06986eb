import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

describe('platform endpoints', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  it('answers /healthz and /readyz', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('ready');
  });

  it('publishes OpenAPI 3.1 listing the agent routes, and renders /docs', async () => {
    const spec = (await t.app.inject('/openapi.json')).json();
    expect(spec.openapi).toBe('3.1.0');
    for (const p of ['/v1/agents', '/v1/agents/{id}', '/v1/agents/{id}/profile']) expect(spec.paths[p]).toBeDefined();
    expect(Object.keys(spec.paths['/v1/agents/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    const docs = await t.app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('exports Prometheus metrics with per-route latency and pool stats', async () => {
    await t.app.inject('/v1/agents');
    const m = (await t.app.inject('/metrics')).body;
    expect(m).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/v1\/agents"/);
    expect(m).toContain('db_pool_connections_total');
  });

  it('returns problem+json for unknown routes, with the request id', async () => {
    const res = await t.app.inject({ url: '/v1/nope', headers: { 'x-request-id': 'req-123' } });
    expect(res.statusCode).toBe(404);
    const p = problem(res);
    expect(p.code).toBe('not_found');
    expect(p.requestId).toBe('req-123');
    expect(res.headers['x-request-id']).toBe('req-123');
  });

  it('rejects malformed JSON, wrong media types and oversized bodies with 4xx', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'content-type': 'application/json' }, payload: '{"displayName": ' });
    expect(bad.statusCode).toBe(400);
    expect(problem(bad).code).toBe('invalid_json');
    const text = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(problem(text).code).toBe('unsupported_media_type');
    const big = await t.app.inject({
      method: 'POST', url: '/v1/agents', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ displayName: 'x'.repeat(2_000_000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(problem(big).code).toBe('payload_too_large');
  });
});

describe('rate limiting', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp({ rateLimitPerMinute: 3 }); });
  afterAll(async () => { await t.close(); });

  it('answers 429 problem+json per key after the limit, and counts keys separately', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await t.app.inject({ url: '/v1/agents', headers: { authorization: 'Bearer nope-a' } })).statusCode);
    expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
    const limited = await t.app.inject({ url: '/v1/agents', headers: { authorization: 'Bearer nope-a' } });
    expect(limited.statusCode).toBe(429);
    expect(problem(limited).code).toBe('rate_limited');
    // seconds until the one-minute window ends
    expect(String(limited.headers['retry-after'])).toMatch(/^[0-9]+$/);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // another key has its own budget
    expect((await t.app.inject({ url: '/v1/agents', headers: { authorization: 'Bearer nope-b' } })).statusCode).toBe(401);
    // the operator is not limited
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ url: '/v1/agents', headers: t.admin })).statusCode).toBe(200);
  });
});
