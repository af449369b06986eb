/**
 * A real HTTP server for the browser tests, screenshots and the dashboard bench: buildApp on a fresh database
 * (on PGlite restored from the migrated snapshot, test/helpers/pglite-snapshot.ts), listening on a free port,
 * with its background jobs running.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/platform/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import { startJobs } from '../../src/server.js';
import { createTestDatabase } from '../helpers/test-db.js';
import { ApiClient } from './seed.js';

export const WEB_ADMIN_KEY = 'web-test-admin-key-0123456789';

export interface WebServer { url: string; api: ApiClient; close(): Promise<void> }

export async function startWebServer(): Promise<WebServer> {
  const db = await createTestDatabase({ snapshot: true });
  const config = loadConfig({ ADMIN_KEY: WEB_ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' });
  const logger = createLogger('silent');
  const app = await buildApp({ config, database: db.database, clock: systemClock, logger, adminKey: WEB_ADMIN_KEY });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const stop = startJobs(app, logger);
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    url,
    api: new ApiClient(url, { authorization: `Bearer ${WEB_ADMIN_KEY}` }),
    async close() {
      await stop();
      app.server.closeAllConnections();
      await app.close();
      await db.cleanup();
    },
  };
}
