/** The bounded heaps of the listing index's query (listing-index.ts): the best `k` in ranking order. */
import type { Scored } from './matching-result.js';
import type { Listing } from './trading.types.js';

/** True when (s1, p1, l1) ranks after (s2, p2, l2): score desc, then price asc, then id asc. */
function ranksAfter(s1: number, p1: number, l1: Listing, s2: number, p2: number, l2: Listing): boolean {
  if (s1 !== s2) return s1 < s2;
  if (p1 !== p2) return p1 > p2;
  if (l1.pricePerUnit !== l2.pricePerUnit) return l1.pricePerUnit > l2.pricePerUnit;
  return l1.id > l2.id;
}

/** Bounded min-heap keeping the best `k` in ranking order; the root is the worst entry kept. */
export class TopK {
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
