/**
 * A Kysely dialect for PGlite that keeps each statement text prepared (a named prepared statement, as
 * pg's PreparingClient does on PostgreSQL for marked statements), so a call costs one Bind + Execute +
 * Sync exchange with the WASM backend instead of PGlite's six (Parse, Describe, Bind, Describe,
 * Execute, Sync) plus a parse and analysis of the text every time.
 *
 * Plans stay what they were: the connection runs with plan_cache_mode = force_custom_plan, so every
 * execution is planned with its actual parameter values, as an unnamed statement is. PGlite gathers no
 * statistics, and a generic plan could pick a different (slower) path than the one the statements were
 * written for; results do not depend on it either way.
 *
 * Parameters are serialised and rows parsed exactly as PGlite's `query` does (its serializers for the
 * parameter types PostgreSQL reports, its parsers and `parseResults` for the rows). Transactions are
 * plain BEGIN/COMMIT/ROLLBACK; the driver's connection mutex (one connection, held from acquire to release,
 * so for a whole transaction) serialises them with every other statement, as PGlite's transaction mutex did.
 * Kysely 0.28 (the last line that supports Node 20) has no PGlite dialect of its own, so the adapter is here too.
 */
import {
  AbortedTransactionError, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult,
} from 'kysely';
import { parse, protocol, types, type PGlite } from '@electric-sql/pglite';

/** Statement texts kept prepared at once (least recently used ones are closed beyond it). */
const MAX_PREPARED = 500;

type BackendMessage = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];
type Serializer = (x: unknown) => string;

interface Prepared {
  name: string;
  /** Parameter type oids, as PostgreSQL inferred them. */
  types: number[];
  /** The statement's RowDescription (null: it returns no rows). */
  rowDescription: BackendMessage | null;
  /** Its columns: names and type oids. */
  columns: Array<{ name: string; type: number }>;
}

const LEAD = String.raw`^\s*(?:/\*[^]*?\*/\s*)*`;
/** Statements that read or write rows: kept prepared. */
const DML = new RegExp(`${LEAD}(?:select|insert|update|delete|with|values|table|merge)\\b`, 'i');
/** Statements that cannot change the schema: run unprepared, prepared plans kept. Anything else may be DDL. */
const HARMLESS = new RegExp(`${LEAD}(?:begin|start|commit|end|rollback|savepoint|release|set|show|reset|lock|explain|prepare|deallocate)\\b`, 'i');

const BEGIN = protocol.serialize.query('BEGIN');

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

/** Bind (text parameters, text results), Execute and Sync for a named statement, in one buffer. */
function bindExecuteSync(statement: string, values: ReadonlyArray<string | null>): Uint8Array {
  const nameLen = Buffer.byteLength(statement);
  let bindLen = 4 + 1 + nameLen + 1 + 2 + 2 + 2;
  const lens = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    lens[i] = v === null || v === undefined ? -1 : Buffer.byteLength(v);
    bindLen += 4 + Math.max(0, lens[i]!);
  }
  const buf = Buffer.allocUnsafe(1 + bindLen + 10 + 5);
  let o = 0;
  buf[o++] = 0x42; // Bind
  buf.writeInt32BE(bindLen, o); o += 4;
  buf[o++] = 0; // unnamed portal
  o += buf.write(statement, o); buf[o++] = 0;
  buf.writeInt16BE(0, o); o += 2; // all parameters in text
  buf.writeInt16BE(values.length, o); o += 2;
  for (let i = 0; i < values.length; i++) {
    buf.writeInt32BE(lens[i]!, o); o += 4;
    if (lens[i]! > 0) o += buf.write(values[i]!, o);
  }
  buf.writeInt16BE(0, o); o += 2; // all results in text
  buf[o++] = 0x45; // Execute
  buf.writeInt32BE(9, o); o += 4;
  buf[o++] = 0; // unnamed portal
  buf.writeInt32BE(0, o); o += 4; // all rows
  buf[o++] = 0x53; // Sync
  buf.writeInt32BE(4, o); o += 4;
  return new Uint8Array(buf.buffer, buf.byteOffset, o);
}

/** Rows (DataRow) and the affected row count (CommandComplete) of a response, parsed as PGlite's parseResults does. */
function readResult<R>(buf: Buffer, columns: ReadonlyArray<{ name: string; type: number }>, parsers: Parameters<typeof types.parseType>[2]): QueryResult<R> {
  const rows: R[] = [];
  let affected = 0;
  const n = columns.length;
  for (let o = 0; o + 5 <= buf.length;) {
    const kind = buf[o]!;
    const len = buf.readInt32BE(o + 1);
    if (kind === 0x44 /* DataRow */) {
      let p = o + 5;
      const count = buf.readInt16BE(p); p += 2;
      const row: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const l = buf.readInt32BE(p); p += 4;
        const c = i < n ? columns[i]! : undefined;
        if (l === -1) {
          row[c!.name] = null;
        } else {
          row[c!.name] = types.parseType(buf.toString('utf8', p, p + l), c!.type, parsers);
          p += l;
        }
      }
      rows.push(row as R);
    } else if (kind === 0x43 /* CommandComplete */) {
      const tag = buf.toString('utf8', o + 5, o + len); // up to the terminating NUL
      const parts = tag.replace(/\0$/, '').split(' ');
      const count = parseInt(parts[parts.length - 1]!, 10);
      if (['INSERT', 'UPDATE', 'DELETE', 'COPY', 'MERGE'].includes(parts[0]!)) affected += count;
    }
    o += 1 + len;
  }
  return { numAffectedRows: BigInt(affected), rows };
}

