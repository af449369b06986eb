/**
 * EigenTrust-style global trust over the evidence graph (pure, typed arrays, CSR).
 *
 * Edges are (from, to, value in [-1, 1]) observations: "from" experienced "to". Repeated
 * observations of the same pair are summed: s_ij = sum of values. Local trust is
 * c_ij = g(max(0, s_ij)) / sum_j g(max(0, s_ij)) with a diminishing g (sqrt by default; the engine
 * passes a saturating one, so repeated dealings with one counterparty count less and less and never
 * more than a bound). Global trust is the stationary vector of
 *   t = (1 - alpha) * C^T t + alpha * p
 * where p is the seed (teleport) vector: uniform over the pre-trusted agents by default, or one the
 * caller gives (the engine's: probes, verifiers and externally funded agents); rows with no positive
 * local trust (dangling) hand their mass to p. Agents unreachable from p get exactly 0.
 */

export interface LocalTrust {
  readonly n: number;
  readonly rowStart: Int32Array; // length n + 1
  readonly col: Int32Array;
  readonly weight: Float64Array; // row-normalised c_ij
  readonly dangling: Uint8Array; // 1 when the row has no positive local trust
}

/**
 * Build the row-normalised local-trust matrix from an edge list. `keep[e] === 0` drops edge e.
 * O(n + m) with counting sort and a marker array; every row sorted by column.
 */
export function buildLocalTrust(
  n: number,
  m: number,
  from: Int32Array,
  to: Int32Array,
  value: Float64Array,
  keep?: (e: number) => boolean,
  diminish: (s: number) => number = Math.sqrt,
): LocalTrust {
  const count = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    const f = from[e]!;
    if (f === to[e]! || (keep !== undefined && !keep(e))) continue;
    count[f + 1]!++;
  }
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!;
  const total = count[n]!;
  const rawCol = new Int32Array(total);
  const rawVal = new Float64Array(total);
  const fill = count.slice(0, n);
  for (let e = 0; e < m; e++) {
    const f = from[e]!;
    if (f === to[e]! || (keep !== undefined && !keep(e))) continue;
    const k = fill[f]!++;
    rawCol[k] = to[e]!;
    rawVal[k] = value[e]!;
  }
  // aggregate duplicates per row
  const mark = new Int32Array(n).fill(-1);
  const pos = new Int32Array(n);
  const aggCol = new Int32Array(total);
  const aggVal = new Float64Array(total);
  const rowStart = new Int32Array(n + 1);
  let out = 0;
  for (let i = 0; i < n; i++) {
    rowStart[i] = out;
    const start = out;
    for (let k = count[i]!, end = count[i + 1]!; k < end; k++) {
      const j = rawCol[k]!;
      if (mark[j] !== i) {
        mark[j] = i;
        pos[j] = out;
        aggCol[out] = j;
        aggVal[out] = rawVal[k]!;
        out++;
      } else {
        aggVal[pos[j]!]! += rawVal[k]!;
      }
    }
    // diminished positive part, drop non-positive, normalise
    let w = start;
    let sum = 0;
    for (let k = start; k < out; k++) {
      const s = aggVal[k]!;
      if (s > 0) {
        const v = diminish(s);
        aggCol[w] = aggCol[k]!;
        aggVal[w] = v;
        sum += v;
        w++;
      }
    }
    for (let k = start; k < w; k++) aggVal[k] = aggVal[k]! / sum;
    out = w;
  }
  rowStart[n] = out;
  // sort every row by column (two counting-sort transposes, O(n + m)) so lookups can binary-search
  const colStart = new Int32Array(n + 1);
  for (let k = 0; k < out; k++) colStart[aggCol[k]! + 1]!++;
  for (let j = 0; j < n; j++) colStart[j + 1]! += colStart[j]!;
  const tRow = new Int32Array(out);
  const tVal = new Float64Array(out);
  const cfill = colStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let k = rowStart[i]!, end = rowStart[i + 1]!; k < end; k++) {
      const q = cfill[aggCol[k]!]!++;
      tRow[q] = i;
      tVal[q] = aggVal[k]!;
    }
  }
  const col = new Int32Array(out);
  const weight = new Float64Array(out);
  const rfill = rowStart.slice(0, n);
  for (let j = 0; j < n; j++) {
    for (let q = colStart[j]!, end = colStart[j + 1]!; q < end; q++) {
      const k = rfill[tRow[q]!]!++;
      col[k] = j;
      weight[k] = tVal[q]!;
    }
  }
  const dangling = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (rowStart[i + 1] === rowStart[i]) dangling[i] = 1;
  return { n, rowStart, col, weight, dangling };
}

