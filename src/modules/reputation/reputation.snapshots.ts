/**
 * The reputation history: snapshots of every agent's score, written by a background job (hour bucket,
 * latest value wins).
 */
import { DAY_MS } from './evidence.types.js';
import { trustLevel } from './trust-score.js';
import { reputationRepository as repo, type SnapshotRow } from './reputation.repository.js';
import type { EvidenceProjection } from './reputation.projection.js';
import type { ReputationDeps } from './reputation.deps.js';

const HOUR_MS = 3_600_000;
const SNAPSHOT_BATCH = 1_000;
const r2 = (x: number): number => Math.round(x * 100) / 100;

export class SnapshotWriter {
  /** score and observations of each agent's latest snapshot (loaded once, then kept by this process) */
  private lastSnapshot: Map<string, { score: number; observations: number }> | undefined;
  /** the last day on which every agent was checked for a changed score */
  private sweptDay = -Infinity;

  constructor(
    private readonly deps: ReputationDeps,
    private readonly projection: EvidenceProjection,
  ) {}

  /**
   * Writes snapshots (hour bucket, latest value wins): every minute for agents with new evidence, and on
   * the first run of each day for every agent, so that decay (and recovery within the gain cap) of
   * inactive agents is recorded too. Only agents whose score or observation count differs from their
   * latest snapshot get a row; rows are written in multi-row batches.
   */
  async snapshot(): Promise<number> {
    await this.projection.sync();
    const db = this.deps.database.db;
    const now = this.deps.clock.now().getTime();
    if (this.lastSnapshot === undefined) this.lastSnapshot = await repo.latestSnapshots(db);
    const last = this.lastSnapshot;
    const day = Math.floor(now / DAY_MS);
    const sweep = day > this.sweptDay;
    const candidates = sweep ? this.projection.engine.agentIds() : [...this.projection.dirty];
    const dirty = [...this.projection.dirty];
    this.projection.dirty.clear();
    const bucket = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    const rows: SnapshotRow[] = [];
    for (const id of candidates) {
      const score = Math.round(this.projection.engine.scoreOf(id, now));
      const prev = last.get(id);
      const idx = this.projection.engine.indexOf(id);
      const observations = idx === undefined ? 0 : this.projection.engine.observations(idx);
      if (prev === undefined ? score === 0 && observations === 0 : prev.score === score && prev.observations === observations) continue;
      const v = this.projection.engine.score(id, now);
      const c = v.components;
      rows.push({
        agent_id: id, at: bucket, score, raw: r2(v.raw), level: trustLevel(score, v.observations), observations: v.observations, evidence_seq: this.projection.lastSeq,
        components: { performance: r2(c.performance), transactions: r2(c.transactions), community: r2(c.community), reliability: r2(c.reliability), disputes: r2(c.disputes) },
      });
    }
    try {
      for (let i = 0; i < rows.length; i += SNAPSHOT_BATCH) await repo.upsertSnapshots(db, rows.slice(i, i + SNAPSHOT_BATCH));
    } catch (err) {
      for (const id of dirty) this.projection.dirty.add(id);
      this.lastSnapshot = undefined; // some batches may have been written: reload
      throw err;
    }
    for (const r of rows) last.set(r.agent_id, { score: r.score, observations: r.observations });
    if (sweep) this.sweptDay = day;
    return rows.length;
  }
}