class PreparingConnection implements DatabaseConnection {
  private readonly prepared = new Map<string, Prepared>();
  private seq = 0;
  private inTransaction = false;
  /** BEGIN not sent yet: it goes in front of the transaction's first statement (one exchange less). */
  private pendingBegin = false;

  constructor(private readonly pglite: PGlite) {}

  private get serializers(): Record<number, Serializer> {
    return (this.pglite as unknown as { serializers: Record<number, Serializer> }).serializers;
  }

  private get parsers() {
    return (this.pglite as unknown as { parsers: Parameters<typeof parse.parseResults>[1] }).parsers;
  }

  /** One exchange with the backend; a database error is thrown after the whole message (up to Sync) ran. */
  private async exchange(message: Uint8Array, query: string, params: readonly unknown[] | undefined): Promise<BackendMessage[]> {
    try {
      return await this.pglite.execProtocolStream(message, { syncToFs: false });
    } catch (e) {
      // as PGlite's query() reports it
      if (e && typeof e === 'object' && 'code' in e) Object.assign(e, { query, params, queryOptions: { rowMode: 'object' } });
      throw e;
    }
  }

  private async prepare(text: string, params: readonly unknown[]): Promise<Prepared> {
    if (this.prepared.size >= MAX_PREPARED) {
      // the map is in order of last use (a hit moves its entry to the end): the first is the least recent
      const [oldText, old] = this.prepared.entries().next().value as [string, Prepared];
      this.prepared.delete(oldText);
      await this.pglite.execProtocolStream(concat([protocol.serialize.close({ type: 'S', name: old.name }), protocol.serialize.sync()]), { syncToFs: false, throwOnError: false });
    }
    const name = `ae_${++this.seq}`;
    const messages = await this.exchange(this.withBegin([
      protocol.serialize.parse({ name, text }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync(),
    ]), text, params);
    const rowDescription = messages.find((m) => m.name === 'rowDescription') ?? null;
    const p: Prepared = {
      name,
      types: parse.parseDescribeStatementResults(messages),
      rowDescription,
      columns: rowDescription ? (rowDescription as unknown as { fields: Array<{ name: string; dataTypeID: number }> }).fields.map((f) => ({ name: f.name, type: f.dataTypeID })) : [],
    };
    this.prepared.set(text, p);
    return p;
  }

  /** Forgets every prepared statement (after a statement that may have changed the schema). */
  private async forgetAll(): Promise<void> {
    if (this.prepared.size === 0) return;
    this.prepared.clear();
    await this.pglite.execProtocolStream(concat([protocol.serialize.query('DEALLOCATE ALL'), protocol.serialize.sync()]), { syncToFs: false, throwOnError: false });
  }

  async executeQuery<R>(compiled: { sql: string; parameters: readonly unknown[] }): Promise<QueryResult<R>> {
    const text = compiled.sql;
    const params = compiled.parameters;
    let p = this.prepared.get(text);
    if (p !== undefined) {
      this.prepared.delete(text);
      this.prepared.set(text, p);
    }
    else if (!DML.test(text)) {
      // Other statements run once, unprepared; one that may have changed the schema drops every prepared plan.
      if (!HARMLESS.test(text)) await this.forgetAll();
      const messages = await this.runUnnamed(text, params);
      if (!this.inTransaction) await this.pglite.syncToFs();
      const r = parse.parseResults(messages, this.parsers, { rowMode: 'object' })[0]!;
      return { numAffectedRows: r.affectedRows != null ? BigInt(r.affectedRows) : undefined, rows: (r.rows ?? []) as R[] };
    }
    if (p === undefined) p = await this.prepare(text, params);
    const serializers = this.serializers;
    const values = new Array<string | null>(params.length);
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      if (v === null || v === undefined) { values[i] = null; continue; }
      const serialize = serializers[p.types[i]!];
      values[i] = serialize ? serialize(v) : (v as { toString(): string }).toString();
    }
    const raw = await this.raw(this.withBegin([bindExecuteSync(p.name, values)]), text, params);
    if (!this.inTransaction) await this.pglite.syncToFs();
    return readResult<R>(raw, p.columns, this.parsers);
  }

