/** Starting the real server: config -> admin key -> database -> migrations -> buildApp -> listen. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { createDatabase, type Database } from './platform/db/database.js';
import { migrateToLatest } from './platform/db/migrate.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/logger.js';

/**
 * The operator key: ADMIN_KEY when set; in embedded mode otherwise a generated key kept in
 * DATA_DIR/admin-key (mode 0600), created on first start and reused after.
 */
export function resolveAdminKey(config: Config, logger: Logger): string {
  if (config.adminKey) return config.adminKey;
  const file = path.join(config.dataDir, 'admin-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    logger.info({ file }, `ADMIN_KEY not set: using the operator key stored in ${file}`);
    return key;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = `admin_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  logger.warn({ file }, `ADMIN_KEY not set: generated an operator key and stored it in ${file}`);
  return key;
}

export async function openDatabase(config: Config): Promise<Database> {
  return createDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'pglite'),
    poolSize: config.dbPoolSize,
  });
}

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  close(): Promise<void>;
}

/**
 * Runs the modules' periodic work (hold expiry, escrow timers, recomputes) on timers. A job never
 * overlaps itself; jobs are written to be safe when several processes run them at once.
 */
export function startJobs(app: FastifyInstance, logger: Logger): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  for (const job of app.services.jobs) {
    let running = false;
    const t = setInterval(() => {
      if (running || stopped) return;
      running = true;
      job.run()
        .catch((err: unknown) => logger.error({ err, job: job.name }, 'background job failed'))
        .finally(() => { running = false; });
    }, job.intervalMs);
    t.unref();
    timers.push(t);
  }
  return () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
  };
}

export async function startServer(config: Config, opts: { clock?: Clock; logger?: Logger; jobs?: boolean } = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const adminKey = resolveAdminKey(config, logger);
  const database = await openDatabase(config);
  // Listen first, migrate second: /healthz answers at once, /readyz turns 200 when the schema is current.
  const ready = migrateToLatest(database.db).then((result) => {
    const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
    if (applied.length) logger.info({ applied }, 'migrations applied');
  });
  const app = await buildApp({ config, database, clock: opts.clock ?? systemClock, logger, adminKey, ready });
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info(`agent-economy listening on ${address} (database: ${database.kind}); docs at ${address}/docs`);
  await ready;
  logger.info('ready');
  const stopJobs = opts.jobs === false ? () => undefined : startJobs(app, logger);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    stopJobs();
    await app.close();
    await database.close();
  };
  return { app, database, url: address, close };
}
