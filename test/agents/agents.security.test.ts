/** Agents, keys and permissions: the key is stored only as its hash, mutating routes need the agent's own key, a deactivated key stops working. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { buildTestApp, problem, type TestApp } from '../helpers/test-app.js';

describe('agents', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t?.close(); });

  it('store only the hash of their key, and never show it again', async () => {
    const a = await t.newAgent();
    const row = await t.db.database.db.selectFrom('agents').selectAll().where('id', '=', a.id).executeTakeFirstOrThrow();
    expect(row.api_key_hash).toBe(createHash('sha256').update(a.apiKey).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(a.apiKey);
    const get = await t.app.inject(`/v1/agents/${a.id}`);
    expect(get.statusCode).toBe(200);
    expect(get.body).not.toContain(a.apiKey);
  });

  it('refuse every mutating route without a key (401), with a wrong key (401) and with another agent\'s key (403)', async () => {
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
    expect((await t.app.inject(`/v1/agents/${a.id}`)).json()).toMatchObject({ status: 'active', displayName: expect.stringMatching(/^agent-/) });
  });

  it('a deactivated agent\'s key stops working', async () => {
    const a = await t.newAgent();
    expect((await t.del(`/v1/agents/${a.id}`, a.auth)).statusCode).toBe(200);
    const again = await t.patch(`/v1/agents/${a.id}`, a.auth, { displayName: 'y' });
    expect(again.statusCode).toBe(401);
    expect(problem(again).code).toBe('unauthorized');
  });

  it('the operator may deactivate any agent', async () => {
    const b = await t.registerAgent();
    expect((await t.del(`/v1/agents/${b.id}`, t.admin)).statusCode).toBe(200);
    expect((await t.app.inject(`/v1/agents/${b.id}`)).json().status).toBe('deactivated');
  });
});
