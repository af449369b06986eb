import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

const body = { displayName: 'idem', type: 'consumer', country: 'FR', region: 'eu-west', categories: [] };

describe('Idempotency-Key', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t.close(); });

  const count = async () =>
    Number((await t.db.database.db.selectFrom('agents').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('replays the first response for the same key and body, creating nothing new', async () => {
    const first = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-1' }, payload: body });
    expect(first.statusCode).toBe(201);
    const n = await count();
    // same body with keys in another order is the same request
    const second = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-1' }, payload: { region: 'eu-west', categories: [], country: 'FR', type: 'consumer', displayName: 'idem' } });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(await count()).toBe(n);
  });

  it('answers 409 when the key is reused with a different body, and changes nothing', async () => {
    await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-2' }, payload: body });
    const n = await count();
    const res = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-2' }, payload: { ...body, displayName: 'other' } });
    expect(res.statusCode).toBe(409);
    expect(problem(res).code).toBe('idempotency_key_reused');
    expect(await count()).toBe(n);
  });

  it('answers 409 while a request with the key is in flight, and lets a crashed one be retried after its lock expires', async () => {
    const now = t.clock.now();
    const insert = (key: string, lockedUntil: Date) =>
      t.db.database.db.insertInto('idempotency_keys').values({
        scope: 'anonymous', key, request_hash: 'will-be-compared', method: 'POST', path: '/v1/agents',
        state: 'in_flight', created_at: now, locked_until: lockedUntil,
      }).execute();
    // a live in-flight request must carry the same request hash: compute it by sending once
    const probe = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-probe' }, payload: body });
    expect(probe.statusCode).toBe(201);
    const hash = (await t.db.database.db.selectFrom('idempotency_keys').select('request_hash').where('key', '=', 'k-probe').executeTakeFirstOrThrow()).request_hash;
    await insert('k-3', new Date(now.getTime() + 60_000));
    await t.db.database.db.updateTable('idempotency_keys').set({ request_hash: hash }).where('key', '=', 'k-3').execute();
    const busy = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-3' }, payload: body });
    expect(busy.statusCode).toBe(409);
    expect(problem(busy).code).toBe('idempotency_in_flight');
    t.clock.advance(61_000);
    const retried = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'k-3' }, payload: body });
    expect(retried.statusCode).toBe(201);
  });

  it('scopes keys per caller', async () => {
    const a = await t.registerAgent();
    const b = await t.registerAgent();
    const ra = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: { ...a.auth, 'idempotency-key': 'shared' }, payload: { displayName: 'A' } });
    const rb = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${b.id}`, headers: { ...b.auth, 'idempotency-key': 'shared' }, payload: { displayName: 'B' } });
    expect(ra.statusCode).toBe(200);
    expect(rb.statusCode).toBe(200);
    expect(rb.json().displayName).toBe('B');
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
  });

  it('stores and replays error responses too, but not validation failures', async () => {
    const a = await t.registerAgent();
    const b = await t.registerAgent();
    const first = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: { ...b.auth, 'idempotency-key': 'err' }, payload: { displayName: 'x' } });
    expect(first.statusCode).toBe(403);
    const again = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${a.id}`, headers: { ...b.auth, 'idempotency-key': 'err' }, payload: { displayName: 'x' } });
    expect(again.statusCode).toBe(403);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const invalid = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'inv' }, payload: { bad: 1 } });
    expect(invalid.statusCode).toBe(400);
    const fixed = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'inv' }, payload: body });
    expect(fixed.statusCode).toBe(201);
  });

  it('rejects malformed keys', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'idempotency-key': 'x'.repeat(300) }, payload: body });
    expect(res.statusCode).toBe(400);
  });
});
