/**
 * The availability service: heartbeats (one UPSERT each), maintenance windows declared in advance, the
 * uptime of a period (the pure model in availability.model.ts over the stored slots), and a daily job that
 * turns each agent's uptime and maintenance compliance into reliability evidence for reputation.
 */
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, notFound, type FieldError } from '../../platform/http/errors.js';
import { seesPrivateOf, type Principal } from '../../platform/http/auth.js';
import { uuidv7 } from '../../platform/ids.js';
import type { BackgroundJob } from '../module.js';
import {
  MAX_PERIOD_MS, RETENTION_MS, WINDOW_RULES, checkDeclaration, firstBeatMs, methodText, periodStats, slotOf, type HeartbeatBlock, type PeriodStats,
} from './availability.model.js';
import { availabilityRepository as repo, toWindow, type WindowRow } from './availability.repository.js';
import type { AvailabilityPort, ReliabilitySink } from './availability.port.js';

const DAY_MS = 86_400_000;
/** A day yields evidence only when at least this much of it was counted (a first heartbeat at 23:50 says little). */
export const MIN_COUNTED_MS = 3600_000;
/** Days the evidence job catches up after a pause. */
const CATCH_UP_DAYS = 7;
export const PERIODS = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
export type PeriodName = keyof typeof PERIODS;


/** What availability reads of agents (the app hands it the agents service). */
export interface AgentLookup {
  /** The agent (a 404 problem when there is none). */
  get(agentId: string): Promise<{ deactivatedAt: string | null }>;
  exists(agentId: string): Promise<boolean>;
  /** Agents currently active. */
  active(filter: Record<string, never>): Promise<ReadonlyArray<{ id: string }>>;
}

export interface AvailabilityDeps {
  database: Database;
  clock: Clock;
  agents: AgentLookup;
  reputation: ReliabilitySink;
  /** HEARTBEAT_INTERVAL_SECONDS */
  slotSeconds: number;
}

export interface HeartbeatInput {
  status?: 'ok' | 'degraded' | undefined;
  capacity?: number | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();
const secs = (ms: number) => Math.round(ms / 1000);
const pct = (x: number | null) => (x === null ? null : Math.round(x * 100_000) / 1000);
const bad = (errors: FieldError[]) => new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });

export function periodJson(name: string, s: PeriodStats, windows: number) {
  return {
    name, from: iso(s.fromMs), until: iso(s.untilMs), countedFrom: s.countedFromMs === null ? null : iso(s.countedFromMs),
    uptimePercent: pct(s.uptime), maintenanceCompliancePercent: pct(s.maintenanceCompliance),
    seconds: { up: secs(s.upMs), down: secs(s.downMs), excused: secs(s.excusedMs), degraded: secs(s.degradedMs), counted: secs(s.upMs + s.downMs + s.excusedMs) },
    outages: s.outages, maintenanceWindows: windows,
  };
}

export class AvailabilityService implements AvailabilityPort {
  readonly jobs: BackgroundJob[];

  constructor(readonly deps: AvailabilityDeps) {
    this.jobs = [
      { name: 'availability.reliability-evidence', intervalMs: 600_000, run: () => this.recordDailyEvidence() },
      { name: 'availability.prune', intervalMs: 3600_000, run: () => this.prune() },
    ];
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }
  private get slotSeconds(): number {
    return this.deps.slotSeconds;
  }
  /** Slots are judged when they are over: counting ends at the start of the current slot. */
  private judgedUntil(now = this.now()): number {
    return slotOf(now, this.slotSeconds).slotStartMs;
  }

  // ------------------------------------------------------------------------------ heartbeats

  /** A heartbeat of the agent itself (the route admits agent keys only). */
  async heartbeat(principal: Principal, agentId: string, input: HeartbeatInput) {
    if (principal.kind !== 'agent' || principal.agentId !== agentId) throw new AppError('forbidden', 'an agent sends its own heartbeats only');
    const at = this.deps.clock.now();
    const status = input.status ?? 'ok';
    const s = await this.beat(agentId, at, status, input.capacity ?? null, false);
    return {
      agentId, receivedAt: at.toISOString(), status, capacity: input.capacity ?? null, heartbeatIntervalSeconds: this.slotSeconds,
      slot: { start: iso(s.slotStartMs), end: iso(s.slotEndMs) },
    };
  }

