/**
 * Badges awarded automatically: a job folds the record of every seller with new trades through the pure
 * rules (badges.ts) and stores the badges it has not stored yet (kept as first earned, with what earned it),
 * each announced on the agent's stream (`badge.earned`). Reading an agent's badges runs the same fold first,
 * so they are never behind the job.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import { notFound } from '../../platform/http/errors.js';
import type { BackgroundJob } from '../module.js';
import type { BadgeSources } from './certification.deps.js';
import { certificationRepository as repo } from './certification.repository.js';
import { BADGE_RULES, badgesOf } from './badges.js';

export interface BadgesDeps {
  database: Database;
  clock: Clock;
  outbox: EventOutbox;
  sources: BadgeSources;
  exists(agentId: string): Promise<boolean>;
}

const BADGE_JOB = 'certification.badges';

export class BadgesService {
  readonly jobs: BackgroundJob[];
  constructor(private readonly deps: BadgesDeps) {
    this.jobs = [{ name: BADGE_JOB, intervalMs: 60_000, run: () => this.award() }];
  }

  /** Folds one agent's record and stores new badges; returns the badges that were new. */
  async refresh(agentId: string): Promise<string[]> {
    const now = this.deps.clock.now();
    const [trades, passed] = await Promise.all([this.deps.sources.sellerTrades(agentId), this.deps.sources.challengesPassed(agentId)]);
    const earned = badgesOf({ nowMs: now.getTime(), trades, challengesPassed: passed });
    if (earned.length === 0) return [];
    return this.deps.database.transaction(async (tx) => {
      const fresh = await repo.insertBadges(tx, earned.map((b) => ({
        agent_id: agentId, badge: b.badge, earned_at: new Date(b.earnedAtMs), evidence: JSON.stringify({ title: b.title, because: b.because, ...b.evidence }),
      })));
      if (fresh.length) {
        const set = new Set(fresh);
        await this.deps.outbox.append(tx, earned.filter((b) => set.has(b.badge)).map((b) => ({
          type: 'badge.earned', agentIds: [agentId], data: { agentId, badge: b.badge, title: b.title, because: b.because, earnedAt: new Date(b.earnedAtMs).toISOString() }, at: now.toISOString(),
        })));
      }
      return fresh;
    });
  }

  /**
   * The job: every seller with trades recorded since the last run. The marker is stored (not held by the
   * process), so a restart or another process taking over the job starts where the last run stopped;
   * awarding is idempotent, so a run that dies before storing it only repeats work.
   */
  async award(): Promise<{ agents: number; awarded: number }> {
    const { db } = this.deps.database;
    const started = this.deps.clock.now();
    const since = await repo.jobMarker(db, BADGE_JOB);
    const sellers = await this.deps.sources.sellersSince(since?.getTime() ?? 0);
    let awarded = 0;
    for (const s of sellers) awarded += (await this.refresh(s)).length;
    // a minute of overlap: a trade recorded while this ran is seen next time
    await repo.setJobMarker(db, BADGE_JOB, new Date(started.getTime() - 60_000), this.deps.clock.now());
    return { agents: sellers.length, awarded };
  }

  async badgesOf(agentId: string) {
    if (!(await this.deps.exists(agentId))) throw notFound('agent', agentId);
    await this.refresh(agentId);
    const rows = await repo.badges(this.deps.database.db, agentId);
    return {
      agentId,
      badges: rows.map((r) => {
        const { title, because, ...evidence } = r.evidence as { title?: string; because?: string };
        return { badge: r.badge, title: title ?? r.badge, earnedAt: r.earned_at.toISOString(), because: because ?? '', evidence };
      }),
      rules: BADGE_RULES,
    };
  }
}
