/**
 * Which sellers the verifier challenges next (pure: candidates, options and a uniform RNG in, an ordered
 * list out).
 *
 * 1. Eligible: a listing the verifier can afford (price per unit <= maxPrice), no challenge of the
 *    seller in flight, and the seller's last challenge at least `cooldownMs` ago (`thinCooldownMs` for a
 *    thin record: fewer than `thinObservations` observations, so thin records are topped up more often).
 * 2. Newcomers first: sellers never challenged, fewest observations first, then newest listing first.
 * 3. With a thin cooldown set (top-up mode): then thin records, the most uncertain first (fewest
 *    observations, then the longest since challenged).
 * 4. Then a weighted sample of everyone else (without replacement), weight
 *      1 + 2 * thinness + 2 * change + staleness
 *    thinness = max(0, 1 - observations / thinObservations) (a thin record needs more evidence),
 *    change   = min(1, |score now - score at the last challenge| / 100) (a record that moved recently),
 *    staleness = min(1, time since the last challenge / 7 days).
 */

export interface Candidate {
  sellerId: string;
  listingId: string;
  category: string;
  /** base units per unit */
  pricePerUnit: bigint;
  /** ms; when the listing was created */
  listedAt: number;
  observations: number;
  score: number;
  /** the seller's last challenge, if any */
  last: { at: number; score: number | null } | null;
  inFlight: boolean;
}

export interface SelectionOptions {
  count: number;
  now: number;
  maxPrice: bigint;
  cooldownMs: number;
  /** the cooldown of a thin record (default: cooldownMs) */
  thinCooldownMs?: number | undefined;
  thinObservations: number;
}

export interface Selected extends Candidate {
  reason: 'newcomer' | 'thin' | 'sample';
  weight: number;
}

const WEEK_MS = 7 * 86_400_000;

export function challengeWeight(c: Candidate, o: Pick<SelectionOptions, 'now' | 'thinObservations'>): number {
  const thin = o.thinObservations > 0 ? Math.max(0, 1 - c.observations / o.thinObservations) : 0;
  const change = c.last?.score != null ? Math.min(1, Math.abs(c.score - c.last.score) / 100) : 0;
  const stale = c.last ? Math.min(1, Math.max(0, o.now - c.last.at) / WEEK_MS) : 1;
  return 1 + 2 * thin + 2 * change + stale;
}

export function selectTargets(candidates: readonly Candidate[], o: SelectionOptions, rng: () => number): Selected[] {
  if (o.count <= 0) return [];
  // one listing per seller: the cheapest affordable one
  const bySeller = new Map<string, Candidate>();
  for (const c of candidates) {
    if (c.inFlight || c.pricePerUnit > o.maxPrice || c.pricePerUnit <= 0n) continue;
    const thin = c.observations < o.thinObservations;
    if (c.last && o.now - c.last.at < (thin ? o.thinCooldownMs ?? o.cooldownMs : o.cooldownMs)) continue;
    const cur = bySeller.get(c.sellerId);
    if (!cur || c.pricePerUnit < cur.pricePerUnit || (c.pricePerUnit === cur.pricePerUnit && c.listingId < cur.listingId)) bySeller.set(c.sellerId, c);
  }
  const eligible = [...bySeller.values()].sort((a, b) => (a.sellerId < b.sellerId ? -1 : 1));
  const newcomers = eligible.filter((c) => c.last === null)
    .sort((a, b) => a.observations - b.observations || b.listedAt - a.listedAt || (a.sellerId < b.sellerId ? -1 : 1));
  const out: Selected[] = newcomers.slice(0, o.count).map((c) => ({ ...c, reason: 'newcomer', weight: challengeWeight(c, o) }));
  // top-up mode (a thin cooldown is set): thin records first, then the sample of the others
  const topUp = o.thinCooldownMs !== undefined;
  const isThin = (c: Candidate) => topUp && c.observations < o.thinObservations;
  const thin = eligible.filter((c) => c.last !== null && isThin(c))
    .sort((a, b) => a.observations - b.observations || a.last!.at - b.last!.at || (a.sellerId < b.sellerId ? -1 : 1));
  for (const c of thin) if (out.length < o.count) out.push({ ...c, reason: 'thin', weight: challengeWeight(c, o) });
  const pool = eligible.filter((c) => c.last !== null && !isThin(c)).map((c) => ({ c, w: challengeWeight(c, o) }));
  while (out.length < o.count && pool.length > 0) {
    const total = pool.reduce((s, p) => s + p.w, 0);
    let x = rng() * total;
    let k = 0;
    while (k < pool.length - 1 && x >= pool[k]!.w) { x -= pool[k]!.w; k++; }
    const [p] = pool.splice(k, 1);
    out.push({ ...p!.c, reason: 'sample', weight: p!.w });
  }
  return out;
}
