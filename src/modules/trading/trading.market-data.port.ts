/**
 * What the analytics module may read of trading without knowing its tables: the attributes of the
 * agreements and requests its outbox events name (category, region, spec class, quantities, when they
 * began), the open supply and demand of the market right now, and one listing. The SQL lives here, with the tables. Read-only.
 *
 * Spec class: a listing's GPU model, else its model name, else '*'; a request's first accepted GPU model,
 * else its model name, else '*'. Region of a request: its only allowed region, else '*' (any).
 */
import { sql } from 'kysely';
import type { Database } from '../../database.js';

export interface AgreementAttributes {
  id: string;
  listingId: string;
  requestId: string | null;
  buyerId: string;
  sellerId: string;
  category: string;
  region: string;
  specClass: string;
  pricePerUnit: bigint;
  quantity: number;
  amount: bigint;
  createdAt: Date;
  /** When the trade request the agreement was made on was created (null: made on a listing directly). */
  requestCreatedAt: Date | null;
}

export interface RequestAttributes {
  id: string;
  buyerId: string;
  category: string;
  region: string;
  specClass: string;
  quantity: number;
  createdAt: Date;
}

export interface SupplyDemandCell {
  category: string;
  region: string;
  specClass: string;
  /** Units still available on active, valid listings. */
  supplyUnits: number;
  supplyListings: number;
  /** Open trade requests and the units they ask for. */
  demandRequests: number;
  demandUnits: number;
}

export interface ListingAttributes {
  id: string;
  sellerId: string;
  category: string;
  region: string;
  specClass: string;
  pricePerUnit: bigint;
  status: string;
}

export interface TradingMarketData {
  agreements(ids: readonly string[]): Promise<AgreementAttributes[]>;
  requests(ids: readonly string[]): Promise<RequestAttributes[]>;
  /** Open supply and demand per category x region x spec class at `now`. */
  supplyDemand(now: Date): Promise<SupplyDemandCell[]>;
  listing(id: string): Promise<ListingAttributes | undefined>;
  /** A seller's active listings. */
  listingsOf(sellerId: string): Promise<ListingAttributes[]>;
  /** Listings live at some time in [from, to) with the agreements made on them in that range (price optimisation insights). */
  listingSales(from: Date, to: Date, limit: number): Promise<ListingSales[]>;
  /** The same for the listings of one cell (price advice: the fill rate of similar sellers at each price level). */
  cellListingSales(cell: { category: string; region: string; specClass: string }, from: Date, to: Date, limit: number): Promise<ListingSales[]>;
}

export interface ListingSales extends ListingAttributes {
  /** Agreements made on the listing in the range, and their units. */
  agreements: number;
  units: number;
}

const LISTING_SPEC_CLASS = sql<string>`COALESCE(NULLIF(l.spec->>'gpuModel', ''), NULLIF(l.spec->>'modelName', ''), '*')`;
const REQUEST_SPEC_CLASS = sql<string>`COALESCE(NULLIF(r.spec->'acceptedGpuModels'->>0, ''), NULLIF(r.spec->>'modelName', ''), '*')`;
const REQUEST_REGION = sql<string>`CASE WHEN cardinality(r.allowed_regions) = 1 THEN r.allowed_regions[1] ELSE '*' END`;

const uuids = (ids: readonly string[]) => sql`ANY(${[...ids]}::uuid[])`;

