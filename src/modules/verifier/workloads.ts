/**
 * Challenge workloads: small seeded jobs whose result digest can be checked by whoever knows the job,
 * and cannot be produced without doing the job. Pure (no clock, no randomness, no I/O): the verifier,
 * a seller's agent and the simulator all call the same functions.
 *
 * A job is `{ workload, seed, size }` (any buyer may attach one to a trade request); the seller returns
 * `resultDigest` (64 lower-case hex characters, SHA-256) with its delivery.
 *
 * - `hash-chain` (GPU compute, training): h0 = SHA-256("ae/hash-chain/v1:" + seed), h(i) = SHA-256(h(i-1))
 *   over the raw 32 bytes, digest = hex(h(size)). An iterated hash has no known shortcut: producing
 *   h(size) takes `size` sequential SHA-256 evaluations (a deterministic benchmark of `size` rounds).
 * - `reference-prompts` (inference, model services): `size` prompts generated from the seed
 *   (`promptsOf`) from templates with one canonical answer each (arithmetic, word reversal, letter
 *   counts, sorting, and capitals from a reference table the verifier holds). The seller answers each
 *   prompt; digest = SHA-256 of the lines "i<TAB>normalised answer<LF>" (`answersDigest`). A fresh seed
 *   gives fresh prompts, so no cache of earlier answers helps; one wrong answer changes the digest.
 * - `record-set` (data services): the known record set of the seed (`recordsOf`): `size` records
 *   (key = first 8 bytes of SHA-256("ae/records/v1:" + seed + ":" + i) in hex, value = the next 4 bytes as
 *   an unsigned integer), sorted by key; digest = SHA-256 of the lines "key,value<LF>". Every record is
 *   needed: the digest cannot be formed from part of the set.
 */
import { createHash } from 'node:crypto';
import { MAX_JOB_SIZE, SEED_PATTERN, type JobSpec, type Workload } from '../job-spec.js';

// The job and digest contract is shared with trading's schemas (src/modules/job-spec.ts).
export { WORKLOADS, MAX_JOB_SIZE, SEED_PATTERN, DIGEST_PATTERN, type JobSpec, type Workload } from '../job-spec.js';

/** The workload that fits a service category (what a buyer of that category would ask for). */
export function workloadFor(category: string): Workload {
  switch (category) {
    case 'inference':
    case 'model_services':
      return 'reference-prompts';
    case 'data_services':
      return 'record-set';
    default:
      return 'hash-chain';
  }
}

const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

function hashChain(seed: string, rounds: number): string {
  let h = sha256(`ae/hash-chain/v1:${seed}`);
  for (let i = 0; i < rounds; i++) h = sha256(h);
  return h.toString('hex');
}

// ------------------------------------------------------------------------------- reference prompts

export interface Prompt {
  text: string;
  /** the canonical answer (already normalised) */
  answer: string;
}

/** The verifier's reference facts (country -> capital). */
const CAPITALS: ReadonlyArray<readonly [string, string]> = [
  ['France', 'Paris'], ['Germany', 'Berlin'], ['Japan', 'Tokyo'], ['Canada', 'Ottawa'], ['Australia', 'Canberra'],
  ['Brazil', 'Brasilia'], ['Kenya', 'Nairobi'], ['Norway', 'Oslo'], ['Egypt', 'Cairo'], ['Peru', 'Lima'],
  ['Italy', 'Rome'], ['Spain', 'Madrid'], ['Poland', 'Warsaw'], ['Chile', 'Santiago'], ['Ireland', 'Dublin'],
  ['Portugal', 'Lisbon'], ['Austria', 'Vienna'], ['Sweden', 'Stockholm'], ['Finland', 'Helsinki'], ['Greece', 'Athens'],
  ['Turkey', 'Ankara'], ['India', 'New Delhi'], ['China', 'Beijing'], ['Mexico', 'Mexico City'], ['Argentina', 'Buenos Aires'],
];
const WORDS = [
  'anchor', 'bridge', 'cobalt', 'delta', 'ember', 'falcon', 'garnet', 'harbor', 'indigo', 'jasper', 'kernel', 'lantern',
  'meadow', 'nebula', 'orchid', 'pepper', 'quartz', 'ribbon', 'saddle', 'timber', 'umbra', 'velvet', 'walnut', 'yonder', 'zephyr',
];

