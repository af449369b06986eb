/**
 * In-memory matching index. The DB-backed service keeps one of these, calling `upsert`/`remove` whenever a
 * listing changes, and answers `GET /v1/trade-requests/{id}/matches` with `index.match(request, opts)`.
 *
 * Layout: one bucket per (category, region). A bucket stores its listings column-wise in typed arrays
 * (price, status, validity, interned seller / GPU model / model name ids, VRAM, GPU count, context,
 * available capacity, latency, trust, availability, newcomer fields) so a query is a tight loop over
 * numbers. A query scans only buckets of the request's category whose region is allowed and not excluded,
 * and keeps the best `limit` in a bounded min-heap (root = worst kept; a listing enters only if it beats
 * the root). Removal is swap-with-last, O(1). Only when diagnostics are wanted (fewer than `limit` qualify)
 * does a second pass classify every listing of the category by its first failing constraint.
 *
 * Results are identical to `matchListings` over the same listings (same scoring code, same total order).
 */
import {
  CONSTRAINTS,
  FACTORS,
  buildDiagnostics,
  combine,
  finishResult,
  prepareQuery,
  rawFactors,
} from './matching-core.js';
import type { ConstraintKey, MatchOptions, MatchResult, PreparedQuery, Scored } from './matching-core.js';
import type { Category, Listing, TradeRequest } from './trading.types.js';

const STATUS_CODE = { active: 0, paused: 1, withdrawn: 2 } as const;
const C = Object.fromEntries(CONSTRAINTS.map((c, i) => [c, i])) as Record<ConstraintKey, number>;

interface Loc {
  bucket: Bucket;
  slot: number;
}

class Bucket {
  n = 0;
  price: Float64Array;
  status: Uint8Array;
  validFrom: Float64Array;
  validUntil: Float64Array;
  seller: Int32Array;
  gpu: Int32Array;
  model: Int32Array;
  vram: Float64Array;
  gpuCount: Float64Array;
  ctx: Float64Array;
  available: Float64Array;
  latency: Float64Array;
  trust: Float64Array;
  availability: Float64Array;
  createdAt: Float64Array;
  trades: Float64Array;
  listings: Listing[] = [];
  locs: Loc[] = [];

  constructor(
    readonly category: Category,
    readonly region: string,
    cap = 16,
  ) {
    this.price = new Float64Array(cap);
    this.status = new Uint8Array(cap);
    this.validFrom = new Float64Array(cap);
    this.validUntil = new Float64Array(cap);
    this.seller = new Int32Array(cap);
    this.gpu = new Int32Array(cap);
    this.model = new Int32Array(cap);
    this.vram = new Float64Array(cap);
    this.gpuCount = new Float64Array(cap);
    this.ctx = new Float64Array(cap);
    this.available = new Float64Array(cap);
    this.latency = new Float64Array(cap);
    this.trust = new Float64Array(cap);
    this.availability = new Float64Array(cap);
    this.createdAt = new Float64Array(cap);
    this.trades = new Float64Array(cap);
  }

  private grow(): void {
    const cap = this.price.length * 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const f64 = (n: number) => new Float64Array(n);
    const i32 = (n: number) => new Int32Array(n);
    this.price = g(this.price, f64);
    this.status = g(this.status, (n) => new Uint8Array(n));
    this.validFrom = g(this.validFrom, f64);
    this.validUntil = g(this.validUntil, f64);
    this.seller = g(this.seller, i32);
    this.gpu = g(this.gpu, i32);
    this.model = g(this.model, i32);
    this.vram = g(this.vram, f64);
    this.gpuCount = g(this.gpuCount, f64);
    this.ctx = g(this.ctx, f64);
    this.available = g(this.available, f64);
    this.latency = g(this.latency, f64);
    this.trust = g(this.trust, f64);
    this.availability = g(this.availability, f64);
    this.createdAt = g(this.createdAt, f64);
    this.trades = g(this.trades, f64);
  }

  append(loc: Loc): number {
    if (this.n === this.price.length) this.grow();
    const i = this.n++;
    this.locs[i] = loc;
    return i;
  }

  write(i: number, l: Listing, seller: number, gpu: number, model: number): void {
    this.listings[i] = l;
    this.price[i] = Number(l.pricePerUnit);
    this.status[i] = STATUS_CODE[l.status];
    this.validFrom[i] = l.validFrom;
    this.validUntil[i] = l.validUntil;
    this.seller[i] = seller;
    this.gpu[i] = gpu;
    this.model[i] = model;
    this.vram[i] = l.spec.vramGb ?? NaN;
    this.gpuCount[i] = l.spec.gpuCount ?? NaN;
    this.ctx[i] = l.spec.contextSize ?? NaN;
    this.available[i] = l.capacityTotal - l.capacityReserved;
    this.latency[i] = l.sla.maxLatencyMs;
    this.trust[i] = l.sellerTrust;
    this.availability[i] = l.sla.availability;
    this.createdAt[i] = l.sellerCreatedAt;
    this.trades[i] = l.sellerCompletedTrades ?? NaN;
  }

