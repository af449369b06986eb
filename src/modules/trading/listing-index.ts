/**
 * In-memory matching index. The market index (market-index.ts) calls `upsert`/`remove` whenever a listing
 * changes and answers `GET /v1/trade-requests/{id}/matches` with `index.match(request, opts)`.
 *
 * Layout
 * - One bucket per (category, region, GPU model, model name). A bucket stores its listings column-wise in
 *   Float64Arrays (price, status, validity, seller id, VRAM, GPU count, context, available capacity,
 *   latency, trust, availability, newcomer fields), kept SORTED BY PRICE (binary-search insert, shifting
 *   removal: O(bucket size) memmove, buckets hold hundreds of listings).
 * - The slots of a bucket are cut into blocks of BLOCK (16) consecutive slots. Each block, and the bucket
 *   as a whole, has statistics over its active listings (`ListingStats`: count, min price, max VRAM / GPU
 *   count / context / free capacity / trust / availability / registration time, min latency and min
 *   completed trades), recomputed lazily after a change; the bucket's are the merge of its blocks'.
 *
 * Query
 * 1. Buckets are selected by category, then skipped whole when their region is excluded or not allowed,
 *    their model / GPU model is not the one asked for, or their statistics prove no listing can pass a
 *    hard constraint (e.g. max VRAM below the minimum, min price above the budget).
 * 2. Every block of the remaining buckets that could hold a qualifying listing (the same test on the
 *    block's statistics; blocks past the budget end the bucket, slots being price-sorted) gets an upper
 *    bound of its listings' scores: the score of its statistics (every factor is monotone in its input).
 * 3. Blocks are scanned in two passes: first those whose bound is at least the (2 * limit)-th best bound,
 *    so the top-`limit` heap gets a high floor early, then the rest, skipping every block whose bound is
 *    below the worst score kept (with exploration, below the newcomers' heap's too when the block may
 *    hold a newcomer). A scanned block's slots are checked one by one (scanRange) and offered to a bounded
 *    min-heap of size `limit`.
 * Skipping never changes the returned candidates (same scores, same total order as `matchListings`), only
 * the `qualified` count, which is then a lower bound (`qualifiedExact: false`; `exactCount: true` disables
 * skipping). When fewer than `limit` qualify nothing was skipped, and a diagnostics pass classifies every
 * listing of the category by its first failing constraint.
 */
import { CONSTRAINTS, FACTORS, combine, prepareQuery, rawFactors, newcomerBy } from './matching-core.js';
import { buildDiagnostics, drawExploration, finishResult } from './matching-result.js';
import type { ConstraintKey, MatchOptions, MatchResult, PreparedQuery } from './matching-core.js';
import type { Category, Listing, TradeRequest } from './trading.types.js';
import { BLOCK, BLOCK_SHIFT, Bucket, type Loc } from './listing-index.bucket.js';
import { TopK } from './listing-index.top-k.js';

/** Each constraint's position in CONSTRAINTS (the diagnostics counters' index). */
const CONSTRAINT_AT = Object.fromEntries(CONSTRAINTS.map((c, i) => [c, i])) as Record<ConstraintKey, number>;
/** Float slack for bound comparisons (bounds are summed in another order than scores). */
const EPS = 1e-9;

function intern(map: Map<string, number>, key: string): number {
  let id = map.get(key);
  if (id === undefined) {
    id = map.size;
    map.set(key, id);
  }
  return id;
}