  /** Presence seen by the platform itself (an agent holding GET /v1/stream open): a heartbeat that keeps the last status. */
  async presence(agentId: string): Promise<void> {
    await this.beat(agentId, this.deps.clock.now(), 'ok', null, true);
  }

  private async beat(agentId: string, at: Date, status: 'ok' | 'degraded', capacity: number | null, presence: boolean) {
    const s = slotOf(at.getTime(), this.slotSeconds);
    await repo.beat(this.deps.database.db, {
      agentId, slotSeconds: this.slotSeconds, blockStart: new Date(s.blockStartMs), blockEnd: new Date(s.blockEndMs), bit: s.bit,
      degraded: status === 'degraded', at, status, capacity, presence,
    });
    return s;
  }

  // ------------------------------------------------------------------------------ uptime

  private async statsOf(agentIds: readonly string[], fromMs: number, untilMs: number, ends?: Map<string, number>) {
    const db = this.deps.database.db;
    const [blocks, firsts, windows] = await Promise.all([
      repo.blocks(db, agentIds, new Date(fromMs), new Date(untilMs)),
      repo.firstBlocks(db, agentIds),
      repo.windows(db, agentIds, new Date(fromMs), new Date(untilMs)),
    ]);
    return this.fold(agentIds, blocks, firsts, windows, fromMs, untilMs, ends);
  }

  private fold(
    agentIds: Iterable<string>, blocks: Map<string, HeartbeatBlock[]>, firsts: Map<string, HeartbeatBlock>, windows: WindowRow[],
    fromMs: number, untilMs: number, ends?: Map<string, number>,
  ): Map<string, { stats: PeriodStats; windows: number }> {
    const byAgent = new Map<string, WindowRow[]>();
    for (const w of windows) byAgent.set(w.agent_id, [...(byAgent.get(w.agent_id) ?? []), w]);
    const out = new Map<string, { stats: PeriodStats; windows: number }>();
    for (const id of agentIds) {
      const first = firsts.get(id);
      const ws = byAgent.get(id) ?? [];
      // a deactivated agent is counted until it was deactivated
      const until = Math.max(fromMs, Math.min(untilMs, ends?.get(id) ?? Infinity));
      const stats = periodStats({
        blocks: blocks.get(id) ?? [], windows: ws.map(toWindow), firstBeatMs: first ? firstBeatMs([first]) : null, fromMs, untilMs: until,
        minNoticeMs: WINDOW_RULES.minNoticeMs,
      });
      out.set(id, { stats: { ...stats, untilMs }, windows: ws.length });
    }
    return out;
  }

  async uptimeOf(agentIds: readonly string[], sinceMs: number, untilMs: number): Promise<Map<string, PeriodStats>> {
    const until = Math.min(untilMs, this.judgedUntil());
    const from = Math.min(sinceMs, until);
    const m = await this.statsOf(agentIds, from, until);
    return new Map([...m].map(([id, v]) => [id, v.stats]));
  }

