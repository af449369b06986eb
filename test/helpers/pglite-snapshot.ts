/**
 * A migrated PGlite database as a data-dir tarball (Database.dump), made once per schema and kept in the
 * operating system's temp dir, so a test database is restored from it instead of running initdb inside WASM
 * and then every migration (8 s on an idle machine, 18-30 s under load; restoring took 1-4 s: docs/decisions.md,
 * "Browser suite speed"). The file's name hashes the PGlite version, migrate.ts, every migration and the one
 * module they import (ids.ts): a changed migration makes a new snapshot, never a stale schema. The restored
 * database is still passed through migrateToLatest (a no-op when it is current), so a wrong snapshot could
 * only be caught up, not skipped. One difference from a fresh database: the system ledger accounts'
 * created_at is the snapshot's time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../../src/database.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function schemaKey(): string {
  const h = createHash('sha256');
  const pglite = JSON.parse(readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string };
  h.update(`pglite ${pglite.version}\n`);
  const dir = path.join(root, 'src', 'platform', 'db', 'migrations');
  const files = [path.join(root, 'src', 'platform', 'db', 'migrate.ts'), path.join(root, 'src', 'platform', 'ids.ts'),
    ...readdirSync(dir).sort().map((f) => path.join(dir, f))];
  for (const f of files) h.update(`${path.relative(root, f)}\n`).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** The file the snapshot of the current schema lives in. */
export function snapshotFile(): string {
  return path.join(os.tmpdir(), `agent-economy-pglite-migrated-${schemaKey()}.tar.gz`);
}

/** The migrated snapshot: read from the temp dir, or made now (then written atomically for the next run). */
export async function migratedPgliteSnapshot(): Promise<Uint8Array> {
  const file = snapshotFile();
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const db = await createDatabase({});
  try {
    await migrateToLatest(db.db);
    const dump = await db.dump!();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, dump);
    renameSync(tmp, file);
    return dump;
  } finally {
    await db.close();
  }
}

/** Drops a snapshot that could not be restored (the next call makes it again). */
export function forgetSnapshot(): void {
  rmSync(snapshotFile(), { force: true });
}
