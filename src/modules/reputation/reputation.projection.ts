/**
 * The engine as a projection of the evidence log: it tails `reputation_evidence` in seq order (lazily,
 * before every read, and from a background job), applying each row at max(row time, last applied time).
 * A full recompute is the same fold from seq 0, so it gives the same scores. Rows that become visible
 * out of seq order (concurrent commits on PostgreSQL) are detected through the gaps they leave and
 * trigger a rebuild. It starts from the latest stored checkpoint when there is one, and stores new ones.
 *
 * The agents under a risk discount_evidence intervention are a parameter of the engine (their evidence
 * counts zero, params.evidenceDiscounted): a rebuild reads them, and `refreshDiscounts` (the
 * `reputation.discounts` job) rebuilds when they changed (beside the current engine, which keeps answering
 * reads until the new one has caught up), so that the whole log is weighed with the new
 * set, lifting one gives back exactly the scores of never having flagged it, and a checkpoint (keyed by
 * the parameters) is only reused by a process with the same set.
 */
import { createHash } from 'node:crypto';
import { ReputationEngine } from './engine.js';
import { decodeCheckpoint, encodeCheckpoint, paramsKey } from './checkpoint.js';
import { makeParams } from './params.js';
import { reputationRepository as repo, toEvidence, type EvidenceRow } from './reputation.repository.js';
import type { DiscountedAgent, ReputationDeps } from './reputation.deps.js';

const BATCH = 5_000;
const MISSING_TTL_MS = 10 * 60_000;

export class EvidenceProjection {
  engine!: ReputationEngine;
  /** false: the next sync rebuilds the engine from the log (a probe changed, a late row, a recompute) */
  loaded = false;
  lastSeq = 0n;
  private lastAt = -Infinity;
  probeSet = new Set<string>();
  /** seqs skipped by the tail (rolled back, or not yet committed) and when we first noticed them */
  private readonly missing = new Map<bigint, number>();
  /** agents whose score may have changed since the last snapshot */
  readonly dirty = new Set<string>();
  /** bumped on every row applied and every rebuild */
  version = 0;
  private current: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private rebuilds = 0;
  /** the next load may start from a stored checkpoint (the first load of the process only) */
  mayRestore: boolean;
  private restoredFrom: bigint | null = null;
  private checkpointSeq = 0n;
  /** evidence rows applied since the engine was (re)built */
  private applied = 0;
  /** the agents under a discount_evidence intervention as last read (the engine's set) */
  discounts: readonly DiscountedAgent[] = [];
  private discountRebuilds = 0;

  constructor(private readonly deps: ReputationDeps) {
    this.mayRestore = deps.checkpoints?.use ?? true;
  }

