/**
 * The storage of the listing index (listing-index.ts): a bucket's listings column-wise and sorted by
 * price, and the statistics over blocks of its slots and over the whole bucket that bound a query.
 */
import type { Category, Listing } from './trading.types.js';

/** A slot's `status` column: only 0 (active) can match. */
const STATUS_CODE = { active: 0, paused: 1, withdrawn: 2 } as const;

const COLUMNS = [
  'price',
  'status',
  'validFrom',
  'validUntil',
  'seller',
  'vram',
  'gpuCount',
  'ctx',
  'available',
  'latency',
  'trust',
  'availability',
  'createdAt',
  'trades',
] as const;
type Column = (typeof COLUMNS)[number];
type Columns = Record<Column, Float64Array>;

/** Slots per block of the block-max statistics (power of two). */
export const BLOCK_SHIFT = 4;
export const BLOCK = 1 << BLOCK_SHIFT;
const STATS = ['active', 'minPrice', 'maxVram', 'maxGpu', 'maxCtx', 'maxAvailable', 'maxTrust', 'maxAvailability', 'minLatency', 'maxCreatedAt', 'minTrades'] as const;
type Stat = (typeof STATS)[number];
/** The statistics of every block of a bucket, column-wise (read by the query's block pass). */
type BlockStats = Record<Stat, Float64Array>;

// NaN-aware max / min: NaN (attribute missing) only when every value is missing
const maxOf = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a > b ? a : b);
const minOf = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a < b ? a : b);

/** Statistics over a set of active listings (a block, or a whole bucket): what bounds a query over them. */
class ListingStats {
  active = 0;
  minPrice = Infinity;
  maxVram = NaN;
  maxGpu = NaN;
  maxCtx = NaN;
  maxAvailable = -Infinity;
  maxTrust = -Infinity;
  maxAvailability = -Infinity;
  minLatency = Infinity;
  maxCreatedAt = -Infinity;
  /** Unknown completed trades count as none. */
  minTrades = Infinity;

  /** The empty set. */
  clear(): this {
    this.active = 0;
    this.minPrice = Infinity;
    this.maxVram = NaN;
    this.maxGpu = NaN;
    this.maxCtx = NaN;
    this.maxAvailable = -Infinity;
    this.maxTrust = -Infinity;
    this.maxAvailability = -Infinity;
    this.minLatency = Infinity;
    this.maxCreatedAt = -Infinity;
    this.minTrades = Infinity;
    return this;
  }

  /** Adds the (active) listing in slot i of `c`. */
  add(c: Columns, i: number): void {
    this.active++;
    const p = c.price[i] as number;
    if (p < this.minPrice) this.minPrice = p;
    this.maxVram = maxOf(this.maxVram, c.vram[i] as number);
    this.maxGpu = maxOf(this.maxGpu, c.gpuCount[i] as number);
    this.maxCtx = maxOf(this.maxCtx, c.ctx[i] as number);
    this.maxAvailable = maxOf(this.maxAvailable, c.available[i] as number);
    this.maxTrust = maxOf(this.maxTrust, c.trust[i] as number);
    this.maxAvailability = maxOf(this.maxAvailability, c.availability[i] as number);
    this.minLatency = minOf(this.minLatency, c.latency[i] as number);
    this.maxCreatedAt = maxOf(this.maxCreatedAt, c.createdAt[i] as number);
    const t = c.trades[i] as number;
    if (!(t >= this.minTrades)) this.minTrades = Number.isNaN(t) ? 0 : t;
  }

  /** Adds the listings of another set (disjoint from this one). */
  merge(o: ListingStats): void {
    if (o.active === 0) return;
    this.active += o.active;
    if (o.minPrice < this.minPrice) this.minPrice = o.minPrice;
    this.maxVram = maxOf(this.maxVram, o.maxVram);
    this.maxGpu = maxOf(this.maxGpu, o.maxGpu);
    this.maxCtx = maxOf(this.maxCtx, o.maxCtx);
    this.maxAvailable = maxOf(this.maxAvailable, o.maxAvailable);
    this.maxTrust = maxOf(this.maxTrust, o.maxTrust);
    this.maxAvailability = maxOf(this.maxAvailability, o.maxAvailability);
    this.minLatency = minOf(this.minLatency, o.minLatency);
    this.maxCreatedAt = maxOf(this.maxCreatedAt, o.maxCreatedAt);
    if (o.minTrades < this.minTrades) this.minTrades = o.minTrades;
  }

