import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Capacity is reserved by agreements; the CHECK makes overselling a database fact, not a hope.
  await sql`
    CREATE TABLE trading_listings (
      id uuid PRIMARY KEY,
      seller_id uuid NOT NULL REFERENCES agents (id),
      category text NOT NULL CHECK (category IN ('gpu_compute', 'inference', 'training', 'data_services', 'model_services')),
      spec jsonb NOT NULL,
      unit text NOT NULL CHECK (unit IN ('gpu_hour', '1k_tokens', 'job')),
      price_per_unit bigint NOT NULL CHECK (price_per_unit > 0),
      capacity_total integer NOT NULL CHECK (capacity_total >= 0),
      capacity_reserved integer NOT NULL DEFAULT 0 CHECK (capacity_reserved >= 0),
      region text NOT NULL,
      sla_availability double precision NOT NULL CHECK (sla_availability >= 0 AND sla_availability <= 1),
      sla_max_latency_ms integer NOT NULL CHECK (sla_max_latency_ms > 0),
      valid_from timestamptz NOT NULL,
      valid_until timestamptz NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'paused', 'withdrawn')),
      auto_negotiation jsonb,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CHECK (capacity_reserved <= capacity_total),
      CHECK (valid_until > valid_from)
    )`.execute(db);
  await sql`CREATE INDEX trading_listings_seller_idx ON trading_listings (seller_id, id)`.execute(db);
  await sql`CREATE INDEX trading_listings_market_idx ON trading_listings (category, status, price_per_unit)`.execute(db);
  await sql`CREATE INDEX trading_listings_updated_idx ON trading_listings (updated_at)`.execute(db);

  await sql`
    CREATE TABLE trade_requests (
      id uuid PRIMARY KEY,
      buyer_id uuid NOT NULL REFERENCES agents (id),
      category text NOT NULL,
      spec jsonb NOT NULL,
      quantity integer NOT NULL CHECK (quantity > 0),
      budget_min bigint NOT NULL CHECK (budget_min >= 0),
      budget_max bigint NOT NULL CHECK (budget_max > 0),
      allowed_regions text[],
      excluded_regions text[],
      max_latency_ms integer,
      min_trust_score integer,
      deadline timestamptz NOT NULL,
      urgency text NOT NULL CHECK (urgency IN ('low', 'normal', 'high')),
      weights jsonb,
      exploration_share double precision NOT NULL DEFAULT 0,
      state text NOT NULL CHECK (state IN ('open', 'fulfilled', 'cancelled', 'expired')),
      agreement_id uuid,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CHECK (budget_min <= budget_max)
    )`.execute(db);
  await sql`CREATE INDEX trade_requests_buyer_idx ON trade_requests (buyer_id, id)`.execute(db);
  await sql`CREATE INDEX trade_requests_open_deadline_idx ON trade_requests (deadline) WHERE state = 'open'`.execute(db);

  await sql`
    CREATE TABLE negotiations (
      id uuid PRIMARY KEY,
      request_id uuid REFERENCES trade_requests (id),
      listing_id uuid NOT NULL REFERENCES trading_listings (id),
      buyer_id uuid NOT NULL REFERENCES agents (id),
      seller_id uuid NOT NULL REFERENCES agents (id),
      status text NOT NULL CHECK (status IN ('open', 'agreed', 'rejected', 'withdrawn', 'expired')),
      max_rounds integer NOT NULL CHECK (max_rounds >= 1),
      deadline timestamptz NOT NULL,
      started_at timestamptz NOT NULL,
      require_signatures boolean NOT NULL DEFAULT false,
      buyer_delegation jsonb,
      seller_delegation jsonb,
      delivery_deadline timestamptz NOT NULL,
      review_window_ms bigint NOT NULL,
      accepted_seq integer,
      accept_signature text,
      ended_by text,
      ended_at timestamptz,
      end_reason text,
      agreement_id uuid,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CHECK (buyer_id <> seller_id)
    )`.execute(db);
  await sql`CREATE INDEX negotiations_open_deadline_idx ON negotiations (deadline) WHERE status = 'open'`.execute(db);
  await sql`CREATE INDEX negotiations_listing_idx ON negotiations (listing_id)`.execute(db);

  await sql`
    CREATE TABLE negotiation_offers (
      negotiation_id uuid NOT NULL REFERENCES negotiations (id),
      seq integer NOT NULL CHECK (seq >= 0),
      by_role text NOT NULL CHECK (by_role IN ('buyer', 'seller')),
      by_agent uuid NOT NULL REFERENCES agents (id),
      price_per_unit bigint NOT NULL CHECK (price_per_unit > 0),
      quantity integer NOT NULL CHECK (quantity > 0),
      sla_availability double precision NOT NULL,
      sla_max_latency_ms integer NOT NULL,
      settlement_type text NOT NULL CHECK (settlement_type IN ('immediate', 'escrow', 'milestone')),
      signature text,
      delegated boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (negotiation_id, seq)
    )`.execute(db);

  // One agreement per negotiation (UNIQUE): an accept retried or raced cannot make two.
  await sql`
    CREATE TABLE agreements (
      id uuid PRIMARY KEY,
      negotiation_id uuid NOT NULL UNIQUE REFERENCES negotiations (id),
      request_id uuid REFERENCES trade_requests (id),
      listing_id uuid NOT NULL REFERENCES trading_listings (id),
      buyer_id uuid NOT NULL REFERENCES agents (id),
      seller_id uuid NOT NULL REFERENCES agents (id),
      category text NOT NULL,
      price_per_unit bigint NOT NULL CHECK (price_per_unit > 0),
      quantity integer NOT NULL CHECK (quantity > 0),
      amount bigint NOT NULL CHECK (amount > 0),
      sla_availability double precision NOT NULL,
      sla_max_latency_ms integer NOT NULL,
      settlement_type text NOT NULL CHECK (settlement_type IN ('immediate', 'escrow', 'milestone')),
      state text NOT NULL CHECK (state IN ('pending_funding', 'funded', 'delivered', 'disputed', 'settled', 'refunded', 'resolved', 'cancelled')),
      escrow_id uuid,
      funding_deadline timestamptz NOT NULL,
      delivery_deadline timestamptz NOT NULL,
      review_window_ms bigint NOT NULL,
      auto_release_at timestamptz,
      released bigint NOT NULL DEFAULT 0,
      delivery jsonb,
      dispute jsonb,
      resolution jsonb,
      proof jsonb NOT NULL,
      capacity_released boolean NOT NULL DEFAULT false,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX agreements_buyer_idx ON agreements (buyer_id, id)`.execute(db);
  await sql`CREATE INDEX agreements_seller_idx ON agreements (seller_id, id)`.execute(db);
  // sellers' completed trades, read with every market index sync
  await sql`CREATE INDEX agreements_seller_completed_idx ON agreements (seller_id) WHERE state IN ('settled', 'resolved')`.execute(db);
  await sql`CREATE INDEX agreements_active_idx ON agreements (state) WHERE state IN ('pending_funding', 'funded', 'delivered', 'disputed')`.execute(db);

  await sql`
    CREATE TABLE agreement_events (
      seq bigserial PRIMARY KEY,
      agreement_id uuid NOT NULL REFERENCES agreements (id),
      from_state text,
      to_state text NOT NULL,
      action text NOT NULL,
      actor text NOT NULL,
      detail jsonb,
      at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX agreement_events_agreement_idx ON agreement_events (agreement_id, seq)`.execute(db);

  // Outbox of the live stream: written in the transaction that made the event, read by every process.
  await sql`
    CREATE TABLE trading_events (
      seq bigserial PRIMARY KEY,
      type text NOT NULL,
      agent_ids text[] NOT NULL,
      data jsonb,
      at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX trading_events_at_idx ON trading_events (at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['trading_events', 'agreement_events', 'agreements', 'negotiation_offers', 'negotiations', 'trade_requests', 'trading_listings']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
  }
}
