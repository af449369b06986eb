/**
 * The availability model, pure (no database, no clock): heartbeat slots, the uptime of a period and the
 * rules for maintenance windows.
 *
 * Time is cut into slots of `slotSeconds` (HEARTBEAT_INTERVAL_SECONDS), aligned to the Unix epoch. An agent
 * is **up** for a slot when at least one heartbeat arrived in it, **down** otherwise; a down slot is
 * **excused** as far as it lies in a maintenance window declared in advance. Counting starts at the slot
 * of the agent's first heartbeat (nothing before it is counted) and ends at the start of the current slot
 * (a slot is judged when it is over). Uptime = up / (up + down): excused time is left out of both.
 * Maintenance compliance = excused / (excused + down): the share of the downtime that was announced
 * (1 when there was no downtime).
 */
import type { FieldError } from '../../platform/http/errors.js';

/** Slots per stored block (one row per agent and block). At the default 60 s slot a block is one day. */
export const SLOTS_PER_BLOCK = 1440;
export const BLOCK_BYTES = SLOTS_PER_BLOCK / 8;
/** How long heartbeat blocks and maintenance windows are kept; periods reach back at most 30 days. */
export const RETENTION_MS = 35 * 86_400_000;
export const MAX_PERIOD_MS = 30 * 86_400_000;

/** Rules for maintenance windows (docs/decisions.md, "Uptime from heartbeats"). */
export const WINDOW_RULES = {
  /** a window must start at least this long after it is declared */
  minNoticeMs: 15 * 60_000,
  minLengthMs: 60_000,
  maxLengthMs: 12 * 3600_000,
  /** how far ahead a window may start */
  horizonMs: 90 * 86_400_000,
  /** upcoming windows at once */
  maxUpcoming: 10,
  /** declared maintenance starting in one UTC week (from Monday 00:00), started windows included */
  maxPerWeekMs: 12 * 3600_000,
} as const;

export type Interval = readonly [number, number];

export interface HeartbeatBlock {
  slotSeconds: number;
  startMs: number;
  beats: Uint8Array;
  degraded: Uint8Array;
}

export interface WindowRecord {
  startMs: number;
  endMs: number;
  declaredAtMs: number;
}

/** Where a heartbeat at `ms` goes: its block and the bit of its slot in the block. */
export function slotOf(ms: number, slotSeconds: number) {
  const slotMs = slotSeconds * 1000;
  const slot = Math.floor(ms / slotMs);
  const block = Math.floor(slot / SLOTS_PER_BLOCK);
  const blockStartMs = block * SLOTS_PER_BLOCK * slotMs;
  return { bit: slot - block * SLOTS_PER_BLOCK, blockStartMs, blockEndMs: blockStartMs + SLOTS_PER_BLOCK * slotMs, slotStartMs: slot * slotMs, slotEndMs: (slot + 1) * slotMs };
}

/** PostgreSQL's get_bit numbering: bit n is bit n % 8 (from the least significant) of byte n / 8. */
export const bitAt = (bytes: Uint8Array, n: number): boolean => ((bytes[n >> 3] ?? 0) >> (n & 7) & 1) === 1;

/** Runs of set bits as time intervals, merged. */
function runs(block: HeartbeatBlock, bits: Uint8Array): Interval[] {
  const slotMs = block.slotSeconds * 1000;
  const out: Interval[] = [];
  let start = -1;
  for (let i = 0; i <= SLOTS_PER_BLOCK; i++) {
    const set = i < SLOTS_PER_BLOCK && bitAt(bits, i);
    if (set && start < 0) start = i;
    else if (!set && start >= 0) {
      out.push([block.startMs + start * slotMs, block.startMs + i * slotMs]);
      start = -1;
    }
  }
  return out;
}

/** Union of intervals: sorted, disjoint, adjacent ones merged. */
export function union(xs: readonly Interval[]): Interval[] {
  const s = xs.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function clip(xs: readonly Interval[], from: number, until: number): Interval[] {
  const out: Interval[] = [];
  for (const [a, b] of xs) {
    const s = Math.max(a, from);
    const e = Math.min(b, until);
    if (e > s) out.push([s, e]);
  }
  return out;
}

/** The gaps of sorted disjoint `xs` within [from, until). */
function complement(xs: readonly Interval[], from: number, until: number): Interval[] {
  const out: Interval[] = [];
  let at = from;
  for (const [a, b] of xs) {
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (until > at) out.push([at, until]);
  return out;
}

const total = (xs: readonly Interval[]) => xs.reduce((n, [a, b]) => n + (b - a), 0);

/** Length of the intersection of two sorted disjoint lists. */
function overlap(xs: readonly Interval[], ys: readonly Interval[]): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < xs.length && j < ys.length) {
    const s = Math.max(xs[i]![0], ys[j]![0]);
    const e = Math.min(xs[i]![1], ys[j]![1]);
    if (e > s) n += e - s;
    if (xs[i]![1] < ys[j]![1]) i++;
    else j++;
  }
  return n;
}

