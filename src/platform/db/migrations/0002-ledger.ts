import { sql, type Kysely } from 'kysely';
import { uuidFromName } from '../../ids.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Accounts keep TigerBeetle's four counters. balance = credits_posted - debits_posted;
  // available = balance - debits_pending. Wallets and escrows may never go below zero counting holds.
  await sql`
    CREATE TABLE ledger_accounts (
      id uuid PRIMARY KEY,
      key text NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('wallet', 'escrow', 'treasury', 'fees', 'rewards', 'bridge')),
      agent_id uuid REFERENCES agents (id),
      no_overdraft boolean NOT NULL,
      debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
      debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
      credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
      credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
      created_at timestamptz NOT NULL,
      CHECK (NOT no_overdraft OR credits_posted - debits_posted - debits_pending >= 0)
    )`.execute(db);
  await sql`CREATE INDEX ledger_accounts_agent_idx ON ledger_accounts (agent_id) WHERE agent_id IS NOT NULL`.execute(db);

  // Transfers are immutable. A pending transfer is resolved by exactly one post, void or expire
  // transfer that names it: the unique index on pending_id makes "resolves once" a database fact.
  // No foreign keys on the ledger's own rows (as in TigerBeetle): the ledger validates accounts and
  // holds under their locks before it writes, accounts are never deleted, and the audit checks that
  // every reference resolves. The checks were a third of a batch's database time.
  await sql`
    CREATE TABLE ledger_transfers (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')),
      debit_account_id uuid NOT NULL,
      credit_account_id uuid NOT NULL,
      amount bigint NOT NULL CHECK (amount >= 0),
      pending_id uuid,
      timeout_at timestamptz,
      code text NOT NULL,
      reference text,
      batch_id uuid,
      fields_hash text NOT NULL,
      created_at timestamptz NOT NULL,
      CHECK (debit_account_id <> credit_account_id),
      CHECK ((kind IN ('posted', 'pending')) = (pending_id IS NULL)),
      CHECK (kind NOT IN ('posted', 'pending') OR amount > 0)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX ledger_transfers_pending_once ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX ledger_transfers_timeout_idx ON ledger_transfers (timeout_at) WHERE kind = 'pending' AND timeout_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX ledger_transfers_reference_idx ON ledger_transfers (reference) WHERE reference IS NOT NULL`.execute(db);

  // Every decided transfer id, created or rejected: one row per id makes "an id has one outcome" a
  // database fact across the two tables below.
  await sql`CREATE TABLE ledger_ids (id uuid PRIMARY KEY)`.execute(db);

  // Rejections are kept so that a retry with the same id returns the original outcome.
  await sql`
    CREATE TABLE ledger_rejections (
      id uuid PRIMARY KEY,
      fields_hash text NOT NULL,
      code text NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);

  // One entry per account touched by a transfer, with the account's counters after it. No foreign
  // keys here: entries are written only by the ledger, in the statement that writes their transfer,
  // and four foreign-key checks per transfer were most of a batch's cost; the audit checks that every
  // entry's transfer and account exist (see docs/decisions.md).
  await sql`
    CREATE TABLE ledger_entries (
      seq bigserial PRIMARY KEY,
      transfer_id uuid NOT NULL,
      account_id uuid NOT NULL,
      side text NOT NULL CHECK (side IN ('debit', 'credit')),
      pending_delta bigint NOT NULL,
      posted_delta bigint NOT NULL CHECK (posted_delta >= 0),
      balance_after bigint NOT NULL,
      available_after bigint NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, seq)`.execute(db);

  await sql`
    CREATE TABLE escrows (
      id uuid PRIMARY KEY,
      account_id uuid NOT NULL UNIQUE REFERENCES ledger_accounts (id),
      payer_agent_id uuid NOT NULL REFERENCES agents (id),
      payee_agent_id uuid NOT NULL REFERENCES agents (id),
      amount bigint NOT NULL CHECK (amount > 0),
      released bigint NOT NULL DEFAULT 0,
      refunded bigint NOT NULL DEFAULT 0,
      fees bigint NOT NULL DEFAULT 0,
      fee_bps integer NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
      state text NOT NULL,
      reference text,
      expires_at timestamptz,
      review_window_ms bigint NOT NULL,
      auto_release_at timestamptz,
      version integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CHECK (released + refunded <= amount)
    )`.execute(db);
  await sql`CREATE INDEX escrows_expires_idx ON escrows (expires_at) WHERE state = 'held'`.execute(db);
  await sql`CREATE INDEX escrows_auto_release_idx ON escrows (auto_release_at) WHERE state = 'delivered'`.execute(db);
  await sql`CREATE INDEX escrows_payer_idx ON escrows (payer_agent_id, id)`.execute(db);
  await sql`CREATE INDEX escrows_payee_idx ON escrows (payee_agent_id, id)`.execute(db);

  await sql`
    CREATE TABLE escrow_events (
      seq bigserial PRIMARY KEY,
      escrow_id uuid NOT NULL REFERENCES escrows (id),
      from_state text,
      to_state text NOT NULL,
      action text NOT NULL,
      actor text NOT NULL,
      amount bigint,
      detail jsonb,
      at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX escrow_events_escrow_idx ON escrow_events (escrow_id, seq)`.execute(db);

  await sql`
    CREATE TABLE withdrawals (
      id uuid PRIMARY KEY,
      agent_id uuid NOT NULL REFERENCES agents (id),
      amount bigint NOT NULL CHECK (amount > 0),
      address text NOT NULL,
      hold_transfer_id uuid NOT NULL REFERENCES ledger_transfers (id),
      state text NOT NULL CHECK (state IN ('queued', 'completed', 'failed')),
      chain_tx_id text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX withdrawals_state_idx ON withdrawals (state, created_at)`.execute(db);

  // System accounts, with ids every process derives the same way (see ledger.service.ts).
  // treasury (mint/burn) and bridge (chain in/out) are the only accounts that may go negative.
  for (const [kind, noOverdraft] of [['treasury', false], ['bridge', false], ['fees', true], ['rewards', true]] as const) {
    await sql`INSERT INTO ledger_accounts (id, key, kind, no_overdraft, created_at)
      VALUES (${uuidFromName(`account:system:${kind}`)}::uuid, ${`system:${kind}`}, ${kind}, ${noOverdraft}, now())`.execute(db);
  }
  // Agents registered before the ledger existed get their wallets.
  const agents = await sql<{ id: string; created_at: Date }>`SELECT id, created_at FROM agents`.execute(db);
  for (const a of agents.rows) {
    await sql`INSERT INTO ledger_accounts (id, key, kind, agent_id, no_overdraft, created_at)
      VALUES (${uuidFromName(`account:wallet:${a.id}`)}::uuid, ${`wallet:${a.id}`}, 'wallet', ${a.id}::uuid, true, ${a.created_at})`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['withdrawals', 'escrow_events', 'escrows', 'ledger_entries', 'ledger_rejections', 'ledger_ids', 'ledger_transfers', 'ledger_accounts']) {
    await sql.raw(`DROP TABLE ${t}`).execute(db);
  }
}
