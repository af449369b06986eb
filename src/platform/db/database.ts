/**
 * The only place that knows PGlite from PostgreSQL. Both backends return the same JS types:
 * int8 -> bigint, numeric -> string, timestamptz -> Date, jsonb -> parsed value.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';
import { PreparingPGliteDialect } from './pglite-driver.js';

export type DbKind = 'pglite' | 'postgres';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface TxOptions {
  /** Maximum attempts for serialization failures and deadlocks (PostgreSQL only). */
  maxAttempts?: number;
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

/**
 * A database over the tables `DB`. The platform knows no domain: the app's table map is composed in
 * src/database.ts, and that module's `Database` is what the app and the modules use.
 *
 * The `any` default exists only for callers not yet moved to src/database.ts (test/trading.test.ts and
 * test/ledger-race.test.ts, which another change is rewriting); it goes when they are.
 */
export interface Database<DB = any> {
  readonly db: Kysely<DB>;
  readonly kind: DbKind;
  /**
   * Runs `fn` in one transaction. On PostgreSQL, deadlocks (40P01) and serialization failures (40001)
   * are retried with the same inputs, so `fn` must be safe to run again from the start. On PGlite
   * transactions are serialised by the dialect's connection mutex: they cannot interleave.
   */
  transaction<T>(fn: (tx: Transaction<DB>) => Promise<T>, opts?: TxOptions): Promise<T>;
  stats(): PoolStats;
  close(): Promise<void>;
  /**
   * PGlite only: the whole data dir as a gzipped tarball (PGlite's dumpDataDir), taken after a CHECKPOINT
   * while this process holds the only connection, so no transaction of it is half done. Loadable with
   * `restore` below (and by `new PGlite({ loadDataDir })`).
   */
  dump?(): Promise<Uint8Array>;
}

const INT8_OID = 20;
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

export interface DatabaseOptions {
  /** PostgreSQL URL; undefined means PGlite. */
  url?: string | undefined;
  /** PGlite data directory; undefined means in memory. */
  dataDir?: string | undefined;
  poolSize?: number;
  /**
   * A gzipped tarball of a freshly initialised PGlite data dir (scripts/build.mjs makes one): a new
   * dataDir is unpacked from it instead of running initdb inside WASM (~2 s instead of 5-17 s).
   */
  pgliteTemplate?: string | undefined;
  /** A PGlite backup (see `Database.dump`) to load into a new dataDir (or memory); a dataDir holding a database is refused. */
  restore?: Uint8Array | undefined;
}

export async function createDatabase<DB = any>(opts: DatabaseOptions): Promise<Database<DB>> {
  return opts.url ? createPostgres<DB>(opts.url, opts.poolSize ?? 20) : createPglite<DB>(opts.dataDir, opts.pgliteTemplate, opts.restore);
}

/**
 * PGlite's buffer pool. Its default (128MB) is memory the WASM backend zeroes at every start: with 16MB
 * a data dir opened 0.35-0.4 s sooner in a side-by-side run (docs/decisions.md, "Start-up under 2 s").
 * Pages not in the pool are read through the operating system's page cache; the effect on the ledger
 * benchmark's PGlite rows is still to be measured on a quiet machine.
 */
const PGLITE_SHARED_BUFFERS = '16MB';

async function createPglite<DB>(dataDir: string | undefined, template: string | undefined, restore: Uint8Array | undefined): Promise<Database<DB>> {
  const fresh = dataDir !== undefined && !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (restore && dataDir !== undefined && !fresh) throw new Error(`${dataDir} already holds a database: a backup is restored only into an empty place`);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const useTemplate = !restore && fresh && template !== undefined && existsSync(template);
  const pglite = new PGlite({
    ...(dataDir ? { dataDir } : {}),
    ...(restore ? { loadDataDir: new Blob([restore as Uint8Array<ArrayBuffer>]) } : useTemplate ? { loadDataDir: new Blob([readFileSync(template)]) } : {}),
    parsers: { [pgliteTypes.INT8]: (v: string) => BigInt(v) },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  });
  // Not awaiting waitReady: the dialect waits for it on first use, so the server can listen meanwhile.
  // Statements stay prepared (see pglite-driver.ts).
  const db = new Kysely<DB>({ dialect: new PreparingPGliteDialect(pglite) });
  let active = 0;
  let waiting = 0;
  return {
    db,
    kind: 'pglite',
    async transaction(fn) {
      waiting++;
      let started = false;
      try {
        return await db.transaction().execute(async (tx) => {
          waiting--;
          started = true;
          active++;
          try {
            return await fn(tx);
          } finally {
            active--;
          }
        });
      } finally {
        if (!started) waiting--;
      }
    },
    stats: () => ({ total: 1, idle: active > 0 ? 0 : 1, waiting }),
    async close() {
      await db.destroy();
    },
    // holding the connection (the dialect's mutex): no transaction of this process is open meanwhile
    dump: () => db.connection().execute(async () => {
      await pglite.exec('CHECKPOINT');
      const blob = await pglite.dumpDataDir('gzip');
      return new Uint8Array(await blob.arrayBuffer());
    }),
  };
}