/** Start of the slot of the earliest heartbeat in `blocks`, or null. */
export function firstBeatMs(blocks: readonly HeartbeatBlock[]): number | null {
  let first: number | null = null;
  for (const b of blocks) {
    const r = runs(b, b.beats)[0];
    if (r && (first === null || r[0] < first)) first = r[0];
  }
  return first;
}

export interface PeriodInput {
  /** blocks overlapping the period */
  blocks: readonly HeartbeatBlock[];
  /** maintenance windows overlapping the period */
  windows: readonly WindowRecord[];
  /** start of the slot of the agent's first heartbeat (kept), null when it never sent one */
  firstBeatMs: number | null;
  fromMs: number;
  untilMs: number;
  minNoticeMs?: number;
}

export interface PeriodStats {
  fromMs: number;
  untilMs: number;
  /** where counting started in this period (the first heartbeat, or the period's start), null: nothing counted */
  countedFromMs: number | null;
  upMs: number;
  degradedMs: number;
  downMs: number;
  excusedMs: number;
  /** stretches of unexcused downtime */
  outages: number;
  uptime: number | null;
  maintenanceCompliance: number | null;
}

export function periodStats(p: PeriodInput): PeriodStats {
  const start = p.firstBeatMs === null ? p.untilMs : Math.max(p.fromMs, p.firstBeatMs);
  const empty = { fromMs: p.fromMs, untilMs: p.untilMs, countedFromMs: null, upMs: 0, degradedMs: 0, downMs: 0, excusedMs: 0, outages: 0, uptime: null, maintenanceCompliance: null };
  if (start >= p.untilMs) return empty;
  const up = clip(union(p.blocks.flatMap((b) => runs(b, b.beats))), start, p.untilMs);
  const degraded = clip(union(p.blocks.flatMap((b) => runs(b, b.degraded))), start, p.untilMs);
  const down = complement(up, start, p.untilMs);
  const notice = p.minNoticeMs ?? WINDOW_RULES.minNoticeMs;
  // only windows declared in advance excuse anything (the database refuses others; this is the rule itself)
  const excusing = union(p.windows.filter((w) => w.startMs - w.declaredAtMs >= notice).map((w) => [w.startMs, w.endMs] as const));
  const upMs = total(up);
  const downAll = total(down);
  const excusedMs = overlap(down, excusing);
  const downMs = downAll - excusedMs;
  let outages = 0;
  for (const d of down) if (overlap([d], excusing) < d[1] - d[0]) outages++;
  return {
    fromMs: p.fromMs, untilMs: p.untilMs, countedFromMs: start, upMs, degradedMs: overlap(degraded, up), downMs, excusedMs, outages,
    uptime: upMs + downMs > 0 ? upMs / (upMs + downMs) : null,
    maintenanceCompliance: downAll > 0 ? excusedMs / downAll : 1,
  };
}

// ------------------------------------------------------------------------------ maintenance windows

export interface DeclaredWindow {
  startMs: number;
  endMs: number;
}

const WEEK_MS = 7 * 86_400_000;
/** Start of the UTC week (Monday 00:00) containing ms. 1970-01-01 was a Thursday. */
export const weekStartMs = (ms: number): number => Math.floor((ms - 4 * 86_400_000) / WEEK_MS) * WEEK_MS + 4 * 86_400_000;

const hours = (ms: number) => `${Math.round((ms / 3600_000) * 100) / 100} h`;
const isoOf = (ms: number) => new Date(ms).toISOString();

/**
 * Checks a declaration of upcoming windows against the rules. `recorded`: the agent's windows that have
 * started (the record, immutable) and its upcoming ones (replaced by this declaration; a window sent again
 * unchanged keeps its declaration time and is not held to the notice again). Returns the field errors.
 */
