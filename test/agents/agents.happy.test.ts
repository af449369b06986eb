/** Agents, the cases that work: registration, a public key, updating and deactivating oneself, listing with filters and pages, the profile. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/test-app.js';
import { keypair } from '../helpers/signing.js';

const valid = { displayName: 'GPU farm', type: 'provider', country: 'DE', region: 'eu-west', categories: ['gpu_compute', 'training'] };

describe('agents', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => { await t?.close(); });

  it('registers an agent and returns its key once', async () => {
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
    const get = await t.app.inject(`/v1/agents/${body.agent.id}`);
    expect(get.statusCode).toBe(200);
    expect(get.json().registeredAt).toBe(new Date(Date.UTC(2026, 10, 1)).toISOString());
  });

  it('accepts a valid Ed25519 public key', async () => {
    const { publicKey } = keypair();
    const ok = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { ...valid, publicKey } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().agent.publicKey).toBe(publicKey);
  });

  it('lets an agent update itself', async () => {
    const a = await t.newAgent();
    t.clock.advance(60_000);
    const res = await t.patch(`/v1/agents/${a.id}`, a.auth, { displayName: 'Renamed', region: 'us-east-1', sla: { availability: 0.99, maxLatencyMs: 50 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ displayName: 'Renamed', region: 'us-east-1', sla: { availability: 0.99, maxLatencyMs: 50 } });
    expect(res.json().updatedAt).not.toBe(res.json().registeredAt);
    expect(res.json().updatedAt).toBe(t.clock.now().toISOString());
  });

  it('deactivates an agent: its record stays', async () => {
    const a = await t.newAgent();
    const del = await t.del(`/v1/agents/${a.id}`, a.auth);
    expect(del.statusCode).toBe(200);
    expect(del.json().status).toBe('deactivated');
    const get = await t.app.inject(`/v1/agents/${a.id}`);
    expect(get.json()).toMatchObject({ status: 'deactivated' });
    expect(get.json().deactivatedAt).toBe(t.clock.now().toISOString());
  });

  it('lists with filters and keyset pagination that visits every agent exactly once', async () => {
    // the only agents in Japan are this test's
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
  });

  it('assembles the economic profile from the modules', async () => {
    const a = await t.registerAgent({ capacity: { unit: 'gpu_hour', units: 24 }, sla: { availability: 0.99, maxLatencyMs: 100 } });
    const res = await t.app.inject(`/v1/agents/${a.id}/profile`);
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p.agent.id).toBe(a.id);
    expect(p.reputation).toEqual({ trustScore: 0, trustLevel: 'unrated', performanceRating: null, reliability: null, communityRating: null, observations: 0 });
    expect(p.economicHistory).toMatchObject({ totalEarnings: '0', totalSpent: '0', transactionCount: 0, successRate: null });
    expect(p.status.availableCapacity).toBe(24);
    expect(p.status.sla).toEqual({ availability: 0.99, maxLatencyMs: 100 });
    expect(Object.keys(p.sections).sort()).toEqual(['certification', 'economicHistory', 'reputation', 'status']);
  });
});