export function tradingMarketData(database: Database): TradingMarketData {
  const db = database.db;
  return {
    async agreements(ids) {
      if (ids.length === 0) return [];
      const r = await sql<{
        id: string; listing_id: string; request_id: string | null; buyer_id: string; seller_id: string; category: string; region: string;
        spec_class: string; price_per_unit: bigint; quantity: number; amount: bigint; created_at: Date; request_created_at: Date | null;
      }>`
        SELECT a.id, a.listing_id, a.request_id, a.buyer_id, a.seller_id, a.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class,
               a.price_per_unit, a.quantity, a.amount, a.created_at, r.created_at AS request_created_at
        FROM agreements a
        JOIN trading_listings l ON l.id = a.listing_id
        LEFT JOIN trade_requests r ON r.id = a.request_id
        WHERE a.id = ${uuids(ids)}`.execute(db);
      return r.rows.map((x) => ({
        id: x.id, listingId: x.listing_id, requestId: x.request_id, buyerId: x.buyer_id, sellerId: x.seller_id, category: x.category,
        region: x.region, specClass: x.spec_class, pricePerUnit: BigInt(x.price_per_unit), quantity: x.quantity, amount: BigInt(x.amount),
        createdAt: x.created_at, requestCreatedAt: x.request_created_at,
      }));
    },
    async requests(ids) {
      if (ids.length === 0) return [];
      const r = await sql<{ id: string; buyer_id: string; category: string; region: string; spec_class: string; quantity: number; created_at: Date }>`
        SELECT r.id, r.buyer_id, r.category, ${REQUEST_REGION} AS region, ${REQUEST_SPEC_CLASS} AS spec_class, r.quantity, r.created_at
        FROM trade_requests r WHERE r.id = ${uuids(ids)}`.execute(db);
      return r.rows.map((x) => ({
        id: x.id, buyerId: x.buyer_id, category: x.category, region: x.region, specClass: x.spec_class, quantity: x.quantity, createdAt: x.created_at,
      }));
    },
    async supplyDemand(now) {
      const r = await sql<{ category: string; region: string; spec_class: string; supply_units: number; supply_listings: number; demand_requests: number; demand_units: number }>`
        WITH s AS (
          SELECT l.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class,
                 sum(l.capacity_total - l.capacity_reserved - l.capacity_consumed)::int8 AS units, count(*)::int8 AS listings
          FROM trading_listings l
          WHERE l.status = 'active' AND l.valid_from <= ${now} AND l.valid_until > ${now}
          GROUP BY 1, 2, 3
        ), d AS (
          SELECT r.category, ${REQUEST_REGION} AS region, ${REQUEST_SPEC_CLASS} AS spec_class, count(*)::int8 AS requests, sum(r.quantity)::int8 AS units
          FROM trade_requests r
          WHERE r.state = 'open' AND r.deadline > ${now}
          GROUP BY 1, 2, 3
        )
        SELECT COALESCE(s.category, d.category) AS category, COALESCE(s.region, d.region) AS region, COALESCE(s.spec_class, d.spec_class) AS spec_class,
               COALESCE(s.units, 0) AS supply_units, COALESCE(s.listings, 0) AS supply_listings,
               COALESCE(d.requests, 0) AS demand_requests, COALESCE(d.units, 0) AS demand_units
        FROM s FULL JOIN d ON d.category = s.category AND d.region = s.region AND d.spec_class = s.spec_class
        ORDER BY 1, 2, 3`.execute(db);
      return r.rows.map((x) => ({
        category: x.category, region: x.region, specClass: x.spec_class, supplyUnits: Number(x.supply_units), supplyListings: Number(x.supply_listings),
        demandRequests: Number(x.demand_requests), demandUnits: Number(x.demand_units),
      }));
    },
    async listing(id) {
      const r = await sql<{ id: string; seller_id: string; category: string; region: string; spec_class: string; price_per_unit: bigint; status: string }>`
        SELECT l.id, l.seller_id, l.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class, l.price_per_unit, l.status
        FROM trading_listings l WHERE l.id = ${id}::uuid`.execute(db);
      const x = r.rows[0];
      return x && { id: x.id, sellerId: x.seller_id, category: x.category, region: x.region, specClass: x.spec_class, pricePerUnit: BigInt(x.price_per_unit), status: x.status };
    },
    async listingsOf(sellerId) {
      const r = await sql<{ id: string; seller_id: string; category: string; region: string; spec_class: string; price_per_unit: bigint; status: string }>`
        SELECT l.id, l.seller_id, l.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class, l.price_per_unit, l.status
        FROM trading_listings l WHERE l.seller_id = ${sellerId}::uuid AND l.status = 'active' ORDER BY l.id`.execute(db);
      return r.rows.map((x) => ({ id: x.id, sellerId: x.seller_id, category: x.category, region: x.region, specClass: x.spec_class, pricePerUnit: BigInt(x.price_per_unit), status: x.status }));
    },
    async cellListingSales(cell, from, to, limit) {
      const r = await sql<{ id: string; seller_id: string; category: string; region: string; spec_class: string; price_per_unit: bigint; status: string; agreements: number; units: number }>`
        SELECT l.id, l.seller_id, l.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class, l.price_per_unit, l.status,
               count(a.id)::int8 AS agreements, COALESCE(sum(a.quantity), 0)::int8 AS units
        FROM trading_listings l
        LEFT JOIN agreements a ON a.listing_id = l.id AND a.created_at >= ${from} AND a.created_at < ${to}
        WHERE l.category = ${cell.category} AND l.region = ${cell.region} AND ${LISTING_SPEC_CLASS} = ${cell.specClass}
          AND l.created_at < ${to} AND l.valid_from < ${to} AND l.valid_until > ${from}
        GROUP BY l.id ORDER BY l.id LIMIT ${limit}`.execute(db);
      return r.rows.map((x) => ({
        id: x.id, sellerId: x.seller_id, category: x.category, region: x.region, specClass: x.spec_class, pricePerUnit: BigInt(x.price_per_unit), status: x.status,
        agreements: Number(x.agreements), units: Number(x.units),
      }));
    },
    async listingSales(from, to, limit) {
      const r = await sql<{ id: string; seller_id: string; category: string; region: string; spec_class: string; price_per_unit: bigint; status: string; agreements: number; units: number }>`
        SELECT l.id, l.seller_id, l.category, l.region, ${LISTING_SPEC_CLASS} AS spec_class, l.price_per_unit, l.status,
               count(a.id)::int8 AS agreements, COALESCE(sum(a.quantity), 0)::int8 AS units
        FROM trading_listings l
        LEFT JOIN agreements a ON a.listing_id = l.id AND a.created_at >= ${from} AND a.created_at < ${to}
        WHERE l.created_at < ${to} AND l.valid_from < ${to} AND l.valid_until > ${from}
        GROUP BY l.id ORDER BY l.id LIMIT ${limit}`.execute(db);
      return r.rows.map((x) => ({
        id: x.id, sellerId: x.seller_id, category: x.category, region: x.region, specClass: x.spec_class, pricePerUnit: BigInt(x.price_per_unit), status: x.status,
        agreements: Number(x.agreements), units: Number(x.units),
      }));
    },
  };
}