  /** Writes these statistics as block j of `blocks`. */
  storeAt(blocks: BlockStats, j: number): void {
    blocks.active[j] = this.active;
    blocks.minPrice[j] = this.minPrice;
    blocks.maxVram[j] = this.maxVram;
    blocks.maxGpu[j] = this.maxGpu;
    blocks.maxCtx[j] = this.maxCtx;
    blocks.maxAvailable[j] = this.maxAvailable;
    blocks.maxTrust[j] = this.maxTrust;
    blocks.maxAvailability[j] = this.maxAvailability;
    blocks.minLatency[j] = this.minLatency;
    blocks.maxCreatedAt[j] = this.maxCreatedAt;
    blocks.minTrades[j] = this.minTrades;
  }
}

/** One block's statistics while the bucket's are being refreshed (refreshStats is synchronous). */
const BLOCK_SCRATCH = new ListingStats();

export interface Loc {
  bucket: Bucket;
  slot: number;
}

export class Bucket {
  n = 0;
  columns: Columns;
  listings: Listing[] = [];
  locs: Loc[] = [];
  /** The statistics below are stale (recomputed lazily by refreshStats). */
  dirty = true;
  /** Statistics over the bucket's active listings. */
  readonly stats = new ListingStats();
  /** The same statistics per block of BLOCK consecutive (price-sorted) slots. */
  nBlocks = 0;
  blocks: BlockStats = Object.fromEntries(STATS.map((k) => [k, new Float64Array(0)])) as BlockStats;

  constructor(
    readonly category: Category,
    readonly region: string,
    readonly gpuModel: string | undefined,
    readonly modelName: string | undefined,
  ) {
    this.columns = Object.fromEntries(COLUMNS.map((k) => [k, new Float64Array(8)])) as Columns;
  }

  private ensureCapacity(): void {
    const cap = this.columns.price.length;
    if (this.n < cap) return;
    for (const k of COLUMNS) {
      const next = new Float64Array(cap * 2);
      next.set(this.columns[k]);
      this.columns[k] = next;
    }
  }

  /** First slot whose price is > p (insertion point keeping the bucket sorted). */
  private upperBound(p: number): number {
    const price = this.columns.price;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((price[mid] as number) <= p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(l: Listing, seller: number, loc: Loc): void {
    this.ensureCapacity();
    const p = Number(l.pricePerUnit);
    const at = this.upperBound(p);
    if (at < this.n) for (const k of COLUMNS) this.columns[k].copyWithin(at + 1, at, this.n);
    this.listings.splice(at, 0, l);
    this.locs.splice(at, 0, loc);
    this.n++;
    for (let j = at; j < this.n; j++) (this.locs[j] as Loc).slot = j;
    loc.bucket = this;
    this.write(at, l, seller);
  }

  /** Overwrites slot i in place (caller guarantees the price did not change). */
  write(i: number, l: Listing, seller: number): void {
    const c = this.columns;
    this.listings[i] = l;
    c.price[i] = Number(l.pricePerUnit);
    c.status[i] = STATUS_CODE[l.status];
    c.validFrom[i] = l.validFrom;
    c.validUntil[i] = l.validUntil;
    c.seller[i] = seller;
    c.vram[i] = l.spec.vramGb ?? NaN;
    c.gpuCount[i] = l.spec.gpuCount ?? NaN;
    c.ctx[i] = l.spec.contextSize ?? NaN;
    c.available[i] = l.capacityTotal - l.capacityReserved;
    c.latency[i] = l.sla.maxLatencyMs;
    c.trust[i] = l.sellerTrust;
    c.availability[i] = l.sla.availability;
    c.createdAt[i] = l.sellerCreatedAt;
    c.trades[i] = l.sellerCompletedTrades ?? NaN;
    this.dirty = true;
  }

  removeAt(i: number): void {
    if (i + 1 < this.n) for (const k of COLUMNS) this.columns[k].copyWithin(i, i + 1, this.n);
    this.listings.splice(i, 1);
    this.locs.splice(i, 1);
    this.n--;
    for (let j = i; j < this.n; j++) (this.locs[j] as Loc).slot = j;
    this.dirty = true;
  }

  /** Recomputes every block's statistics and the bucket's (their merge), when a slot changed. */
  refreshStats(): void {
    if (!this.dirty) return;
    const c = this.columns;
    const nb = (this.n + BLOCK - 1) >> BLOCK_SHIFT;
    if (this.blocks.active.length < nb) {
      this.blocks = Object.fromEntries(STATS.map((k) => [k, new Float64Array(Math.max(nb, 8) * 2)])) as BlockStats;
    }
    this.nBlocks = nb;
    const bucket = this.stats.clear();
    const block = BLOCK_SCRATCH;
    for (let j = 0; j < nb; j++) {
      block.clear();
      const end = Math.min(this.n, (j + 1) << BLOCK_SHIFT);
      for (let i = j << BLOCK_SHIFT; i < end; i++) if (c.status[i] === 0) block.add(c, i);
      block.storeAt(this.blocks, j);
      bucket.merge(block);
    }
    this.dirty = false;
  }
}