  /**
   * One exchange, answered as raw protocol bytes (PGlite's own message parsing skipped). A response with
   * an ErrorResponse is parsed by PGlite's parser, so the error thrown is the DatabaseError query() throws.
   */
  private async raw(message: Uint8Array, query: string, params: readonly unknown[] | undefined): Promise<Buffer> {
    // (execProtocolRaw would parse every message on the way; the streaming variant hands over the bytes)
    const chunks: Buffer[] = [];
    await this.pglite.execProtocolRawStream(message, { syncToFs: false, onRawData: (bytes) => { chunks.push(Buffer.from(bytes)); } });
    const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let o = 0; o + 5 <= buf.length; o += 1 + buf.readInt32BE(o + 1)) {
      if (buf[o] === 0x45 /* E */) {
        let error: unknown;
        new protocol.Parser().parse(data, (m: { name?: string }) => { if (error === undefined && m.name === 'error') error = m; });
        if (error && typeof error === 'object') Object.assign(error, { query, params, queryOptions: { rowMode: 'object' } });
        throw error ?? new Error('PGlite answered with an unreadable error');
      }
    }
    return buf;
  }

  /** A statement as PGlite's query() runs it (unnamed). */
  private async runUnnamed(text: string, params: readonly unknown[]): Promise<BackendMessage[]> {
    const described = await this.exchange(this.withBegin([
      protocol.serialize.parse({ text }), protocol.serialize.describe({ type: 'S' }), protocol.serialize.sync(),
    ]), text, params);
    const types = parse.parseDescribeStatementResults(described);
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serialize = this.serializers[types[i]!];
      return serialize ? serialize(v) : (v as { toString(): string }).toString();
    });
    return this.exchange(concat([
      protocol.serialize.bind({ values: values as string[] }), protocol.serialize.describe({ type: 'P' }),
      protocol.serialize.execute({}), protocol.serialize.sync(),
    ]), text, params);
  }

  /** A transaction-control statement (simple query protocol). Returns its command tag. */
  async control(statement: string): Promise<string | undefined> {
    const buf = await this.raw(this.withBegin([protocol.serialize.query(statement)]), statement, undefined);
    let tag: string | undefined;
    for (let o = 0; o + 5 <= buf.length; o += 1 + buf.readInt32BE(o + 1)) {
      if (buf[o] === 0x43 /* C */) tag = buf.toString('utf8', o + 5, o + buf.readInt32BE(o + 1));
    }
    return tag;
  }

  /** The message parts, after a pending BEGIN (a simple query; its reply precedes theirs and is ignored). */
  private withBegin(parts: Uint8Array[]): Uint8Array {
    if (!this.pendingBegin) return parts.length === 1 ? parts[0]! : concat(parts);
    this.pendingBegin = false;
    return concat([BEGIN, ...parts]);
  }

  async begin(): Promise<void> {
    this.inTransaction = true;
    this.pendingBegin = true;
  }

  async commit(): Promise<void> {
    this.inTransaction = false;
    if (this.pendingBegin) {
      // nothing ran: nothing to commit
      this.pendingBegin = false;
      return;
    }
    const tag = await this.control('COMMIT');
    await this.pglite.syncToFs();
    // COMMIT of a transaction that failed answers ROLLBACK
    if (tag === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollback(): Promise<void> {
    this.inTransaction = false;
    if (this.pendingBegin) {
      this.pendingBegin = false;
      return;
    }
    await this.control('ROLLBACK');
    await this.pglite.syncToFs();
  }

  // eslint-disable-next-line require-yield
  async *streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming is not supported on PGlite');
  }
}

/** PostgreSQL's SQL and DDL, one connection: the migration lock is the connection itself. */
class PGliteAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {
    /* the migrator holds the only connection from acquire to release */
  }

  override async releaseMigrationLock(): Promise<void> {
    /* see acquireMigrationLock */
  }
}

/** FIFO mutex over the single connection. */
class ConnectionMutex {
  private held = false;
  private readonly queue: Array<() => void> = [];

  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  unlock(): void {
    const next = this.queue.shift();
    if (next) next(); // ownership passes straight to the next waiter
    else this.held = false;
  }
}

class PreparingPGliteDriver implements Driver {
  private connection: PreparingConnection | undefined;
  private readonly mutex = new ConnectionMutex();

  constructor(private readonly pglite: PGlite) {}

  async init(): Promise<void> {
    await this.pglite.waitReady;
    await this.pglite.exec('SET plan_cache_mode = force_custom_plan');
    this.connection = new PreparingConnection(this.pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PreparingConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PreparingConnection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PreparingConnection).rollback();
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PreparingConnection).control(`SAVEPOINT ${quote(name)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PreparingConnection).control(`ROLLBACK TO ${quote(name)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PreparingConnection).control(`RELEASE ${quote(name)}`);
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }

  async destroy(): Promise<void> {
    if (!this.pglite.closed) await this.pglite.close();
  }
}

export class PreparingPGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() { return new PGliteAdapter(); }
  createDriver() { return new PreparingPGliteDriver(this.pglite); }
  createIntrospector(db: Kysely<any>) { return new PostgresIntrospector(db); }
  createQueryCompiler() { return new PostgresQueryCompiler(); }
}
