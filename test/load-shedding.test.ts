/** Past MAX_IN_FLIGHT_REQUESTS API requests at once, a new one is shed with 503 overloaded and Retry-After. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { systemClock } from '../src/platform/clock.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

const ADMIN_KEY = 'admin_load_shedding_test_key';
let db: TestDatabase;
let app: FastifyInstance;
const held: (() => void)[] = [];
let entered = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0', MAX_IN_FLIGHT_REQUESTS: '2' });
  app = await buildApp({ config, database: db.database, clock: systemClock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
  // a route that stays in flight until the test lets it go (the test's stand-in for a slow request)
  app.get('/v1/test/held', { config: { auth: 'public' } } as never, async () => {
    entered++;
    await new Promise<void>((resolve) => held.push(resolve));
    return { ok: true };
  });
  await app.ready();
}, 60_000);
afterAll(async () => {
  await app?.close();
  await db?.cleanup();
});

describe('load shedding', () => {
  it('sheds the request past the limit with 503 overloaded and Retry-After, and serves again once one finishes', async () => {
    const a = app.inject({ method: 'GET', url: '/v1/test/held' });
    const b = app.inject({ method: 'GET', url: '/v1/test/held' });
    while (entered < 2) await new Promise((r) => setTimeout(r, 5));
    const shed = await app.inject({ method: 'GET', url: '/v1/agents?limit=1' });
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.json()).toMatchObject({ code: 'overloaded', status: 503 });
    // not counted: health and readiness still answer
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    held.shift()!();
    expect((await a).statusCode).toBe(200);
    const served = await app.inject({ method: 'GET', url: '/v1/agents?limit=1' });
    expect(served.statusCode).not.toBe(503);
    held.shift()!();
    expect((await b).statusCode).toBe(200);
  });
});