export function checkDeclaration(
  windows: readonly DeclaredWindow[],
  recorded: readonly WindowRecord[],
  nowMs: number,
  rules: typeof WINDOW_RULES = WINDOW_RULES,
): FieldError[] {
  const errors: FieldError[] = [];
  const started = recorded.filter((w) => w.startMs <= nowMs);
  const upcoming = recorded.filter((w) => w.startMs > nowMs);
  const f = (i: number, k?: string) => `body.windows.${i}${k ? `.${k}` : ''}`;
  if (windows.length > rules.maxUpcoming) errors.push({ field: 'body.windows', message: `at most ${rules.maxUpcoming} upcoming windows` });
  windows.forEach((w, i) => {
    const kept = upcoming.some((u) => u.startMs === w.startMs && u.endMs === w.endMs);
    if (!kept && w.startMs < nowMs + rules.minNoticeMs) {
      errors.push({
        field: f(i, 'start'),
        message: `must be at least ${rules.minNoticeMs / 60_000} minutes in the future (now ${isoOf(nowMs)}): maintenance is declared in advance; a window declared after it started excuses nothing`,
      });
    }
    if (w.startMs > nowMs + rules.horizonMs) errors.push({ field: f(i, 'start'), message: `must be within ${rules.horizonMs / 86_400_000} days` });
    if (w.endMs <= w.startMs) errors.push({ field: f(i, 'end'), message: 'must be after start' });
    else if (w.endMs - w.startMs < rules.minLengthMs) errors.push({ field: f(i, 'end'), message: `a window lasts at least ${rules.minLengthMs / 60_000} minute` });
    else if (w.endMs - w.startMs > rules.maxLengthMs) errors.push({ field: f(i, 'end'), message: `a window lasts at most ${hours(rules.maxLengthMs)} (this one ${hours(w.endMs - w.startMs)})` });
  });
  if (errors.length > 0) return errors;
  const all = [...started.map((w) => ({ ...w, i: -1 })), ...windows.map((w, i) => ({ ...w, i }))].sort((a, b) => a.startMs - b.startMs);
  // each window against the one reaching furthest among those before it
  for (let k = 1, reach = all[0]; k < all.length; k++) {
    const a = reach!;
    const b = all[k]!;
    if (b.endMs > a.endMs) reach = b;
    if (b.startMs < a.endMs && (a.i >= 0 || b.i >= 0)) {
      const i = b.i >= 0 ? b.i : a.i;
      const other = b.i >= 0 ? a : b;
      errors.push({
        field: f(i),
        message: `overlaps ${other.i >= 0 ? `windows.${other.i}` : 'a window that has started'} (${isoOf(other.startMs)} to ${isoOf(other.endMs)})`,
      });
    }
  }
  const weeks = new Map<number, { ms: number; first: number }>();
  for (const w of all) {
    const wk = weekStartMs(w.startMs);
    const e = weeks.get(wk) ?? { ms: 0, first: -1 };
    e.ms += w.endMs - w.startMs;
    if (e.first < 0 && w.i >= 0) e.first = w.i;
    weeks.set(wk, e);
  }
  for (const [wk, e] of weeks) {
    if (e.ms > rules.maxPerWeekMs && e.first >= 0) {
      errors.push({
        field: f(e.first),
        message: `maintenance starting in the week of ${isoOf(wk).slice(0, 10)} would total ${hours(e.ms)}; at most ${hours(rules.maxPerWeekMs)} a week`,
      });
    }
  }
  return errors;
}

/** The method, in words, written into every availability answer. */
export function methodText(slotSeconds: number): string {
  return (
    `Time is cut into ${slotSeconds}-second slots (HEARTBEAT_INTERVAL_SECONDS), aligned to the Unix epoch. A slot in which the agent sent at ` +
    `least one heartbeat (POST /v1/agents/{id}/heartbeat, or an open GET /v1/stream) counts as up; any other slot counts as down. ` +
    `Counting starts at the agent's first heartbeat and ends at the start of the current slot. Downtime inside a maintenance window ` +
    `declared at least ${WINDOW_RULES.minNoticeMs / 60_000} minutes in advance is excused: it counts neither as up nor as down. ` +
    'uptime = up / (up + down); maintenanceCompliance = excused / (excused + down), 1 without downtime. Send a heartbeat every half slot ' +
    'so that network delays never leave a slot empty. Once a day, each agent\'s uptime and maintenance compliance of the previous UTC day ' +
    '(when at least an hour of it was counted) become reliability evidence of kinds uptime and maintenance in its reputation.'
  );
}