/** A bucket the query scans, with its rank in the request's region and GPU model preferences. */
interface Plan {
  bucket: Bucket;
  regionRank: number;
  modelRank: number;
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
    if (loc && loc.bucket === bucket && bucket.columns.price[loc.slot] === Number(listing.pricePerUnit)) {
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
      const s = b.stats;
      if (s.active === 0) continue;
      if (q.hasMinVram && !(s.maxVram >= q.minVram)) continue;
      if (q.hasMinGpu && !(s.maxGpu >= q.minGpu)) continue;
      if (q.hasMinCtx && !(s.maxCtx >= q.minCtx)) continue;
      if (!(s.maxAvailable >= q.quantity)) continue;
      if (s.minPrice > q.budgetMaxF) continue;
      if (q.hasMaxLatency && !(s.minLatency <= q.maxLatency)) continue;
      if (q.hasMinTrust && !(s.maxTrust >= q.minTrust)) continue;
      plans.push({ bucket: b, regionRank, modelRank });
    }
    // Block pass: an upper bound of the score of every block that may hold a qualifying listing, from
    // its statistics (see the header: steps 2 and 3).
    let blockCount = 0;
    for (let pi = 0; pi < plans.length; pi++) {
      const plan = plans[pi] as Plan;
      const b = plan.bucket;
      const st = b.blocks;
      for (let j = 0; j < b.nBlocks; j++) {
        if (st.active[j] === 0) continue;
        const minPrice = st.minPrice[j] as number;
        if (minPrice > q.budgetMaxF) break; // slots are price-sorted: later blocks are over budget too
        if (!((st.maxAvailable[j] as number) >= q.quantity)) continue;
        if (q.hasMinVram && !((st.maxVram[j] as number) >= q.minVram)) continue;
        if (q.hasMinGpu && !((st.maxGpu[j] as number) >= q.minGpu)) continue;
        if (q.hasMinCtx && !((st.maxCtx[j] as number) >= q.minCtx)) continue;
        if (q.hasMaxLatency && !((st.minLatency[j] as number) <= q.maxLatency)) continue;
        if (q.hasMinTrust && !((st.maxTrust[j] as number) >= q.minTrust)) continue;
        rawFactors(raw, q, minPrice, plan.modelRank, st.maxVram[j] as number, st.maxGpu[j] as number, st.maxCtx[j] as number,
          st.maxTrust[j] as number, plan.regionRank, st.minLatency[j] as number, st.maxAvailable[j] as number, st.maxAvailability[j] as number);
        if (blockCount === CANDIDATE_BLOCKS.bound.length) growCandidateBlocks();
        CANDIDATE_BLOCKS.plan[blockCount] = pi;
        CANDIDATE_BLOCKS.block[blockCount] = j;
        CANDIDATE_BLOCKS.bound[blockCount] = combine(raw, q.w);
        blockCount++;
      }
    }
    const top = new TopK(q.limit);
    const newcomers = exploration.triggered ? new TopK(q.limit) : null;
    const prune = !q.exactCount;
    let qualified = 0;
    let pruned = false;
    const { plan: blockPlan, block: blockNo, bound: blockBound, done } = CANDIDATE_BLOCKS;
    done.fill(0, 0, blockCount);
    // threshold: the bound of the (2 * limit)-th best block (first pass scans blocks at or above it)
    let threshold = Infinity;
    const m = 2 * q.limit;
    if (prune && blockCount > m) {
      const best = new Float64Array(m).fill(-Infinity); // descending
      for (let k = 0; k < blockCount; k++) {
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
      for (let k = 0; k < blockCount; k++) {
        if (done[k]) continue;
        const bound = blockBound[k] as number;
        if (pass === 0 && bound < threshold) continue;
        const plan = plans[blockPlan[k] as number] as Plan;
        const b = plan.bucket;
        const j = blockNo[k] as number;
        const mayHaveNewcomers =
          newcomers !== null && (b.blocks.maxTrust[j] as number) >= q.newcomerMinTrust && newcomerBy(q, b.blocks.maxCreatedAt[j] as number, b.blocks.minTrades[j] as number);
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
      counts[CONSTRAINT_AT.category] = this.byId.size - inCategory;
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
  const { price, status, validFrom, validUntil, seller, vram, gpuCount, ctx } = b.columns;
  const { available, latency, trust, availability, createdAt, trades } = b.columns;
  const listings = b.listings;
  const { modelRank, regionRank } = plan;
  const raw = SCAN_FACTORS;
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
/** The raw factors of the listing scanRange is scoring (reused: scanRange is synchronous). */
const SCAN_FACTORS = new Float64Array(FACTORS.length);

/**
 * The blocks one query may scan: the plan (bucket) and block number of each, its score bound, and whether
 * it was scanned or skipped. Reused across queries (match is synchronous, so never shared by two).
 */
const CANDIDATE_BLOCKS = { plan: new Int32Array(1024), block: new Int32Array(1024), bound: new Float64Array(1024), done: new Uint8Array(1024) };
function growCandidateBlocks(): void {
  const n = CANDIDATE_BLOCKS.bound.length * 2;
  const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const b = make(n);
    b.set(a as never);
    return b;
  };
  CANDIDATE_BLOCKS.plan = grow(CANDIDATE_BLOCKS.plan, (k) => new Int32Array(k));
  CANDIDATE_BLOCKS.block = grow(CANDIDATE_BLOCKS.block, (k) => new Int32Array(k));
  CANDIDATE_BLOCKS.bound = grow(CANDIDATE_BLOCKS.bound, (k) => new Float64Array(k));
  CANDIDATE_BLOCKS.done = grow(CANDIDATE_BLOCKS.done, (k) => new Uint8Array(k));
}

/** Diagnostics pass: counts each non-qualifying listing of a bucket under its first failing constraint. */
function classifyBucket(b: Bucket, q: PreparedQuery, buyer: number, counts: Int32Array): void {
  const c = b.columns;
  const regionExcluded = q.excluded.has(b.region);
  const regionNotAllowed = q.regionPref.length > 0 && !q.regionPref.includes(b.region);
  const modelNameMismatch = q.hasModelName && b.modelName !== q.req.spec.modelName;
  const gpuNotAccepted = q.modelPref.length > 0 && (b.gpuModel === undefined || !q.modelPref.includes(b.gpuModel));
  for (let i = 0; i < b.n; i++) {
    let k: number;
    const p = c.price[i] as number;
    if (c.status[i] !== 0) k = CONSTRAINT_AT.status;
    else if (!(q.now >= (c.validFrom[i] as number) && q.now < (c.validUntil[i] as number))) k = CONSTRAINT_AT.validity;
    else if (c.seller[i] === buyer) k = CONSTRAINT_AT.own_listing;
    else if (modelNameMismatch) k = CONSTRAINT_AT.model_name;
    else if (gpuNotAccepted) k = CONSTRAINT_AT.gpu_model;
    else if (q.hasMinVram && !((c.vram[i] as number) >= q.minVram)) k = CONSTRAINT_AT.min_vram;
    else if (q.hasMinGpu && !((c.gpuCount[i] as number) >= q.minGpu)) k = CONSTRAINT_AT.min_gpu_count;
    else if (q.hasMinCtx && !((c.ctx[i] as number) >= q.minCtx)) k = CONSTRAINT_AT.min_context;
    else if (!((c.available[i] as number) >= q.quantity)) k = CONSTRAINT_AT.capacity;
    else if (p > q.budgetMaxF || (p === q.budgetMaxF && (b.listings[i] as Listing).pricePerUnit > q.budgetMax)) {
      k = CONSTRAINT_AT.budget;
    } else if (regionExcluded) k = CONSTRAINT_AT.region_excluded;
    else if (regionNotAllowed) k = CONSTRAINT_AT.region_not_allowed;
    else if (q.hasMaxLatency && !((c.latency[i] as number) <= q.maxLatency)) k = CONSTRAINT_AT.latency;
    else if (q.hasMinTrust && !((c.trust[i] as number) >= q.minTrust)) k = CONSTRAINT_AT.min_trust;
    else continue;
    counts[k] = (counts[k] as number) + 1;
  }
}
