/**
 * Small helpers for bench/ledger.bench.ts: a seeded random generator, a closed-loop client runner with
 * per-operation latencies, percentiles, and a query profiler that counts database round trips by
 * wrapping pg.Client#query (PostgreSQL) and the transaction handle of PGlite#transaction (PGlite).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

/** A seeded PRNG (mulberry32), so every run draws the same account pairs. */
export { mulberry32 as rng } from '../../src/platform/rng.js';

export interface RunResult {
  /** Latency of each operation in ms. */
  latencies: number[];
  wallMs: number;
  errors: number;
  firstError?: unknown;
}

/**
 * Runs `total` operations with `clients` concurrent closed-loop clients (each starts its next
 * operation when its previous one finished). `op(i, client)` gets a global operation index.
 */
export async function runClients(clients: number, total: number, op: (i: number, client: number) => Promise<void>): Promise<RunResult> {
  let next = 0;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const worker = async (client: number) => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      try {
        await op(i, client);
      } catch (err) {
        errors++;
        firstError ??= err;
        continue;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, clients) }, (_, c) => worker(c)));
  const wallMs = performance.now() - t0;
  return { latencies, wallMs, errors, ...(firstError !== undefined ? { firstError } : {}) };
}

/** Nearest-rank percentile of an unsorted array (ms). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const fmtMs = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) : '–');
export const fmtRate = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
export const fmtRatio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');

// --- query profiler ---------------------------------------------------------------------------------

export interface StatementStat {
  n: number;
  ms: number;
}

/** A short, stable label for a SQL statement: verb + table (+ row lock); a CTE lists what it does. */
export function classify(sqlText: string): string {
  const s = sqlText.replace(/^\s*\/\*.*?\*\//, '').replace(/\s+/g, ' ').trim().toLowerCase();
  if (/^(begin|commit|rollback|start transaction)\b/.test(s)) return s.split(' ')[0]!;
  const lock = /for no key update/.test(s) ? ' for no key update' : /for update/.test(s) ? ' for update' : '';
  if (!s.startsWith('with ') && s.includes('pg_advisory_xact_lock')) return 'advisory locks (id buckets)';
  if (s.startsWith('with ')) {
    const parts: string[] = [];
    for (const m of s.matchAll(/\b(insert into|update|from|join) "?([a-z_][\w.]*)"?/g)) {
      const verb = m[1] === 'insert into' ? 'insert' : m[1] === 'update' ? 'update' : 'select';
      if (m[2] === 'unnest' || m[2] === 'locked' || m[2]!.length <= 2) continue; // CTE names and table functions
      const label = `${verb} ${m[2]}`;
      if (!parts.includes(label)) parts.push(label);
    }
    if (s.includes('pg_advisory_xact_lock')) parts.push('advisory locks');
    return `CTE[${parts.join(' + ')}${lock}]`;
  }
  let m = /^insert into "?([\w.]+)"?/.exec(s);
  if (m) return `insert ${m[1]}${/ returning /.test(s) ? ' returning' : ''}`;
  m = /^update "?([\w.]+)"?/.exec(s);
  if (m) return `update ${m[1]}${/ from \(values /.test(s) ? ' from values' : ''}`;
  m = /^select .*? from "?([\w.]+)"?/.exec(s);
  if (m) return `select ${m[1]}${lock}${/ union all /.test(s) ? ' (union all)' : ''}`;
  return s.slice(0, 40);
}

export class QueryProfiler {
  enabled = false;
  /**
   * When set, node-postgres sends statements shorter than this many characters as named prepared
   * statements (parsed once per connection, plans cached by PostgreSQL), as postgres.js does by
   * default. Simulates a proposed change to src/platform/db/database.ts; 0 disables.
   */
  autoPrepareMaxChars = 0;
  /** When set, the first statement of each label is kept (text and parameters) for EXPLAIN. */
  capture = false;
  readonly captured = new Map<string, { text: string; values: unknown[] }>();
  queries = 0;
  ms = 0;
  readonly byStatement = new Map<string, StatementStat>();

  reset(): void {
    this.queries = 0;
    this.ms = 0;
    this.byStatement.clear();
  }

  record(sqlText: string, ms: number, values?: unknown): void {
    if (!this.enabled) return;
    this.queries++;
    this.ms += ms;
    const k = classify(sqlText);
    if (this.capture && !this.captured.has(k) && Array.isArray(values)) this.captured.set(k, { text: sqlText, values: [...values] });
    const s = this.byStatement.get(k) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += ms;
    this.byStatement.set(k, s);
  }

  /** Installs the hooks once per process (both backends). */
  install(): void {
    if (installed) return;
    installed = true;
    const timed = <T>(query: unknown, valuesArg: unknown, run: () => T): T => {
      // A statement is a string, or a config object (named prepared statements: { name, text, values }).
      const cfg = query && typeof query === 'object' ? (query as { text?: unknown; values?: unknown }) : undefined;
      const sqlText = cfg ? cfg.text : query;
      const values = cfg ? cfg.values : valuesArg;
      if (!this.enabled || typeof sqlText !== 'string') return run();
      const t0 = performance.now();
      const r = run() as unknown;
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        return (r as Promise<unknown>).then(
          (v) => { this.record(sqlText, performance.now() - t0, values); return v; },
          (e: unknown) => { this.record(sqlText, performance.now() - t0, values); throw e; },
        ) as T;
      }
      return r as T;
    };
    const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const origQuery = clientProto.query;
    const self = this;
    clientProto.query = function (this: unknown, ...args: unknown[]) {
      const [text, values] = args;
      if (self.autoPrepareMaxChars > 0 && typeof text === 'string' && text.length <= self.autoPrepareMaxChars && Array.isArray(values) && args.length === 2 &&
        !/^\s*(begin|commit|rollback)\b/i.test(text)) {
        const name = `ae_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
        return timed(text, values, () => origQuery.call(this, { name, text, values }));
      }
      return timed(text, values, () => origQuery.apply(this, args));
    };
    const pgliteProto = PGlite.prototype as unknown as { transaction: (cb: (tx: unknown) => Promise<unknown>) => Promise<unknown> };
    const origTransaction = pgliteProto.transaction;
    pgliteProto.transaction = function (this: unknown, cb: (tx: unknown) => Promise<unknown>) {
      return origTransaction.call(this, (tx: unknown) => {
        const t = tx as { query: (...args: unknown[]) => unknown };
        const wrapped = Object.create(t) as { query: (...args: unknown[]) => unknown };
        wrapped.query = (...args: unknown[]) => timed(args[0], args[1], () => t.query(...args));
        return cb(wrapped);
      });
    };
  }
}
let installed = false;