  async availability(agentId: string, q: { period?: PeriodName | undefined; from?: string | undefined; until?: string | undefined }) {
    const agent = await this.deps.agents.get(agentId);
    const now = this.now();
    const judged = this.judgedUntil(now);
    const ranges: { name: string; from: number; until: number }[] = [];
    if (q.from !== undefined || q.until !== undefined) {
      if (q.period !== undefined) throw bad([{ field: 'querystring.period', message: 'cannot be combined with from and until' }]);
      if (q.from === undefined) throw bad([{ field: 'querystring.from', message: 'is required with until' }]);
      const from = Date.parse(q.from);
      const until = q.until === undefined ? judged : Math.min(Date.parse(q.until), judged);
      const errors: FieldError[] = [];
      if (from < now - RETENTION_MS) errors.push({ field: 'querystring.from', message: `heartbeats are kept ${RETENTION_MS / DAY_MS} days: must be after ${iso(now - RETENTION_MS)}` });
      if (from >= until) errors.push({ field: 'querystring.from', message: `must be before until (${iso(until)}; the current slot is judged when it is over)` });
      else if (until - from > MAX_PERIOD_MS) errors.push({ field: 'querystring.from', message: `a period spans at most ${MAX_PERIOD_MS / DAY_MS} days` });
      if (errors.length) throw bad(errors);
      ranges.push({ name: 'custom', from, until });
    } else {
      for (const [name, len] of Object.entries(PERIODS)) if (q.period === undefined || q.period === name) ranges.push({ name, from: judged - len, until: judged });
    }
    const ends = agent.deactivatedAt ? new Map([[agentId, Date.parse(agent.deactivatedAt)]]) : undefined;
    const db = this.deps.database.db;
    const earliest = Math.min(...ranges.map((r) => r.from));
    const [blocks, firsts, windows, latest] = await Promise.all([
      repo.blocks(db, [agentId], new Date(earliest), new Date(judged)),
      repo.firstBlocks(db, [agentId]),
      repo.windows(db, [agentId], new Date(earliest), new Date(judged)),
      repo.latest(db, agentId),
    ]);
    const periods = ranges.map((r) => {
      const ws = windows.filter((w) => w.starts_at.getTime() < r.until && w.ends_at.getTime() > r.from);
      const v = this.fold([agentId], blocks, firsts, ws, r.from, r.until, ends).get(agentId)!;
      return periodJson(r.name, v.stats, v.windows);
    });
    const first = firsts.get(agentId);
    const firstMs = first ? firstBeatMs([first]) : null;
    const cur = slotOf(now, this.slotSeconds);
    const recent = latest !== undefined && latest.last_at.getTime() >= cur.slotStartMs - this.slotSeconds * 1000;
    const inWindow = windows.some((w) => w.starts_at.getTime() <= now && w.ends_at.getTime() > now);
    return {
      agentId, asOf: iso(judged), heartbeatIntervalSeconds: this.slotSeconds,
      status: latest === undefined ? 'unknown' : recent ? (latest.last_status === 'degraded' ? 'degraded' : 'up') : inWindow ? 'maintenance' : 'down',
      firstHeartbeatAt: firstMs === null ? null : iso(firstMs),
      lastHeartbeat: latest === undefined ? null : { at: latest.last_at.toISOString(), status: latest.last_status, capacity: latest.last_capacity },
      periods, method: methodText(this.slotSeconds),
    };
  }

  // ------------------------------------------------------------------------------ maintenance windows

  private windowJson(w: WindowRow, now: number, reveal: boolean) {
    const s = w.starts_at.getTime();
    const e = w.ends_at.getTime();
    return {
      id: w.id, start: w.starts_at.toISOString(), end: w.ends_at.toISOString(), declaredAt: w.declared_at.toISOString(),
      state: s > now ? 'upcoming' : e > now ? 'ongoing' : 'past', ...(reveal ? { reason: w.reason } : {}),
    };
  }

  private rules() {
    const r = WINDOW_RULES;
    return {
      minNoticeMinutes: r.minNoticeMs / 60_000, minLengthMinutes: r.minLengthMs / 60_000, maxLengthHours: r.maxLengthMs / 3600_000,
      horizonDays: r.horizonMs / DAY_MS, maxUpcoming: r.maxUpcoming, maxHoursPerWeek: r.maxPerWeekMs / 3600_000,
    };
  }

  async windows(principal: Principal, agentId: string) {
    if (!(await this.deps.agents.exists(agentId))) throw notFound('agent', agentId);
    const now = this.now();
    const rows = await repo.windowsOf(this.deps.database.db, agentId, new Date(now - MAX_PERIOD_MS));
    const reveal = seesPrivateOf(principal, agentId);
    return { agentId, windows: rows.map((w) => this.windowJson(w, now, reveal)), rules: this.rules() };
  }

