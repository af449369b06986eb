/**
 * In-memory matching index. The DB-backed service keeps one of these, calling `upsert`/`remove` whenever a
 * listing changes, and answers `GET /v1/trade-requests/{id}/matches` with `index.match(request, opts)`.
 *
 * Layout
 * - One bucket per (category, region, GPU model, model name). A bucket stores its listings column-wise in
 *   Float64Arrays (price, status, validity, seller id, VRAM, GPU count, context, available capacity,
 *   latency, trust, availability, newcomer fields), kept SORTED BY PRICE (binary-search insert, shifting
 *   removal: O(bucket size) memmove, buckets hold hundreds of listings).
 * - Each bucket keeps lazily recomputed statistics over its active listings (min price, max VRAM / GPU
 *   count / context / free capacity / trust / availability, min latency, newcomer presence).
 *
 * Query
 * 1. Buckets are selected by category, then skipped whole when their region is excluded or not allowed,
 *    their model / GPU model is not the one asked for, or their statistics prove no listing can pass a
 *    hard constraint (e.g. max VRAM below the minimum, min price above the budget).
 * 2. For each remaining bucket an upper bound of the score is computed from its statistics (every factor
 *    is monotone in its input). Buckets are scanned best bound first.
 * 3. Inside a bucket, listings are scanned by ascending price up to the budget; once the top-k heap is
 *    full, the scan stops as soon as the price-dependent bound falls below the worst kept score, and a
 *    bucket whose bound is below it is skipped. Kept: a bounded min-heap of size `limit`.
 * Pruning never changes the returned candidates (same scores, same total order as `matchListings`), only
 * the `qualified` count, which is then a lower bound (`qualifiedExact: false`; `exactCount: true` disables
 * pruning). When fewer than `limit` qualify nothing was pruned, and a diagnostics pass classifies every
 * listing of the category by its first failing constraint.
 */
import {
  CONSTRAINTS,
  FACTORS,
  buildDiagnostics,
  combine,
  drawExploration,
  finishResult,
  prepareQuery,
  rawFactors,
  newcomerBy,
} from './matching-core.js';
import type { ConstraintKey, MatchOptions, MatchResult, PreparedQuery, Scored } from './matching-core.js';
import type { Category, Listing, TradeRequest } from './trading.types.js';

const STATUS_CODE = { active: 0, paused: 1, withdrawn: 2 } as const;
const C = Object.fromEntries(CONSTRAINTS.map((c, i) => [c, i])) as Record<ConstraintKey, number>;
/** Float slack for bound comparisons (bounds are summed in another order than scores). */
const EPS = 1e-9;

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

/** Slots per block of the block-max statistics (power of two). */
const BLOCK_SHIFT = 4;
const BLOCK = 1 << BLOCK_SHIFT;
const BLOCK_STATS = ['active', 'minPrice', 'maxVram', 'maxGpu', 'maxCtx', 'maxAvailable', 'maxTrust', 'maxAvailability', 'minLatency', 'maxCreatedAt', 'minTrades'] as const;
type BlockStat = (typeof BLOCK_STATS)[number];

interface Loc {
  bucket: Bucket;
  slot: number;
}

class Bucket {
  n = 0;
  c: Record<Column, Float64Array>;
  listings: Listing[] = [];
  locs: Loc[] = [];
  // statistics over active listings (recomputed lazily)
  dirty = true;
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
  minTrades = Infinity;
  /** Block-max statistics: the same statistics per block of BLOCK consecutive (price-sorted) slots. */
  nBlocks = 0;
  blk: Record<BlockStat, Float64Array> = Object.fromEntries(BLOCK_STATS.map((k) => [k, new Float64Array(0)])) as Record<BlockStat, Float64Array>;

  constructor(
    readonly category: Category,
    readonly region: string,
    readonly gpuModel: string | undefined,
    readonly modelName: string | undefined,
  ) {
    this.c = Object.fromEntries(COLUMNS.map((k) => [k, new Float64Array(8)])) as Record<Column, Float64Array>;
  }