  /** Swap-remove slot i; fixes the moved listing's Loc. */
  removeAt(i: number): void {
    const last = --this.n;
    if (i !== last) {
      this.price[i] = this.price[last] as number;
      this.status[i] = this.status[last] as number;
      this.validFrom[i] = this.validFrom[last] as number;
      this.validUntil[i] = this.validUntil[last] as number;
      this.seller[i] = this.seller[last] as number;
      this.gpu[i] = this.gpu[last] as number;
      this.model[i] = this.model[last] as number;
      this.vram[i] = this.vram[last] as number;
      this.gpuCount[i] = this.gpuCount[last] as number;
      this.ctx[i] = this.ctx[last] as number;
      this.available[i] = this.available[last] as number;
      this.latency[i] = this.latency[last] as number;
      this.trust[i] = this.trust[last] as number;
      this.availability[i] = this.availability[last] as number;
      this.createdAt[i] = this.createdAt[last] as number;
      this.trades[i] = this.trades[last] as number;
      this.listings[i] = this.listings[last] as Listing;
      const moved = this.locs[last] as Loc;
      moved.slot = i;
      this.locs[i] = moved;
    }
    this.listings.length = last;
    this.locs.length = last;
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

function intern(map: Map<string, number>, key: string | undefined): number {
  if (key === undefined) return -1;
  let id = map.get(key);
  if (id === undefined) {
    id = map.size;
    map.set(key, id);
  }
  return id;
}

export class ListingIndex {
  private readonly byId = new Map<string, Loc>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly byCategory = new Map<Category, Bucket[]>();
  private readonly sellers = new Map<string, number>();
  private readonly gpuModels = new Map<string, number>();
  private readonly modelNames = new Map<string, number>();

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

  /** Adds or replaces a listing (the index keeps a reference; pass a fresh object on every change). */
  upsert(listing: Listing): void {
    const bucket = this.bucketFor(listing.category, listing.region);
    const seller = intern(this.sellers, listing.sellerId);
    const gpu = intern(this.gpuModels, listing.spec.gpuModel);
    const model = intern(this.modelNames, listing.spec.modelName);
    let loc = this.byId.get(listing.id);
    if (loc && loc.bucket !== bucket) {
      loc.bucket.removeAt(loc.slot);
      loc.bucket = bucket;
      loc.slot = bucket.append(loc);
    } else if (!loc) {
      loc = { bucket, slot: -1 };
      loc.slot = bucket.append(loc);
      this.byId.set(listing.id, loc);
    }
    bucket.write(loc.slot, listing, seller, gpu, model);
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

  private bucketFor(category: Category, region: string): Bucket {
    const key = `${category}\u0000${region}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new Bucket(category, region);
      this.buckets.set(key, b);
      let list = this.byCategory.get(category);
      if (!list) {
        list = [];
        this.byCategory.set(category, list);
      }
      list.push(b);
    }
    return b;
  }

  /** Top-`limit` matches; same result as `matchListings(request, [...index.listings()], opts)`. */
  match(request: TradeRequest, opts: MatchOptions): MatchResult {
    const q = prepareQuery(request, opts);
    const buckets = this.byCategory.get(request.category) ?? [];
    const buyer = this.sellers.get(request.buyerId) ?? -1;
    const modelId = q.hasModelName ? (this.modelNames.get(request.spec.modelName as string) ?? -2) : -1;
    let modelRank: Int32Array | null = null;
    if (q.modelPref.length > 0) {
      modelRank = new Int32Array(this.gpuModels.size).fill(-1);
      q.modelPref.forEach((name, j) => {
        const id = this.gpuModels.get(name);
        if (id !== undefined && modelRank && modelRank[id] === -1) modelRank[id] = j;
      });
    }
    const top = new TopK(q.limit);
    const newcomers = q.explorationShare > 0 ? new TopK(q.limit) : null;
    let qualified = 0;
    for (const b of buckets) {
      if (b.n === 0 || q.excluded.has(b.region)) continue;
      const regionRank = q.regionPref.indexOf(b.region);
      if (q.regionPref.length > 0 && regionRank < 0) continue;
      qualified += scanBucket(b, q, buyer, modelId, modelRank, regionRank, top, newcomers);
    }
    const wantDiagnostics = q.diagnostics === 'always' || (q.diagnostics === 'auto' && qualified < q.limit);
    let diagnostics = null;
    if (wantDiagnostics) {
      const counts = new Int32Array(CONSTRAINTS.length);
      let inCategory = 0;
      for (const b of buckets) {
        inCategory += b.n;
        classifyBucket(b, q, buyer, modelId, modelRank, counts);
      }
      counts[C.category] = this.byId.size - inCategory;
      const byConstraint = Object.fromEntries(CONSTRAINTS.map((c, i) => [c, counts[i] as number])) as Record<
        ConstraintKey,
        number
      >;
      diagnostics = buildDiagnostics(request.category, this.byId.size, qualified, byConstraint);
    }
    return finishResult(q, top.sorted(), newcomers ? newcomers.sorted() : [], qualified, diagnostics);
  }
}

/** Hot loop: offers every qualifying listing of a bucket (region already known to pass) to the heaps. */
function scanBucket(
  b: Bucket,
  q: PreparedQuery,
  buyer: number,
  modelId: number,
  modelRank: Int32Array | null,
  regionRank: number,
  top: TopK,
  newcomers: TopK | null,
): number {
  const { now, quantity, budgetMaxF, budgetMax, minVram, minGpu, minCtx, maxLatency, minTrust } = q;
  const { hasModelName, hasMinVram, hasMinGpu, hasMinCtx, hasMaxLatency, hasMinTrust } = q;
  const { price, status, validFrom, validUntil, seller, gpu, model, vram, gpuCount, ctx } = b;
  const { available, latency, trust, availability, createdAt, trades, listings } = b;
  const raw = new Float64Array(FACTORS.length);
  const w = q.w;
  let qualified = 0;
  for (let i = 0, n = b.n; i < n; i++) {
    if (status[i] !== 0) continue;
    const t = now;
    if (!(t >= (validFrom[i] as number) && t < (validUntil[i] as number))) continue;
    if (seller[i] === buyer) continue;
    if (hasModelName && model[i] !== modelId) continue;
    let rank = -1;
    if (modelRank !== null) {
      const g = gpu[i] as number;
      rank = g < 0 ? -1 : (modelRank[g] ?? -1);
      if (rank < 0) continue;
    }
    if (hasMinVram && !((vram[i] as number) >= minVram)) continue;
    if (hasMinGpu && !((gpuCount[i] as number) >= minGpu)) continue;
    if (hasMinCtx && !((ctx[i] as number) >= minCtx)) continue;
    if (!((available[i] as number) >= quantity)) continue;
    const p = price[i] as number;
    if (p > budgetMaxF || (p === budgetMaxF && (listings[i] as Listing).pricePerUnit > budgetMax)) continue;
    if (hasMaxLatency && !((latency[i] as number) <= maxLatency)) continue;
    if (hasMinTrust && !((trust[i] as number) >= minTrust)) continue;
    qualified++;
    rawFactors(
      raw,
      q,
      p,
      rank,
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
      ((createdAt[i] as number) >= q.newcomerMinCreatedAt || (trades[i] as number) < q.newcomerMaxTrades) &&
      s >= newcomers.floor()
    ) {
      newcomers.offer(s, p, listings[i] as Listing);
    }
  }
  return qualified;
}

/** Diagnostics pass: counts each non-qualifying listing of a bucket under its first failing constraint. */
function classifyBucket(
  b: Bucket,
  q: PreparedQuery,
  buyer: number,
  modelId: number,
  modelRank: Int32Array | null,
  counts: Int32Array,
): void {
  const regionExcluded = q.excluded.has(b.region);
  const regionNotAllowed = q.regionPref.length > 0 && !q.regionPref.includes(b.region);
  for (let i = 0; i < b.n; i++) {
    let c: number;
    const p = b.price[i] as number;
    const g = b.gpu[i] as number;
    if (b.status[i] !== 0) c = C.status;
    else if (!(q.now >= (b.validFrom[i] as number) && q.now < (b.validUntil[i] as number))) c = C.validity;
    else if (b.seller[i] === buyer) c = C.own_listing;
    else if (q.hasModelName && b.model[i] !== modelId) c = C.model_name;
    else if (modelRank !== null && (g < 0 || (modelRank[g] ?? -1) < 0)) c = C.gpu_model;
    else if (q.hasMinVram && !((b.vram[i] as number) >= q.minVram)) c = C.min_vram;
    else if (q.hasMinGpu && !((b.gpuCount[i] as number) >= q.minGpu)) c = C.min_gpu_count;
    else if (q.hasMinCtx && !((b.ctx[i] as number) >= q.minCtx)) c = C.min_context;
    else if (!((b.available[i] as number) >= q.quantity)) c = C.capacity;
    else if (p > q.budgetMaxF || (p === q.budgetMaxF && (b.listings[i] as Listing).pricePerUnit > q.budgetMax)) {
      c = C.budget;
    } else if (regionExcluded) c = C.region_excluded;
    else if (regionNotAllowed) c = C.region_not_allowed;
    else if (q.hasMaxLatency && !((b.latency[i] as number) <= q.maxLatency)) c = C.latency;
    else if (q.hasMinTrust && !((b.trust[i] as number) >= q.minTrust)) c = C.min_trust;
    else continue;
    counts[c] = (counts[c] as number) + 1;
  }
}
