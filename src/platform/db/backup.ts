/**
 * Backups. Embedded (PGlite): the data dir as a gzipped tarball (Database.dump), checked here before a
 * restore: the gzip CRC, every tar header's checksum, and the files a PostgreSQL data dir cannot lack.
 * PostgreSQL: pg_dump's custom format, made and restored by the pg_dump/pg_restore on PATH.
 */
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export type BackupKind = 'pglite' | 'pg_dump';

/** What a backup file is, from its first bytes (gzip: an embedded backup; PGDMP: pg_dump's custom format). */
export function backupKind(bytes: Uint8Array): BackupKind | undefined {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'pglite';
  if (Buffer.from(bytes.subarray(0, 5)).toString('latin1') === 'PGDMP') return 'pg_dump';
  return undefined;
}

export interface PgliteArchive { pgVersion: string; files: number; bytes: number }

/** Checks an embedded backup end to end; throws a BackupError saying what is wrong. */
export function checkPgliteArchive(gz: Uint8Array): PgliteArchive {
  if (backupKind(gz) !== 'pglite') throw new BackupError('not an embedded-database backup (no gzip header)');
  let tar: Buffer;
  try {
    tar = gunzipSync(gz);
  } catch (e) {
    throw new BackupError(`the backup is damaged: ${e instanceof Error ? e.message : String(e)}`);
  }
  const names = new Map<string, Buffer>();
  let bytes = 0;
  let o = 0;
  for (; o + 512 <= tar.length; ) {
    const h = tar.subarray(o, o + 512);
    if (h.every((b) => b === 0)) break;
    const stored = parseInt(h.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (stored !== sum) throw new BackupError(`the backup is damaged: a tar header at byte ${o} fails its checksum`);
    const field = (a: number, b: number) => h.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 500);
    const name = (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)).replace(/^\.?\/+/, '');
    const size = parseInt(field(124, 136).trim() || '0', 8);
    if (!Number.isFinite(size) || o + 512 + size > tar.length) throw new BackupError('the backup is truncated');
    names.set(name, tar.subarray(o + 512, o + 512 + Math.min(size, 64)));
    bytes += size;
    o += 512 + Math.ceil(size / 512) * 512;
  }
  for (const need of ['PG_VERSION', 'global/pg_control']) {
    if (!names.has(need)) throw new BackupError(`not a database backup: it has no ${need}`);
  }
  if (![...names.keys()].some((n) => n.startsWith('base/'))) throw new BackupError('not a database backup: it has no base/');
  return { pgVersion: names.get('PG_VERSION')!.toString('latin1').trim(), files: names.size, bytes };
}

/** The URL without its password, and the password for PGPASSWORD (not on the command line). */
function libpq(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  // libpq reads %20, not URLSearchParams' '+', as a space (options=-c search_path=...)
  const query = [...u.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  u.search = '';
  return { dbname: `${u.toString()}${query ? `?${query}` : ''}`, env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new BackupError(`${cmd} is not installed (the PostgreSQL client tools, e.g. Debian's postgresql-client); run by hand: ${cmd} ${args.join(' ')}`);
  }
  if (r.status !== 0) throw new BackupError(`${cmd} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export const pgDumpArgs = (dbname: string, file: string, schema?: string) =>
  ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, ...(schema ? [`--schema=${schema}`] : []), `--dbname=${dbname}`];

/** pg_dump of the database at `url` (one schema with `schema`) into `file`, consistent as of one snapshot. */
export function pgDump(url: string, file: string, schema?: string): void {
  const { dbname, env } = libpq(url);
  run('pg_dump', pgDumpArgs(dbname, file, schema), env);
}

/** The archive's table of contents (pg_restore --list): fails on a file pg_restore cannot read. */
export function pgArchiveEntries(file: string): number {
  return run('pg_restore', ['--list', file], process.env).split('\n').filter((l) => l && !l.startsWith(';')).length;
}

/** pg_restore into `url` in one transaction; `clean` drops the archive's objects first. */
export function pgRestore(url: string, file: string, clean: boolean): void {
  const { dbname, env } = libpq(url);
  run('pg_restore', ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', ...(clean ? ['--clean', '--if-exists'] : []), `--dbname=${dbname}`, file], env);
}