  /**
   * Replaces the agent's upcoming windows (those not started yet). Windows that have started are the
   * record: they stay as declared. A window sent again unchanged keeps its declaration time.
   */
  async declareWindows(principal: Principal, agentId: string, input: { start: string; end: string; reason?: string | undefined }[]) {
    if (principal.kind !== 'agent' || principal.agentId !== agentId) throw new AppError('forbidden', 'an agent declares its own maintenance windows only');
    const at = this.deps.clock.now();
    const now = at.getTime();
    const declared = input.map((w) => ({ startMs: Date.parse(w.start), endMs: Date.parse(w.end), reason: w.reason ?? null }));
    await this.deps.database.transaction(async (tx) => {
      await repo.lockAgent(tx, agentId);
      const recorded = await repo.windowsOf(tx, agentId, new Date(now - 7 * DAY_MS));
      const errors = checkDeclaration(declared, recorded.map(toWindow), now);
      if (errors.length > 0) throw bad(errors);
      const upcoming = recorded.filter((w) => w.starts_at.getTime() > now);
      await repo.deleteUpcoming(tx, agentId, at);
      await repo.insertWindows(tx, declared.map((w) => {
        const same = upcoming.find((u) => u.starts_at.getTime() === w.startMs && u.ends_at.getTime() === w.endMs);
        return {
          id: same?.id ?? uuidv7(this.deps.clock), agent_id: agentId, starts_at: new Date(w.startMs), ends_at: new Date(w.endMs),
          declared_at: same?.declared_at ?? at, reason: w.reason,
        };
      }));
    });
    return this.windows(principal, agentId);
  }

  // ------------------------------------------------------------------------------ evidence and retention

  /**
   * For each UTC day not yet reported (at most the last week), records every active agent's uptime and
   * maintenance compliance of that day as reliability evidence (kinds uptime and maintenance), once: the
   * evidence ids are derived from agent, kind and day, so a second process or a re-run adds nothing.
   */
  async recordDailyEvidence(): Promise<{ days: number; evidence: number }> {
    const now = this.now();
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    const last = await repo.lastReportedDay(this.deps.database.db);
    if (last !== null && last.getTime() + DAY_MS >= today) return { days: 0, evidence: 0 };
    const earliest = await repo.earliestBlock(this.deps.database.db);
    if (earliest === null) return { days: 0, evidence: 0 };
    const firstDay = Math.floor(earliest.getTime() / DAY_MS) * DAY_MS;
    let day = Math.max(last ? last.getTime() + DAY_MS : firstDay, firstDay, today - CATCH_UP_DAYS * DAY_MS);
    let days = 0;
    let evidence = 0;
    for (; day < today; day += DAY_MS) {
      evidence += await this.reportDay(day);
      days++;
    }
    return { days, evidence };
  }

  private async reportDay(dayStart: number): Promise<number> {
    const db = this.deps.database.db;
    const dayEnd = dayStart + DAY_MS;
    const [blocks, firsts, windows, active] = await Promise.all([
      repo.blocks(db, null, new Date(dayStart), new Date(dayEnd)),
      repo.firstBlocks(db, null),
      repo.windows(db, null, new Date(dayStart), new Date(dayEnd)),
      this.deps.agents.active({}),
    ]);
    const activeIds = new Set(active.map((a) => a.id));
    const stats = this.fold([...firsts.keys()].filter((id) => activeIds.has(id)), blocks, firsts, windows, dayStart, dayEnd);
    const at = this.deps.clock.now();
    return this.deps.database.transaction(async (tx) => {
      let n = 0;
      for (const [agentId, { stats: s }] of stats) {
        const detail = {
          method: 'heartbeats', slotSeconds: this.slotSeconds, day: iso(dayStart).slice(0, 10),
          upSeconds: secs(s.upMs), downSeconds: secs(s.downMs), excusedSeconds: secs(s.excusedMs),
        };
        if (s.uptime !== null && s.upMs + s.downMs >= MIN_COUNTED_MS) {
          if (await this.deps.reputation.recordMeasuredReliability(tx, { agentId, kind: 'uptime', value: s.uptime, day: new Date(dayStart), detail, at })) n++;
        }
        if (s.maintenanceCompliance !== null && s.upMs + s.downMs + s.excusedMs >= MIN_COUNTED_MS) {
          if (await this.deps.reputation.recordMeasuredReliability(tx, { agentId, kind: 'maintenance', value: s.maintenanceCompliance, day: new Date(dayStart), detail, at })) n++;
        }
      }
      await repo.markReported(tx, new Date(dayStart), stats.size, at);
      return n;
    });
  }

  /** Deletes heartbeat blocks, windows and report marks older than the retention. */
  prune(): Promise<number> {
    return repo.prune(this.deps.database.db, new Date(this.now() - RETENTION_MS));
  }
}