/** Statements starting with this comment are always prepared, whatever their length (see below). */
export const PREPARE = '/*prepare*/';

/** Statement texts kept prepared per connection; the least recently used is deallocated beyond it. */
const PG_MAX_PREPARED = 256;
/** Longer texts (multi-row VALUES lists, long IN lists) are sent unnamed unless marked with PREPARE. */
const PG_PREPARE_MAX_CHARS = 8_000;
const PG_LEAD = String.raw`^\s*(?:/\*[^]*?\*/\s*)*`;
const PG_DML = new RegExp(`${PG_LEAD}(?:select|insert|update|delete|with|values)\\b`, 'i');
/** Statements that cannot change the schema; anything else that is not DML forgets the connection's statements. */
const PG_HARMLESS = new RegExp(`${PG_LEAD}(?:begin|start|commit|end|rollback|savepoint|release|set|show|reset|lock|explain|deallocate|discard)\\b`, 'i');

/**
 * A pg client that runs every short DML statement (and every statement marked with PREPARE) as a named
 * prepared statement: PostgreSQL parses it once per connection and caches its plan (plan_cache_mode
 * auto: custom plans for the first five executions, then the generic plan when it is not costlier), so a
 * call costs Bind + Execute instead of Parse + plan + Bind + Execute. Kysely never names a statement,
 * which left every call planned again (docs/benchmarks.md, "Where the time goes").
 *
 * Bounded: at most PG_MAX_PREPARED texts per connection, least recently used deallocated first. Each
 * preparation gets a fresh name, so a DEALLOCATE that fails (inside an aborted transaction) only leaves
 * an unused statement on the server, never a name clash. A statement that may change the schema (DDL)
 * forgets the connection's statements (DEALLOCATE ALL after it), as the PGlite driver does.
 * Named statements need session pooling (or PgBouncer >= 1.21 with max_prepared_statements).
 */
class PreparingClient extends pg.Client {
  private readonly names = new Map<string, string>();
  private seq = 0;

  private parsed(): Record<string, string> {
    return (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
  }

  private nameFor(text: string): string {
    let name = this.names.get(text);
    if (name !== undefined) {
      this.names.delete(text);
      this.names.set(text, name); // most recently used last
      return name;
    }
    if (this.names.size >= PG_MAX_PREPARED) {
      const [oldText, oldName] = this.names.entries().next().value as [string, string];
      this.names.delete(oldText);
      delete this.parsed()[oldName];
      (super.query as (...a: unknown[]) => Promise<unknown>)(`DEALLOCATE ${oldName}`).catch(() => undefined);
    }
    name = `ae_${++this.seq}`;
    this.names.set(text, name);
    return name;
  }

  override query(config: unknown, values?: unknown, callback?: unknown): any {
    const q = super.query as (...a: unknown[]) => unknown;
    if (typeof config === 'string' && Array.isArray(values)) {
      if (config.startsWith(PREPARE) || (config.length <= PG_PREPARE_MAX_CHARS && PG_DML.test(config))) {
        return q.call(this, { name: this.nameFor(config), text: config, values }, callback);
      }
    }
    if (typeof config === 'string' && this.names.size > 0 && !PG_DML.test(config) && !PG_HARMLESS.test(config)) {
      const result = q.call(this, config, values, callback);
      this.names.clear();
      for (const k of Object.keys(this.parsed())) delete this.parsed()[k];
      (q.call(this, 'DEALLOCATE ALL') as Promise<unknown>).catch(() => undefined);
      return result;
    }
    return q.call(this, config, values, callback);
  }
}

async function createPostgres<DB>(url: string, poolSize: number): Promise<Database<DB>> {
  const pool = new pg.Pool({
    Client: PreparingClient as unknown as typeof pg.Client,
    connectionString: url,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', () => {
    /* idle client errors are reported on the next query */
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    async transaction(fn, opts) {
      const max = opts?.maxAttempts ?? 8;
      for (let attempt = 1; ; attempt++) {
        try {
          let b = db.transaction();
          if (opts?.isolation) b = b.setIsolationLevel(opts.isolation);
          return await b.execute(fn);
        } catch (err) {
          if (!isRetryable(err) || attempt >= max) throw err;
          // Jittered exponential backoff, at most ~50 ms.
          const delay = Math.min(50, 2 ** attempt) * (0.5 + Math.random());
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await db.destroy();
    },
  };
}