  private ensureCapacity(): void {
    const cap = this.c.price.length;
    if (this.n < cap) return;
    for (const k of COLUMNS) {
      const next = new Float64Array(cap * 2);
      next.set(this.c[k]);
      this.c[k] = next;
    }
  }

  /** First slot whose price is > p (insertion point keeping the bucket sorted). */
  private upperBound(p: number): number {
    const price = this.c.price;
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
    if (at < this.n) for (const k of COLUMNS) this.c[k].copyWithin(at + 1, at, this.n);
    this.listings.splice(at, 0, l);
    this.locs.splice(at, 0, loc);
    this.n++;
    for (let j = at; j < this.n; j++) (this.locs[j] as Loc).slot = j;
    loc.bucket = this;
    this.write(at, l, seller);
  }

  /** Overwrites slot i in place (caller guarantees the price did not change). */
  write(i: number, l: Listing, seller: number): void {
    const c = this.c;
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
    if (i + 1 < this.n) for (const k of COLUMNS) this.c[k].copyWithin(i, i + 1, this.n);
    this.listings.splice(i, 1);
    this.locs.splice(i, 1);
    this.n--;
    for (let j = i; j < this.n; j++) (this.locs[j] as Loc).slot = j;
    this.dirty = true;
  }

  refreshStats(): void {
    if (!this.dirty) return;
    const c = this.c;
    const nb = (this.n + BLOCK - 1) >> BLOCK_SHIFT;
    if (this.blk.active.length < nb) {
      this.blk = Object.fromEntries(BLOCK_STATS.map((k) => [k, new Float64Array(Math.max(nb, 8) * 2)])) as Record<BlockStat, Float64Array>;
    }
    const B = this.blk;
    this.nBlocks = nb;
    // NaN-aware max/min: NaN (attribute missing) only when every value is missing
    const mx = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a > b ? a : b);
    const mn = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a < b ? a : b);
    for (let j = 0; j < nb; j++) {
      let active = 0;
      let minPrice = Infinity;
      let maxVram = NaN;
      let maxGpu = NaN;
      let maxCtx = NaN;
      let maxAvailable = -Infinity;
      let maxTrust = -Infinity;
      let maxAvailability = -Infinity;
      let minLatency = Infinity;
      let maxCreatedAt = -Infinity;
      let minTrades = Infinity;
      const end = Math.min(this.n, (j + 1) << BLOCK_SHIFT);
      for (let i = j << BLOCK_SHIFT; i < end; i++) {
        if (c.status[i] !== 0) continue;
        active++;
        const p = c.price[i] as number;
        if (p < minPrice) minPrice = p;
        maxVram = mx(maxVram, c.vram[i] as number);
        maxGpu = mx(maxGpu, c.gpuCount[i] as number);
        maxCtx = mx(maxCtx, c.ctx[i] as number);
        maxAvailable = mx(maxAvailable, c.available[i] as number);
        maxTrust = mx(maxTrust, c.trust[i] as number);
        maxAvailability = mx(maxAvailability, c.availability[i] as number);
        minLatency = mn(minLatency, c.latency[i] as number);
        maxCreatedAt = mx(maxCreatedAt, c.createdAt[i] as number);
        const t = c.trades[i] as number;
        if (!(t >= minTrades)) minTrades = Number.isNaN(t) ? 0 : t; // unknown counts as none
      }
      B.active[j] = active;
      B.minPrice[j] = minPrice;
      B.maxVram[j] = maxVram;
      B.maxGpu[j] = maxGpu;
      B.maxCtx[j] = maxCtx;
      B.maxAvailable[j] = maxAvailable;
      B.maxTrust[j] = maxTrust;
      B.maxAvailability[j] = maxAvailability;
      B.minLatency[j] = minLatency;
      B.maxCreatedAt[j] = maxCreatedAt;
      B.minTrades[j] = minTrades;
    }
    let active = 0;
    let minPrice = Infinity;
    let maxVram = NaN;
    let maxGpu = NaN;
    let maxCtx = NaN;
    let maxAvailable = -Infinity;
    let maxTrust = -Infinity;
    let maxAvailability = -Infinity;
    let minLatency = Infinity;
    let maxCreatedAt = -Infinity;
    let minTrades = Infinity;
    for (let j = 0; j < nb; j++) {
      if (B.active[j] === 0) continue;
      active += B.active[j] as number;
      if ((B.minPrice[j] as number) < minPrice) minPrice = B.minPrice[j] as number;
      maxVram = mx(maxVram, B.maxVram[j] as number);
      maxGpu = mx(maxGpu, B.maxGpu[j] as number);
      maxCtx = mx(maxCtx, B.maxCtx[j] as number);
      maxAvailable = mx(maxAvailable, B.maxAvailable[j] as number);
      maxTrust = mx(maxTrust, B.maxTrust[j] as number);
      maxAvailability = mx(maxAvailability, B.maxAvailability[j] as number);
      minLatency = mn(minLatency, B.minLatency[j] as number);
      maxCreatedAt = mx(maxCreatedAt, B.maxCreatedAt[j] as number);
      if ((B.minTrades[j] as number) < minTrades) minTrades = B.minTrades[j] as number;
    }
    Object.assign(this, {
      active,
      minPrice,
      maxVram,
      maxGpu,
      maxCtx,
      maxAvailable,
      maxTrust,
      maxAvailability,
      minLatency,
      maxCreatedAt,
      minTrades,
      dirty: false,
    });
  }
}

