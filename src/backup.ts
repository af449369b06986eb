/**
 * `agent-economy backup` / `restore` (README, Backups). Embedded: a data dir a server uses is backed up
 * through that server (GET /v1/admin/backup, taken between transactions); one no process has open is
 * opened and dumped here; one open elsewhere (postmaster.pid present, no server recorded) is refused.
 * A restore checks the file, loads it into a fresh directory beside DATA_DIR/pglite, migrates it,
 * audits the ledger, and only then puts it in place (the previous database, with --force, is kept).
 * PostgreSQL: pg_dump / pg_restore (custom format, one transaction), then migrations and the audit.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from './config.js';
import { createDatabase } from './database.js';
import { migrateToLatest } from './platform/db/migrate.js';
import { BackupError, backupKind, checkPgliteArchive, pgArchiveEntries, pgDump, pgRestore } from './platform/db/backup.js';
import { createServices } from './app.js';
import { systemClock } from './platform/clock.js';

export { BackupError };

const pgliteDir = (cfg: Pick<Config, 'dataDir'>) => path.join(cfg.dataDir, 'pglite');

/** True when some process has the embedded database open (PGlite keeps postmaster.pid while open). */
export const embeddedInUse = (dir: string) => existsSync(path.join(dir, 'postmaster.pid'));

/** Writes via a temporary file in the same directory, so `file` is either absent or complete. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.partial-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

export interface BackupResult { file: string; kind: 'pglite' | 'pg_dump'; bytes: number; via: 'server' | 'data dir' | 'pg_dump' }

/** Backs up the database of `cfg` to `file`; `server` is the running server using the data dir, if any. */
export async function backup(cfg: Config, file: string, o: { server?: { url: string; adminKey: string | undefined }; schema?: string } = {}): Promise<BackupResult> {
  if (cfg.databaseUrl) {
    const tmp = `${file}.partial-${process.pid}`;
    try {
      pgDump(cfg.databaseUrl, tmp, o.schema);
      pgArchiveEntries(tmp);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
    return { file, kind: 'pg_dump', bytes: readFileSync(file).length, via: 'pg_dump' };
  }
  let bytes: Uint8Array;
  let via: BackupResult['via'];
  if (o.server) {
    const res = await fetch(`${o.server.url}/v1/admin/backup`, { headers: { authorization: `Bearer ${o.server.adminKey ?? ''}` } });
    if (!res.ok) throw new BackupError(`the server at ${o.server.url} answered ${res.status}: ${await res.text()}`);
    bytes = new Uint8Array(await res.arrayBuffer());
    via = 'server';
  } else {
    const dir = pgliteDir(cfg);
    if (!existsSync(path.join(dir, 'PG_VERSION'))) throw new BackupError(`there is no database in ${dir}`);
    if (embeddedInUse(dir)) {
      throw new BackupError(`the database in ${dir} is open in another process (postmaster.pid is present) and no server is recorded in ${cfg.dataDir}/server.json: ` +
        'stop that process, or if none runs (it was killed), run `agent-economy migrate` once to close the database cleanly, then back up');
    }
    const database = await createDatabase({ dataDir: dir });
    try {
      bytes = await database.dump!();
    } finally {
      await database.close();
    }
    via = 'data dir';
  }
  checkPgliteArchive(bytes);
  writeAtomically(file, bytes);
  return { file, kind: 'pglite', bytes: bytes.length, via };
}

export interface RestoreResult { file: string; into: string; migrationsApplied: string[]; ledgerAudit: 'ok'; previous: string | null }

async function migrateAndAudit(database: Awaited<ReturnType<typeof createDatabase>>): Promise<string[]> {
  const res = await migrateToLatest(database.db);
  const audit = await createServices({ database, clock: systemClock }).ledger.audit();
  if (!audit.ok) throw new BackupError(`the restored ledger fails its audit: ${audit.violations.join('; ')}`);
  return res.results?.map((r) => r.migrationName) ?? [];
}

/** Restores `file` into the database of `cfg` (see the file's comment). */
export async function restore(cfg: Config, file: string, o: { force?: boolean; serverRunning?: boolean } = {}): Promise<RestoreResult> {
  if (!existsSync(file)) throw new BackupError(`no such file: ${file}`);
  const bytes = readFileSync(file);
  const kind = backupKind(bytes);
  if (cfg.databaseUrl) {
    if (kind === 'pglite') throw new BackupError(`${file} is an embedded-database backup: unset DATABASE_URL to restore it into DATA_DIR`);
    pgArchiveEntries(file);
    const database = await createDatabase({ url: cfg.databaseUrl, poolSize: 2 });
    try {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`.execute(database.db);
      const n = Number(rows[0]?.n ?? 0);
      if (n > 0 && !o.force) throw new BackupError(`the database of DATABASE_URL is not empty (${n} tables): pass --force to replace what the backup holds (pg_restore --clean)`);
      pgRestore(cfg.databaseUrl, file, n > 0);
      const applied = await migrateAndAudit(database);
      return { file, into: 'DATABASE_URL', migrationsApplied: applied, ledgerAudit: 'ok', previous: null };
    } finally {
      await database.close();
    }
  }
  if (kind === 'pg_dump') throw new BackupError(`${file} is a pg_dump archive: set DATABASE_URL to restore it into PostgreSQL`);
  checkPgliteArchive(bytes);
  const target = pgliteDir(cfg);
  if (o.serverRunning) throw new BackupError(`a server is using ${cfg.dataDir}: stop it before restoring`);
  const occupied = existsSync(target) && readdirSync(target).length > 0;
  if (occupied && embeddedInUse(target)) throw new BackupError(`the database in ${target} is open in another process (postmaster.pid is present): stop it before restoring`);
  if (occupied && !o.force) throw new BackupError(`${target} is not empty: pass --force to replace it (the current database is kept beside it)`);
  const staging = `${target}.restoring-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  let applied: string[];
  try {
    const database = await createDatabase({ dataDir: staging, restore: bytes });
    try {
      applied = await migrateAndAudit(database);
    } finally {
      await database.close();
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  let previous: string | null = null;
  if (existsSync(target)) {
    previous = `${target}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(target, previous);
  }
  renameSync(staging, target);
  return { file, into: target, migrationsApplied: applied, ledgerAudit: 'ok', previous };
}
