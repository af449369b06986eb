import { sql, type Kysely } from 'kysely';

/**
 * The stream outbox becomes a platform table every module appends to (ledger, escrow, bridge, reputation,
 * trading): trading_events is renamed outbox_events, and outbox_state records how far the prune has
 * deleted (a client reconnecting with an older Last-Event-ID is told it missed events).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE trading_events RENAME TO outbox_events`.execute(db);
  await sql`ALTER INDEX trading_events_pkey RENAME TO outbox_events_pkey`.execute(db);
  await sql`ALTER INDEX trading_events_at_idx RENAME TO outbox_events_at_idx`.execute(db);
  await sql`ALTER SEQUENCE trading_events_seq_seq RENAME TO outbox_events_seq_seq`.execute(db);
  await sql`CREATE TABLE outbox_state (id int PRIMARY KEY, pruned_through bigint NOT NULL)`.execute(db);
  await sql`INSERT INTO outbox_state (id, pruned_through) VALUES (1, 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS outbox_state`.execute(db);
  await sql`ALTER SEQUENCE outbox_events_seq_seq RENAME TO trading_events_seq_seq`.execute(db);
  await sql`ALTER INDEX outbox_events_at_idx RENAME TO trading_events_at_idx`.execute(db);
  await sql`ALTER INDEX outbox_events_pkey RENAME TO trading_events_pkey`.execute(db);
  await sql`ALTER TABLE outbox_events RENAME TO trading_events`.execute(db);
}