/** True when (s1, p1, l1) ranks after (s2, p2, l2): score desc, then price asc, then id asc. */
function ranksAfter(s1: number, p1: number, l1: Listing, s2: number, p2: number, l2: Listing): boolean {
  if (s1 !== s2) return s1 < s2;
  if (p1 !== p2) return p1 > p2;
  if (l1.pricePerUnit !== l2.pricePerUnit) return l1.pricePerUnit > l2.pricePerUnit;
  return l1.id > l2.id;
}

/** Bounded min-heap keeping the best `k` in ranking order; the root is the worst entry kept. */
class TopK {
  size = 0;
  readonly score: Float64Array;
  readonly price: Float64Array;
  readonly items: Listing[] = [];
  constructor(readonly k: number) {
    this.score = new Float64Array(k);
    this.price = new Float64Array(k);
  }

  /** Worst kept score, or -Infinity while not full: a listing scoring below this cannot enter. */
  floor(): number {
    return this.size < this.k ? -Infinity : (this.score[0] as number);
  }

  private after(i: number, j: number): boolean {
    return ranksAfter(
      this.score[i] as number, this.price[i] as number, this.items[i] as Listing,
      this.score[j] as number, this.price[j] as number, this.items[j] as Listing,
    );
  }

  private swap(i: number, j: number): void {
    const s = this.score[i] as number;
    const p = this.price[i] as number;
    const l = this.items[i] as Listing;
    this.score[i] = this.score[j] as number;
    this.price[i] = this.price[j] as number;
    this.items[i] = this.items[j] as Listing;
    this.score[j] = s;
    this.price[j] = p;
    this.items[j] = l;
  }

