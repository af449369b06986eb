/**
 * Row types of the platform's own tables, and the column helpers every module's `<module>.tables.ts`
 * uses. The platform knows no domain: the whole database type is composed in src/database.ts, where the
 * modules are assembled, and platform code is written against `PlatformTables` (see `narrow` in
 * below). Kysely's migration bookkeeping tables are Kysely's own and are not typed here.
 */
import type { ColumnType, Kysely } from 'kysely';
import type { OutboxTables } from '../events/outbox.tables.js';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type Json<T> = ColumnType<T, string, string>;

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  method: string;
  path: string;
  state: 'in_flight' | 'completed';
  response_status: number | null;
  response_type: string | null;
  response_body: string | null;
  created_at: Timestamp;
  locked_until: Timestamp;
  completed_at: Timestamp | null;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}

/** Every table the platform owns (migration 0001's idempotency keys, the event outbox). */
export interface PlatformTables extends IdempotencyTables, OutboxTables {}

/**
 * `db` typed with only the tables of `T`, which its own table map `DB` includes. Kysely's table map is
 * invariant, so a Kysely<DB> is not a Kysely<T> to the compiler although every query naming only T's
 * tables is valid on it: platform code is written against its own tables and is handed the app's
 * database through this (a transaction is a Kysely too).
 */
export function narrow<T, DB extends T>(db: Kysely<DB>): Kysely<T> {
  return db as unknown as Kysely<T>;
}