  /** Brings the engine up to date with every committed evidence row (coalesced, serialised). */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const p = this.current.then(() => {
      this.queued = null;
      return this.runSync();
    });
    this.queued = p;
    this.current = p.catch(() => undefined);
    return p;
  }

  /** Statistics of the projection (for tests and metrics). */
  get stats() {
    return {
      lastSeq: this.lastSeq, agents: this.engine?.agentCount ?? 0, rebuilds: this.rebuilds, version: this.version,
      restoredFrom: this.restoredFrom, applied: this.applied, checkpointSeq: this.checkpointSeq,
      discounted: this.engine?.params.evidenceDiscounted.length ?? 0, discountRebuilds: this.discountRebuilds,
    };
  }

  private async runSync(): Promise<void> {
    const db = this.deps.database.db;
    if (!this.loaded) {
      const probes = await repo.probes(db);
      // the operator's probes and the platform's verifier agents are the pre-trusted part of the seed
      const preTrusted = [...new Set([...probes, ...(this.deps.params?.verifierIds ?? [])])].sort();
      // agents under a risk discount_evidence intervention: their evidence counts zero
      this.discounts = (await this.deps.evidenceDiscounts?.discountedAgents()) ?? [];
      const params = { ...this.deps.params, preTrusted, evidenceDiscounted: discountedIds(this.discounts) };
      // the process's first load starts from the latest checkpoint for these parameters, if any; later
      // rebuilds (a probe changed, a late row, an explicit recompute) replay the whole log
      const restored = this.mayRestore ? await this.restore(params) : undefined;
      this.mayRestore = false;
      this.engine = restored?.engine ?? new ReputationEngine(params);
      this.restoredFrom = restored?.seq ?? null;
      this.checkpointSeq = restored?.seq ?? 0n;
      this.applied = 0;
      this.probeSet = new Set(probes);
      this.lastSeq = restored?.seq ?? 0n;
      this.lastAt = restored?.engine.lastAppliedAt ?? -Infinity;
      this.missing.clear();
      this.loaded = true;
      this.version++;
    }
    if (this.missing.size > 0) {
      const late = await repo.evidenceBySeqs(db, [...this.missing.keys()]);
      if (late.length > 0) {
        // a row committed after later rows were applied: replay from scratch to keep the seq order
        this.rebuilds++;
        this.loaded = false;
        return this.runSync();
      }
      const now = this.deps.clock.now().getTime();
      for (const [seq, since] of this.missing) if (now - since > MISSING_TTL_MS) this.missing.delete(seq);
    }
    for (;;) {
      const rows = await repo.evidenceAfter(db, this.lastSeq, BATCH);
      for (const row of rows) this.applyRow(row);
      if (rows.length < BATCH) break;
    }
  }

  /**
   * Reads the agents under a discount_evidence intervention; when they are not the engine's set, builds an
   * engine with the new set (from a checkpoint of that set if one is stored, else from seq 0) beside the
   * current one, which keeps answering reads (and following the log) meanwhile, then swaps it in.
   * Returns whether it rebuilt.
   */
  async refreshDiscounts(): Promise<boolean> {
    if (this.deps.evidenceDiscounts === undefined) return false;
    await this.sync();
    const list = await this.deps.evidenceDiscounts.discountedAgents();
    if (sameSet(discountedIds(list), this.engine.params.evidenceDiscounted)) {
      this.discounts = list; // the same agents (an intervention may have replaced another on one of them)
      return false;
    }
    // the rebuild reads the set again, so it is the latest at the time it starts
    const next = new EvidenceProjection(this.deps);
    await next.sync();
    await this.exclusive(() => this.adopt(next));
    this.discountRebuilds++;
    await this.sync();
    return true;
  }

  /** Runs `fn` between syncs (serialised with them). */
  private exclusive(fn: () => void): Promise<void> {
    const p = this.current.then(fn);
    this.current = p.catch(() => undefined);
    return p;
  }

  /** Takes over another projection's engine and position in the log (built beside this one); its subjects become dirty. */
  private adopt(next: EvidenceProjection): void {
    const rebuildPending = !this.loaded; // a probe change or a recompute asked for a rebuild meanwhile: keep it asked
    this.engine = next.engine;
    this.loaded = next.loaded && !rebuildPending;
    this.lastSeq = next.lastSeq;
    this.lastAt = next.lastAt;
    this.probeSet = next.probeSet;
    this.missing.clear();
    for (const [seq, since] of next.missing) this.missing.set(seq, since);
    for (const id of next.dirty) this.dirty.add(id);
    this.version++;
    this.restoredFrom = next.restoredFrom;
    this.checkpointSeq = next.checkpointSeq;
    this.applied = next.applied;
    this.discounts = next.discounts;
    this.mayRestore = false;
  }

  private applyRow(row: EvidenceRow): void {
    const seq = BigInt(row.seq);
    if (seq > this.lastSeq + 1n && seq - this.lastSeq < 1000n) {
      const now = this.deps.clock.now().getTime();
      for (let s = this.lastSeq + 1n; s < seq; s++) this.missing.set(s, now);
    }
    this.lastSeq = seq;
    const at = Math.max(row.at.getTime(), this.lastAt);
    this.lastAt = at;
    const ev = toEvidence(row, at);
    this.engine.apply(ev);
    this.applied++;
    if (row.subject_id !== null) this.dirty.add(row.subject_id);
    if ((row.type === 'trade' || row.type === 'rating') && row.producer_id) this.dirty.add(row.producer_id);
    // an epoch weighs every agent's evidence again
    if (ev.type === 'epoch') for (const id of this.engine.agentIds()) this.dirty.add(id);
    if (ev.type === 'same_owner') for (const m of ev.members) this.dirty.add(m);
    this.version++;
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  private static checkpointKey(params: Parameters<typeof makeParams>[0]): string {
    return createHash('sha256').update(paramsKey(makeParams(params))).digest('hex');
  }

  private async restore(params: Parameters<typeof makeParams>[0]): Promise<{ engine: ReputationEngine; seq: bigint } | undefined> {
    const row = await repo.latestCheckpoint(this.deps.database.db, EvidenceProjection.checkpointKey(params));
    if (!row) return undefined;
    try {
      return { engine: ReputationEngine.restore(decodeCheckpoint(row.state), params), seq: BigInt(row.evidence_seq) };
    } catch {
      return undefined; // unreadable or made by another version: replay the log
    }
  }

  /**
   * Stores the engine's state with the seq of the last row it applied, when at least `checkpoints.every`
   * rows were applied since the last checkpoint and no earlier seq is still missing (a row that could
   * still commit below the checkpoint would be lost to processes starting from it). Returns its seq.
   */
  async checkpoint(): Promise<bigint | null> {
    await this.sync();
    const every = BigInt(this.deps.checkpoints?.every ?? 50_000);
    if (this.missing.size > 0 || this.lastSeq === 0n || this.lastSeq - this.checkpointSeq < every) return null;
    // no await between reading the seq and serialising: the state is exactly the state after that row
    const seq = this.lastSeq;
    const cp = this.engine.checkpoint();
    const state = encodeCheckpoint(cp);
    await repo.insertCheckpoint(this.deps.database.db, {
      seq, paramsKey: createHash('sha256').update(cp.paramsKey).digest('hex'), state, createdAt: this.deps.clock.now(),
    });
    this.checkpointSeq = seq;
    return seq;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** The agents of a discount list, sorted and unique (the engine parameter, so equal sets give one checkpoint key). */
function discountedIds(list: readonly DiscountedAgent[]): string[] {
  return [...new Set(list.map((d) => d.agentId))].sort();
}
