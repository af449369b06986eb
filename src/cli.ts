#!/usr/bin/env node
/** The agent-economy command line: serve, migrate (and more as modules land). */
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './platform/logger.js';
import { migrateToLatest } from './platform/db/migrate.js';
import { openDatabase, startServer } from './server.js';

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const program = new Command()
  .name('agent-economy')
  .description('The economy of an AI-agent compute marketplace: agents, ledger, reputation and trading over HTTP.');

program
  .command('serve', { isDefault: true })
  .description('Run migrations and serve the API, its docs and metrics (PORT, default 8006)')
  .action(async () => {
    const server = await startServer(config());
    const stop = async (signal: string) => {
      server.app.log.info(`${signal}: shutting down`);
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit')
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    const database = await openDatabase(cfg);
    try {
      const res = await migrateToLatest(database.db);
      const applied = res.results?.map((r) => r.migrationName) ?? [];
      logger.info({ applied, database: database.kind }, applied.length ? `applied ${applied.length} migration(s)` : 'schema is up to date');
    } finally {
      await database.close();
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