  offer(s: number, p: number, l: Listing): void {
    if (this.size < this.k) {
      let i = this.size++;
      this.score[i] = s;
      this.price[i] = p;
      this.items[i] = l;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        // heap property: a parent ranks after (is worse than) its children
        if (!this.after(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    if (!ranksAfter(this.score[0] as number, this.price[0] as number, this.items[0] as Listing, s, p, l)) return;
    this.score[0] = s;
    this.price[0] = p;
    this.items[0] = l;
    let i = 0;
    const n = this.size;
    for (;;) {
      const a = 2 * i + 1;
      if (a >= n) break;
      const b = a + 1;
      const worse = b < n && this.after(b, a) ? b : a;
      if (!this.after(worse, i)) break;
      this.swap(i, worse);
      i = worse;
    }
  }

  /** Entries, best first. */
  sorted(): Scored[] {
    const idx = Array.from({ length: this.size }, (_, i) => i);
    idx.sort((i, j) => (this.after(i, j) ? 1 : this.after(j, i) ? -1 : 0));
    return idx.map((i) => ({ score: this.score[i] as number, listing: this.items[i] as Listing }));
  }
}

function intern(map: Map<string, number>, key: string): number {
  let id = map.get(key);
  if (id === undefined) {
    id = map.size;
    map.set(key, id);
  }
  return id;
}

interface Plan {
  bucket: Bucket;
  regionRank: number;
  modelRank: number;
  /** Upper bound of any score in the bucket. */
  bound: number;
  /** Upper bound of the non-price part of the score (weighted). */
  rest: number;
}

export class ListingIndex {
  private readonly byId = new Map<string, Loc>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly byCategory = new Map<Category, Bucket[]>();
  private readonly sellers = new Map<string, number>();

  static from(listings: Iterable<Listing>): ListingIndex {
    const idx = new ListingIndex();
    for (const l of listings) idx.upsert(l);
    return idx;
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Listing | undefined {
    const loc = this.byId.get(id);
    return loc ? loc.bucket.listings[loc.slot] : undefined;
  }

  /** Adds a listing; throws if its id is already present. */
  add(listing: Listing): void {
    if (this.byId.has(listing.id)) throw new Error(`listing ${listing.id} already indexed`);
    this.upsert(listing);
  }

  /** Replaces a listing; throws if its id is unknown. */
  update(listing: Listing): void {
    if (!this.byId.has(listing.id)) throw new Error(`listing ${listing.id} not indexed`);
    this.upsert(listing);
  }

  /**
   * Adds or replaces a listing. The index keeps a reference to the object: pass a fresh object on every
   * change (never mutate an indexed listing in place).
   */
  upsert(listing: Listing): void {
    const bucket = this.bucketFor(listing);
    const seller = intern(this.sellers, listing.sellerId);
    const loc = this.byId.get(listing.id);
    if (loc && loc.bucket === bucket && bucket.c.price[loc.slot] === Number(listing.pricePerUnit)) {
      bucket.write(loc.slot, listing, seller);
      return;
    }
    if (loc) {
      loc.bucket.removeAt(loc.slot);
      bucket.insert(listing, seller, loc);
    } else {
      const fresh: Loc = { bucket, slot: -1 };
      bucket.insert(listing, seller, fresh);
      this.byId.set(listing.id, fresh);
    }
  }

  /** Removes a listing; returns false if it was not indexed. */
  remove(id: string): boolean {
    const loc = this.byId.get(id);
    if (!loc) return false;
    loc.bucket.removeAt(loc.slot);
    this.byId.delete(id);
    return true;
  }

  clear(): void {
    this.byId.clear();
    this.buckets.clear();
    this.byCategory.clear();
  }

  *listings(): IterableIterator<Listing> {
    for (const b of this.buckets.values()) yield* b.listings;
  }

  private bucketFor(l: Listing): Bucket {
    const key = [l.category, l.region, l.spec.gpuModel ?? '', l.spec.modelName ?? ''].join('\u0000');
    let b = this.buckets.get(key);
    if (!b) {
      b = new Bucket(l.category, l.region, l.spec.gpuModel, l.spec.modelName);
      this.buckets.set(key, b);
      let list = this.byCategory.get(l.category);
      if (!list) {
        list = [];
        this.byCategory.set(l.category, list);
      }
      list.push(b);
    }
    return b;
  }

  /** Top-`limit` matches; same candidates as `matchListings(request, [...index.listings()], opts)`. */
  match(request: TradeRequest, opts: MatchOptions): MatchResult {
    const q = prepareQuery(request, opts);
    const exploration = drawExploration(q);
    const buckets = this.byCategory.get(request.category) ?? [];
    const buyer = this.sellers.get(request.buyerId) ?? -1;
    const raw = new Float64Array(FACTORS.length);
    const plans: Plan[] = [];
    for (const b of buckets) {
      if (b.n === 0 || q.excluded.has(b.region)) continue;
      const regionRank = q.regionPref.indexOf(b.region);
      if (q.regionPref.length > 0 && regionRank < 0) continue;
      if (q.hasModelName && b.modelName !== request.spec.modelName) continue;
      const modelRank = b.gpuModel === undefined ? -1 : q.modelPref.indexOf(b.gpuModel);
      if (q.modelPref.length > 0 && modelRank < 0) continue;
      b.refreshStats();
      if (b.active === 0) continue;
      if (q.hasMinVram && !(b.maxVram >= q.minVram)) continue;
      if (q.hasMinGpu && !(b.maxGpu >= q.minGpu)) continue;
      if (q.hasMinCtx && !(b.maxCtx >= q.minCtx)) continue;
      if (!(b.maxAvailable >= q.quantity)) continue;
      if (b.minPrice > q.budgetMaxF) continue;
      if (q.hasMaxLatency && !(b.minLatency <= q.maxLatency)) continue;
      if (q.hasMinTrust && !(b.maxTrust >= q.minTrust)) continue;
      rawFactors(raw, q, b.minPrice, modelRank, b.maxVram, b.maxGpu, b.maxCtx, b.maxTrust, regionRank, b.minLatency, b.maxAvailable, b.maxAvailability);
      const bound = combine(raw, q.w);
      raw[0] = 0;
      plans.push({ bucket: b, regionRank, modelRank, bound, rest: combine(raw, q.w) });
    }
    // Block-max pass: an upper bound of the score of every block of BLOCK listings (from its statistics).
    // Blocks are scanned in two passes: first those whose bound is among the best few (so the top-k heap
    // gets a high floor early), then the rest in bucket order, skipping every block whose bound is below
    // the worst kept score. Skipping never changes the candidates, only makes `qualified` a lower bound.
    let nBlk = 0;
    for (let pi = 0; pi < plans.length; pi++) {
      const plan = plans[pi] as Plan;
      const b = plan.bucket;
      const B = b.blk;
      for (let j = 0; j < b.nBlocks; j++) {
        if (B.active[j] === 0) continue;
        const minPrice = B.minPrice[j] as number;
        if (minPrice > q.budgetMaxF) break; // slots are price-sorted: later blocks are over budget too
        if (!((B.maxAvailable[j] as number) >= q.quantity)) continue;
        if (q.hasMinVram && !((B.maxVram[j] as number) >= q.minVram)) continue;
        if (q.hasMinGpu && !((B.maxGpu[j] as number) >= q.minGpu)) continue;
        if (q.hasMinCtx && !((B.maxCtx[j] as number) >= q.minCtx)) continue;
        if (q.hasMaxLatency && !((B.minLatency[j] as number) <= q.maxLatency)) continue;
        if (q.hasMinTrust && !((B.maxTrust[j] as number) >= q.minTrust)) continue;
        rawFactors(raw, q, minPrice, plan.modelRank, B.maxVram[j] as number, B.maxGpu[j] as number, B.maxCtx[j] as number,
          B.maxTrust[j] as number, plan.regionRank, B.minLatency[j] as number, B.maxAvailable[j] as number, B.maxAvailability[j] as number);
        if (nBlk === SCR.bound.length) growScratch();
        SCR.plan[nBlk] = pi;
        SCR.block[nBlk] = j;
        SCR.bound[nBlk] = combine(raw, q.w);
        nBlk++;
      }
    }
    const top = new TopK(q.limit);
    const newcomers = exploration.triggered ? new TopK(q.limit) : null;
    const prune = !q.exactCount;
    let qualified = 0;
    let pruned = false;
    const { plan: blockPlan, block: blockNo, bound: blockBound, done } = SCR;
    done.fill(0, 0, nBlk);
    // threshold: the bound of the (2 * limit)-th best block (first pass scans blocks at or above it)
    let threshold = Infinity;
    const m = 2 * q.limit;
    if (prune && nBlk > m) {
      const best = new Float64Array(m).fill(-Infinity); // descending
      for (let k = 0; k < nBlk; k++) {
        const v = blockBound[k] as number;
        if (v <= (best[m - 1] as number)) continue;
        let i = m - 1;
        while (i > 0 && (best[i - 1] as number) < v) {
          best[i] = best[i - 1] as number;
          i--;
        }
        best[i] = v;
      }
      threshold = best[m - 1] as number;
    }
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < nBlk; k++) {
        if (done[k]) continue;
        const bound = blockBound[k] as number;
        if (pass === 0 && bound < threshold) continue;
        const plan = plans[blockPlan[k] as number] as Plan;
        const b = plan.bucket;
        const j = blockNo[k] as number;
        const mayHaveNewcomers =
          newcomers !== null && (b.blk.maxTrust[j] as number) >= q.newcomerMinTrust && newcomerBy(q, b.blk.maxCreatedAt[j] as number, b.blk.minTrades[j] as number);
        const floor = mayHaveNewcomers ? Math.min(top.floor(), (newcomers as TopK).floor()) : top.floor();
        done[k] = 1;
        if (prune && bound + EPS < floor) {
          pruned = true;
          continue;
        }
        const start = j << BLOCK_SHIFT;
        qualified += scanRange(b, q, buyer, plan, top, mayHaveNewcomers ? newcomers : null, start, Math.min(b.n, start + BLOCK));
      }
    }
    let diagnostics = null;
    if (q.diagnostics === 'always' || (q.diagnostics === 'auto' && qualified < q.limit)) {
      // fewer than `limit` qualified => nothing was pruned and `qualified` is exact
      const counts = new Int32Array(CONSTRAINTS.length);
      let inCategory = 0;
      for (const b of buckets) {
        inCategory += b.n;
        classifyBucket(b, q, buyer, counts);
      }
      counts[C.category] = this.byId.size - inCategory;
      const byConstraint = Object.fromEntries(CONSTRAINTS.map((c, i) => [c, counts[i] as number])) as Record<
        ConstraintKey,
        number
      >;
      diagnostics = buildDiagnostics(request.category, this.byId.size, qualified, byConstraint);
    }
    return finishResult(q, exploration, top.sorted(), newcomers ? newcomers.sorted() : [], qualified, !pruned, diagnostics);
  }
}

/**
 * Hot loop over slots [start, end) of one bucket (region, model and GPU model already known to pass), by
 * ascending price up to the budget. Offers qualifying listings to the heaps; returns how many qualified.
 */
function scanRange(
  b: Bucket,
  q: PreparedQuery,
  buyer: number,
  plan: Plan,
  top: TopK,
  newcomers: TopK | null,
  start: number,
  end: number,
): number {
  const { now, quantity, budgetMaxF, budgetMax, minVram, minGpu, minCtx, maxLatency, minTrust } = q;
  const { hasMinVram, hasMinGpu, hasMinCtx, hasMaxLatency, hasMinTrust } = q;
  const { price, status, validFrom, validUntil, seller, vram, gpuCount, ctx } = b.c;
  const { available, latency, trust, availability, createdAt, trades } = b.c;
  const listings = b.listings;
  const { modelRank, regionRank } = plan;
  const raw = SCRATCH;
  const w = q.w;
  let qualified = 0;
  for (let i = start; i < end; i++) {
    const p = price[i] as number;
    if (p > budgetMaxF) break; // sorted by price: everything after is over budget
    if (status[i] !== 0) continue;
    if (!(now >= (validFrom[i] as number) && now < (validUntil[i] as number))) continue;
    if (seller[i] === buyer) continue;
    if (hasMinVram && !((vram[i] as number) >= minVram)) continue;
    if (hasMinGpu && !((gpuCount[i] as number) >= minGpu)) continue;
    if (hasMinCtx && !((ctx[i] as number) >= minCtx)) continue;
    if (!((available[i] as number) >= quantity)) continue;
    if (p === budgetMaxF && (listings[i] as Listing).pricePerUnit > budgetMax) continue;
    if (hasMaxLatency && !((latency[i] as number) <= maxLatency)) continue;
    if (hasMinTrust && !((trust[i] as number) >= minTrust)) continue;
    qualified++;
    rawFactors(
      raw,
      q,
      p,
      modelRank,
      vram[i] as number,
      gpuCount[i] as number,
      ctx[i] as number,
      trust[i] as number,
      regionRank,
      latency[i] as number,
      available[i] as number,
      availability[i] as number,
    );
    const s = combine(raw, w);
    if (s >= top.floor()) top.offer(s, p, listings[i] as Listing);
    if (
      newcomers !== null &&
      (trust[i] as number) >= q.newcomerMinTrust &&
      newcomerBy(q, createdAt[i] as number, trades[i] as number) &&
      s >= newcomers.floor()
    ) {
      newcomers.offer(s, p, listings[i] as Listing);
    }
  }
  return qualified;
}
const SCRATCH = new Float64Array(FACTORS.length);

/** Per-query block lists, reused across queries (match is synchronous, so never shared by two). */
const SCR = { plan: new Int32Array(1024), block: new Int32Array(1024), bound: new Float64Array(1024), done: new Uint8Array(1024) };
function growScratch(): void {
  const n = SCR.bound.length * 2;
  const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const b = make(n);
    b.set(a as never);
    return b;
  };
  SCR.plan = grow(SCR.plan, (k) => new Int32Array(k));
  SCR.block = grow(SCR.block, (k) => new Int32Array(k));
  SCR.bound = grow(SCR.bound, (k) => new Float64Array(k));
  SCR.done = grow(SCR.done, (k) => new Uint8Array(k));
}

/** Diagnostics pass: counts each non-qualifying listing of a bucket under its first failing constraint. */
function classifyBucket(b: Bucket, q: PreparedQuery, buyer: number, counts: Int32Array): void {
  const c = b.c;
  const regionExcluded = q.excluded.has(b.region);
  const regionNotAllowed = q.regionPref.length > 0 && !q.regionPref.includes(b.region);
  const modelNameMismatch = q.hasModelName && b.modelName !== q.req.spec.modelName;
  const gpuNotAccepted = q.modelPref.length > 0 && (b.gpuModel === undefined || !q.modelPref.includes(b.gpuModel));
  for (let i = 0; i < b.n; i++) {
    let k: number;
    const p = c.price[i] as number;
    if (c.status[i] !== 0) k = C.status;
    else if (!(q.now >= (c.validFrom[i] as number) && q.now < (c.validUntil[i] as number))) k = C.validity;
    else if (c.seller[i] === buyer) k = C.own_listing;
    else if (modelNameMismatch) k = C.model_name;
    else if (gpuNotAccepted) k = C.gpu_model;
    else if (q.hasMinVram && !((c.vram[i] as number) >= q.minVram)) k = C.min_vram;
    else if (q.hasMinGpu && !((c.gpuCount[i] as number) >= q.minGpu)) k = C.min_gpu_count;
    else if (q.hasMinCtx && !((c.ctx[i] as number) >= q.minCtx)) k = C.min_context;
    else if (!((c.available[i] as number) >= q.quantity)) k = C.capacity;
    else if (p > q.budgetMaxF || (p === q.budgetMaxF && (b.listings[i] as Listing).pricePerUnit > q.budgetMax)) {
      k = C.budget;
    } else if (regionExcluded) k = C.region_excluded;
    else if (regionNotAllowed) k = C.region_not_allowed;
    else if (q.hasMaxLatency && !((c.latency[i] as number) <= q.maxLatency)) k = C.latency;
    else if (q.hasMinTrust && !((c.trust[i] as number) >= q.minTrust)) k = C.min_trust;
    else continue;
    counts[k] = (counts[k] as number) + 1;
  }
}