/** Lower case, trimmed, inner whitespace collapsed: how answers are compared. */
export function normaliseAnswer(a: string): string {
  return a.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** The `size` prompts of a reference-prompts job, with their canonical answers. */
export function promptsOf(seed: string, size: number): Prompt[] {
  const out: Prompt[] = [];
  for (let i = 0; i < size; i++) {
    const r = sha256(`ae/prompts/v1:${seed}:${i}`);
    const n = (k: number, mod: number) => r.readUInt16BE(k) % mod;
    const word = (k: number) => WORDS[n(k, WORDS.length)]!;
    switch (r[0]! % 6) {
      case 0: {
        const a = 10 + n(2, 990);
        const b = 10 + n(4, 990);
        out.push({ text: `What is ${a} multiplied by ${b}? Answer with the number only.`, answer: String(a * b) });
        break;
      }
      case 1: {
        const a = n(2, 10_000);
        const b = n(4, 10_000);
        const c = n(6, 10_000);
        out.push({ text: `What is ${a} plus ${b} minus ${c}? Answer with the number only.`, answer: String(a + b - c) });
        break;
      }
      case 2: {
        const w = word(2);
        out.push({ text: `Write the word "${w}" backwards, in lower case.`, answer: [...w].reverse().join('') });
        break;
      }
      case 3: {
        const w = `${word(2)}${word(4)}`;
        const letter = w[n(6, w.length)]!;
        out.push({ text: `How many times does the letter "${letter}" occur in "${w}"? Answer with the number only.`, answer: String([...w].filter((c) => c === letter).length) });
        break;
      }
      case 4: {
        const ws = [word(2), word(4), word(6), word(8)];
        out.push({ text: `Sort these words alphabetically, separated by single spaces: ${ws.join(' ')}`, answer: [...ws].sort().join(' ') });
        break;
      }
      default: {
        const [country, capital] = CAPITALS[n(2, CAPITALS.length)]!;
        out.push({ text: `What is the capital of ${country}? Answer with the city name only.`, answer: normaliseAnswer(capital) });
      }
    }
  }
  return out;
}

/** The digest of a list of answers (prompt i's answer on line i), normalised. */
export function answersDigest(answers: readonly string[]): string {
  const h = createHash('sha256');
  answers.forEach((a, i) => h.update(`${i}\t${normaliseAnswer(a)}\n`));
  return h.digest('hex');
}

// ------------------------------------------------------------------------------------- record set

export interface DataRecord {
  key: string;
  value: number;
}

/** The known record set of a seed, sorted by key. */
export function recordsOf(seed: string, size: number): DataRecord[] {
  const out: DataRecord[] = [];
  for (let i = 0; i < size; i++) {
    const h = sha256(`ae/records/v1:${seed}:${i}`);
    out.push({ key: h.subarray(0, 8).toString('hex'), value: h.readUInt32BE(8) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.value - b.value));
}

/** The digest of a record set (in the given order: sort it first). */
export function recordsDigest(records: readonly DataRecord[]): string {
  const h = createHash('sha256');
  for (const r of records) h.update(`${r.key},${r.value}\n`);
  return h.digest('hex');
}

// ------------------------------------------------------------------------------------------ jobs

/** The correct result digest of a job (what an honest seller returns). */
export function jobDigest(job: JobSpec): string {
  if (!Number.isInteger(job.size) || job.size < 1 || job.size > MAX_JOB_SIZE) throw new RangeError(`job size must be 1..${MAX_JOB_SIZE}`);
  if (!new RegExp(SEED_PATTERN).test(job.seed)) throw new RangeError('job seed must be 16 to 128 lower-case hex characters');
  switch (job.workload) {
    case 'hash-chain':
      return hashChain(job.seed, job.size);
    case 'reference-prompts':
      return answersDigest(promptsOf(job.seed, job.size).map((p) => p.answer));
    case 'record-set':
      return recordsDigest(recordsOf(job.seed, job.size));
  }
}

/**
 * A challenge's response time on the latency curve's scale (the engine's curve is per request: 0.9 at 50 ms).
 * The verifier sees the job's turnaround (the platform's time from funding to the delivery), which holds the
 * workload's own work: `computeMs`, what computing the digest took the verifier itself just now (a reference
 * machine under the same load), is taken off; a reference-prompts job is `size` requests (one inference per
 * prompt), so its time is per prompt. Hash-chain and record-set jobs are one request each. What remains is
 * the seller's responsiveness plus its slowness against the reference (docs/decisions.md, "Verifier timing").
 */
export function challengeResponseMs(job: JobSpec, turnaroundMs: number, computeMs: number): number {
  const requests = job.workload === 'reference-prompts' ? Math.max(1, job.size) : 1;
  return Math.round((Math.max(0, turnaroundMs - Math.max(0, computeMs)) / requests) * 10) / 10;
}

/** Does a delivered digest answer the job? A missing or malformed digest does not. */
export function checkDigest(job: JobSpec, delivered: unknown): boolean {
  return typeof delivered === 'string' && /^[0-9a-fA-F]{64}$/.test(delivered) && delivered.toLowerCase() === jobDigest(job);
}

// ------------------------------------------------------------------------------------ graded items

/** Items of a hash-chain or record-set job (prompts: one item each): at most this many. */
export const GRADED_ITEMS = 10;

/** The item boundaries of a job: hash-chain checkpoint rounds, record-set chunk ends, one per prompt. */
function itemEnds(job: JobSpec): number[] {
  const k = job.workload === 'reference-prompts' ? job.size : Math.min(job.size, GRADED_ITEMS);
  return Array.from({ length: k }, (_, j) => Math.round(((j + 1) * job.size) / k));
}

const chainFrom = (h: Buffer, rounds: number): Buffer => {
  for (let i = 0; i < rounds; i++) h = sha256(h);
  return h;
};

/**
 * The item digests of a job, what an honest seller returns as `itemDigests` beside `resultDigest` (a graded
 * answer: the verifier scores the share of items right, not only all-or-nothing):
 * - hash-chain: the chain's checkpoints h(r_j) at rounds r_j = round(j * size / K), K = min(size, 10); the
 *   last is the result digest. No extra work: the seller notes the chain at K rounds.
 * - reference-prompts: SHA-256("i<TAB>normalised answer") per prompt.
 * - record-set: the digest (as `recordsDigest`) of each of K consecutive chunks of the sorted record set.
 */
export function itemDigestsOf(job: JobSpec): string[] {
  jobDigest(job); // validates the job
  const ends = itemEnds(job);
  switch (job.workload) {
    case 'hash-chain': {
      let h = sha256(`ae/hash-chain/v1:${job.seed}`);
      let at = 0;
      return ends.map((r) => { h = chainFrom(h, r - at); at = r; return h.toString('hex'); });
    }
    case 'reference-prompts':
      return promptsOf(job.seed, job.size).map((p, i) => sha256(`${i}\t${normaliseAnswer(p.answer)}`).toString('hex'));
    case 'record-set': {
      const recs = recordsOf(job.seed, job.size);
      let at = 0;
      return ends.map((e) => { const d = recordsDigest(recs.slice(at, e)); at = e; return d; });
    }
  }
}

/**
 * Grades delivered item digests: how many of the job's items are right. A hash-chain segment is judged from
 * the seller's own previous checkpoint (segment j is right when h^(r_j - r_{j-1}) of the delivered checkpoint
 * j-1 equals the delivered checkpoint j), so one wrong segment costs one item, not every later one; the
 * verifier's work is the chain's length either way. Missing, extra or malformed entries are wrong items.
 */
export function gradeItems(job: JobSpec, delivered: unknown): { right: number; total: number } {
  const expected = itemDigestsOf(job);
  const total = expected.length;
  if (!Array.isArray(delivered)) return { right: 0, total };
  const ok = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-fA-F]{64}$/.test(x);
  let right = 0;
  if (job.workload === 'hash-chain') {
    const ends = itemEnds(job);
    let prev: Buffer = sha256(`ae/hash-chain/v1:${job.seed}`);
    let at = 0;
    for (let j = 0; j < total; j++) {
      const d = delivered[j];
      const want = chainFrom(prev, ends[j]! - at).toString('hex');
      if (ok(d) && d.toLowerCase() === want) right++;
      // the next segment starts from what the seller delivered (if well-formed), else from the true checkpoint
      prev = ok(d) ? Buffer.from(d, 'hex') : Buffer.from(want, 'hex');
      at = ends[j]!;
    }
    return { right, total };
  }
  for (let j = 0; j < total; j++) {
    const d = delivered[j];
    if (ok(d) && d.toLowerCase() === expected[j]) right++;
  }
  return { right, total };
}

/**
 * How a simulated provider answers a job item by item: each item (a hash-chain segment, a prompt, a chunk of
 * records) right with the chance of its hidden quality (the share of its work that is right, as an ordinary
 * trade's accuracy is), one uniform draw from `rng` per item. A wrong hash-chain segment continues from the
 * wrong value (the seller does not know it erred). The result digest is the right one only when every item is.
 */
export function simulatedItems(job: JobSpec, quality: number, rng: () => number): { resultDigest: string; itemDigests: string[]; right: number; correct: boolean } {
  const q = Math.min(1, Math.max(0, quality));
  const truth = itemDigestsOf(job);
  const wrong = (d: string) => createHash('sha256').update(`ae/botched:${d}`).digest('hex');
  const items: string[] = [];
  let right = 0;
  if (job.workload === 'hash-chain') {
    const ends = itemEnds(job);
    let prev = sha256(`ae/hash-chain/v1:${job.seed}`);
    let at = 0;
    for (const e of ends) {
      const good = chainFrom(prev, e - at).toString('hex');
      const d = rng() < q ? (right++, good) : wrong(good);
      items.push(d);
      prev = Buffer.from(d, 'hex');
      at = e;
    }
  } else {
    for (const t of truth) items.push(rng() < q ? (right++, t) : wrong(t));
  }
  const correct = right === truth.length;
  const full = jobDigest(job);
  return { resultDigest: job.workload === 'hash-chain' ? items[items.length - 1]! : correct ? full : wrong(full), itemDigests: items, right, correct };
}

/**
 * How a simulated provider answers a job, given its hidden quality (0..1, the chance of doing the job
 * right) and a uniform draw `roll` in [0, 1) from the simulator's seeded RNG: with probability
 * `quality` the correct digest, otherwise the digest of a botched job (one wrong round, answer or
 * record: a different, well-formed digest). Pure: the same inputs give the same answer.
 */
export function simulatedAnswer(job: JobSpec, quality: number, roll: number): { resultDigest: string; correct: boolean } {
  const correct = roll < Math.min(1, Math.max(0, quality));
  if (correct) return { resultDigest: jobDigest(job), correct };
  const botched = createHash('sha256').update(`ae/botched:${jobDigest(job)}`).digest('hex');
  return { resultDigest: botched, correct };
}
