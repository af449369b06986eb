/** buildApp on a fresh database with a manual clock, plus small helpers for route tests. */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  clock: ManualClock;
  admin: Record<string, string>;
  close(): Promise<void>;
  registerAgent(overrides?: Record<string, unknown>): Promise<{ id: string; apiKey: string; auth: Record<string, string> }>;
}

let counter = 0;

export async function buildTestApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }, overrides);
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const app = await buildApp({ config, database: db.database, clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
  await app.ready();
  return {
    app,
    db,
    clock,
    admin: { authorization: `Bearer ${ADMIN_KEY}` },
    async close() {
      await app.close();
      await db.cleanup();
    },
    async registerAgent(o = {}) {
      counter++;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/agents',
        payload: { displayName: `agent-${counter}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'], ...o },
      });
      if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`);
      const body = res.json() as { agent: { id: string }; apiKey: string };
      return { id: body.agent.id, apiKey: body.apiKey, auth: { authorization: `Bearer ${body.apiKey}` } };
    },
  };
}

export function problem(res: LightMyRequestResponse): { code: string; status: number; errors?: { field: string; message: string }[]; requestId: string; detail: string } {
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers['content-type']}: ${res.body}`);
  }
  return res.json();
}