/** c_ij (0 when absent). Rows are sorted by column: binary search, O(log out-degree of i). */
export function localTrustOf(lt: LocalTrust, i: number, j: number): number {
  if (i < 0 || i >= lt.n) return 0;
  let lo = lt.rowStart[i]!;
  let hi = lt.rowStart[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = lt.col[mid]!;
    if (c === j) return lt.weight[mid]!;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

export interface EigenTrustOptions {
  /** indices of pre-trusted agents; when empty, the teleport vector is uniform */
  readonly preTrusted: ArrayLike<number>;
  readonly alpha: number;
  readonly tolerance: number;
  readonly maxIterations: number;
  /** warm start (e.g. the previous epoch's vector); entries past its length start at 0 */
  readonly initial?: Float64Array;
  /** the seed vector p (sums to 1, or all 0: nobody is trusted); overrides `preTrusted` */
  readonly teleport?: Float64Array;
}

export interface EigenTrustResult {
  readonly trust: Float64Array; // sums to 1
  readonly iterations: number;
  readonly residual: number; // L1 change of the last iteration
}

export function teleportVector(n: number, preTrusted: ArrayLike<number>): Float64Array {
  const p = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < preTrusted.length; i++) {
    const idx = preTrusted[i]!;
    if (idx >= 0 && idx < n && p[idx] === 0) {
      p[idx] = 1;
      k++;
    }
  }
  if (k === 0) {
    if (n > 0) p.fill(1 / n);
  } else {
    for (let i = 0; i < n; i++) if (p[i] !== 0) p[i] = 1 / k;
  }
  return p;
}

export function eigenTrust(lt: LocalTrust, opts: EigenTrustOptions): EigenTrustResult {
  const { n, rowStart, col, weight, dangling } = lt;
  const p = opts.teleport ?? teleportVector(n, opts.preTrusted);
  let t = new Float64Array(n);
  let ps = 0;
  for (let i = 0; i < n; i++) ps += p[i]!;
  if (!(ps > 0)) return { trust: t, iterations: 0, residual: 0 }; // no seed: nobody is trusted
  if (opts.initial !== undefined && opts.initial.length > 0) {
    let s = 0;
    for (let i = 0; i < n && i < opts.initial.length; i++) s += (t[i] = opts.initial[i]!);
    if (s > 0) for (let i = 0; i < n; i++) t[i] = t[i]! / s;
    else t.set(p);
  } else {
    t.set(p);
  }
  let next = new Float64Array(n);
  const a = opts.alpha;
  let iterations = 0;
  let residual = Infinity;
  while (iterations < opts.maxIterations && n > 0) {
    next.fill(0);
    let danglingMass = 0;
    for (let i = 0; i < n; i++) {
      const ti = t[i]!;
      if (ti === 0) continue;
      if (dangling[i] === 1) {
        danglingMass += ti;
        continue;
      }
      for (let k = rowStart[i]!, end = rowStart[i + 1]!; k < end; k++) next[col[k]!]! += ti * weight[k]!;
    }
    const teleport = (1 - a) * danglingMass + a;
    residual = 0;
    for (let i = 0; i < n; i++) {
      const v = (1 - a) * next[i]! + teleport * p[i]!;
      residual += Math.abs(v - t[i]!);
      next[i] = v;
    }
    const tmp = t;
    t = next;
    next = tmp;
    iterations++;
    if (residual < opts.tolerance) break;
  }
  return { trust: t, iterations, residual };
}

/**
 * Reference trust tau = fraction * the trust-mass-weighted median of the non-pre-trusted agents' trust:
 * the level t* such that agents with trust >= t* hold half of their total trust. Weighting by mass
 * means a crowd of Sybils with tiny trust cannot drag the reference down (a plain median would be set by
 * whoever has the most identities). A producer with trust >= tau has full weight; below it, weight is
 * linear in trust, so splitting one identity's trust over many Sybils never adds weight.
 */
export function referenceTrust(trust: Float64Array, preTrustedMask: Uint8Array, fraction: number): number {
  let k = 0;
  let total = 0;
  const tmp = new Float64Array(trust.length);
  for (let i = 0; i < trust.length; i++) {
    if (trust[i]! > 0 && preTrustedMask[i] !== 1) {
      tmp[k++] = trust[i]!;
      total += trust[i]!;
    }
  }
  if (k === 0) return Infinity;
  const sorted = tmp.subarray(0, k).sort();
  let acc = 0;
  for (let i = k - 1; i >= 0; i--) {
    acc += sorted[i]!;
    if (acc >= total / 2) return fraction * sorted[i]!;
  }
  return fraction * sorted[0]!;
}

/**
 * Weight in [0, 1] of evidence produced by `producer` about `subject`: the producer's trust
 * minus the share it received directly from the subject (an agent cannot vouch for itself
 * through the identities it trusts), divided by the reference trust, capped at 1.
 */
export function producerWeight(
  lt: LocalTrust | undefined,
  trust: Float64Array,
  tau: number,
  alpha: number,
  preTrustedMask: Uint8Array,
  producer: number,
  subject: number,
): number {
  if (preTrustedMask[producer] === 1) return 1;
  if (producer >= trust.length || lt === undefined) return 0;
  let tp = trust[producer]!;
  if (tp <= 0) return 0;
  if (subject < trust.length) tp -= (1 - alpha) * trust[subject]! * localTrustOf(lt, subject, producer);
  if (!(tp > 0)) return 0;
  const w = tp / tau;
  return w >= 1 ? 1 : w;
}
