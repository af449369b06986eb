/** Starting the real server: config -> admin key -> database -> migrations -> buildApp -> listen. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { createDatabase, type Database } from './database.js';
import { migrateToLatest } from './platform/db/migrate.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/logger.js';
import { PostgresLeadership, soleLeadership, type Leadership } from './platform/jobs/leadership.js';

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
    // Next to the compiled CLI (dist/); absent when running the sources, then initdb runs.
    pgliteTemplate: fileURLToPath(new URL('./pglite-template.tar.gz', import.meta.url)),
  });
}

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** Drains and closes; safe to call more than once. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Runs the modules' periodic work (hold expiry, escrow timers, recomputes) on timers. A job never overlaps
 * itself in a process. A `cluster` job (the default) runs only in the process that leads it (`leadership`:
 * an advisory lock per job on PostgreSQL, src/platform/jobs/leadership.ts; every job in a lone PGlite
 * process); a `process` job runs in every process. The stop function gives up the leads.
 */
export function startJobs(app: FastifyInstance, logger: Logger, leadership: Leadership = soleLeadership()): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  for (const job of app.services.jobs) {
    let current: Promise<void> | undefined;
    const cluster = (job.scope ?? 'cluster') === 'cluster';
    const t = setInterval(() => {
      if (current || stopped) return;
      const p: Promise<void> = (async () => {
        if (cluster && !(await leadership.lead(job.name))) return;
        if (stopped) return;
        await job.run();
      })()
        .then(() => undefined, (err: unknown) => { logger.error({ err, job: job.name }, 'background job failed'); })
        .finally(() => { running.delete(p); current = undefined; });
      current = p;
      running.add(p);
    }, job.intervalMs);
    t.unref();
    timers.push(t);
  }
  /** Stops the timers, waits for the jobs that were running, then gives up the leads. */
  return async () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    await Promise.all([...running]);
    await leadership.close();
  };
}

/** DATA_DIR/server.json: where the server using this data dir listens (read by the CLI). */
export function serverFile(config: Config): string {
  return path.join(config.dataDir, 'server.json');
}

/** The running server recorded in DATA_DIR, if its process is alive. */
export function runningServerOf(config: Config): { pid: number; url: string } | undefined {
  try {
    const rec = JSON.parse(readFileSync(serverFile(config), 'utf8')) as { pid: number; url: string };
    process.kill(rec.pid, 0);
    return rec;
  } catch {
    return undefined;
  }
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
  const leadership = config.databaseUrl
    ? new PostgresLeadership({ url: config.databaseUrl, onLost: (err, jobs) => logger.warn({ err, jobs }, 'job leadership lost; another process takes over') })
    : soleLeadership();
  const stopJobs = opts.jobs === false ? async () => undefined : startJobs(app, logger, leadership);
  const record = !config.databaseUrl && opts.jobs !== false;
  if (record) {
    const port = (app.server.address() as { port: number }).port;
    writeFileSync(serverFile(config), `${JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${port}` })}\n`);
  }
  let closing: Promise<void> | undefined;
  // Stop taking requests and drain those in flight (Fastify answers 503 to new ones meanwhile; open
  // streams are cut after drainMs), let running jobs finish, then close the database.
  const close = (drainMs = 10_000) => (closing ??= (async () => {
    const cut = setTimeout(() => app.server.closeAllConnections(), drainMs);
    cut.unref();
    try {
      await Promise.all([app.close(), stopJobs()]);
    } finally {
      clearTimeout(cut);
      await database.close();
      if (record) rmSync(serverFile(config), { force: true });
    }
  })());
  return { app, database, url: address, close };
}
