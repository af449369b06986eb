/**
 * Badge rules (pure): folds over an agent's record as a seller (settled trades from the evidence log, their
 * disputes) and the verifier's verdicts, each badge with the moment it was earned and what earned it.
 * The same record always gives the same badges (recomputable from scratch); a badge once earned is kept.
 */
export interface BadgeTrade {
  tradeId: string;
  atMs: number;
  success: boolean;
  /** gross amount paid, base units */
  amount: bigint;
  disputed: boolean;
}

export interface BadgeRecord {
  nowMs: number;
  /** oldest first */
  trades: readonly BadgeTrade[];
  /** finish times of verifier challenges passed, oldest first */
  challengesPassed: readonly number[];
}

export interface EarnedBadge {
  badge: string;
  title: string;
  earnedAtMs: number;
  /** what earned it, in words and facts */
  because: string;
  evidence: Record<string, unknown>;
}

const DAY = 86_400_000;
const UNIT = 100_000_000n;

/** The badge catalogue: one place for every rule's threshold. */
export const BADGE_RULES = {
  jobs: [1, 50, 100, 500] as const,
  /** AITBC earned (gross of successful trades) */
  earnings: [100, 1_000, 10_000] as const,
  /** consecutive UTC days with a successful sale */
  streakDays: [7, 30] as const,
  challenges: [1, 10] as const,
  /** days without a disputed trade, with at least `disputeFreeMinTrades` successful trades in them */
  disputeFreeDays: [30, 90] as const,
  disputeFreeMinTrades: 5,
};

export function badgesOf(r: BadgeRecord): EarnedBadge[] {
  const out: EarnedBadge[] = [];
  const ok = r.trades.filter((t) => t.success && t.atMs <= r.nowMs);
  for (const n of BADGE_RULES.jobs) {
    const t = ok[n - 1];
    if (!t) continue;
    out.push({
      badge: n === 1 ? 'first_trade' : `jobs_${n}`, title: n === 1 ? 'First trade' : `${n} jobs`, earnedAtMs: t.atMs,
      because: n === 1 ? `first successful sale (trade ${t.tradeId})` : `${n}th successful sale (trade ${t.tradeId})`, evidence: { count: n, tradeId: t.tradeId },
    });
  }
  let sum = 0n;
  const earned = new Set<number>();
  for (const t of ok) {
    sum += t.amount;
    for (const a of BADGE_RULES.earnings) {
      if (!earned.has(a) && sum >= BigInt(a) * UNIT) {
        earned.add(a);
        out.push({ badge: `earnings_${a}`, title: `${a} AITBC earned`, earnedAtMs: t.atMs, because: `sales reached ${a} AITBC with trade ${t.tradeId}`, evidence: { thresholdAitbc: a, tradeId: t.tradeId } });
      }
    }
  }
  // streaks of consecutive UTC days with a successful sale
  const days = [...new Set(ok.map((t) => Math.floor(t.atMs / DAY)))].sort((a, b) => a - b);
  const streakDone = new Set<number>();
  let run = 0;
  for (let i = 0; i < days.length; i++) {
    run = i > 0 && days[i] === days[i - 1]! + 1 ? run + 1 : 1;
    for (const n of BADGE_RULES.streakDays) {
      if (!streakDone.has(n) && run >= n) {
        streakDone.add(n);
        const endDay = days[i]!;
        const last = ok.find((t) => Math.floor(t.atMs / DAY) === endDay)!;
        out.push({
          badge: `streak_${n}d`, title: `${n}-day streak`, earnedAtMs: last.atMs,
          because: `a successful sale on each of ${n} consecutive days, ${new Date((endDay - n + 1) * DAY).toISOString().slice(0, 10)} to ${new Date(endDay * DAY).toISOString().slice(0, 10)}`,
          evidence: { days: n, from: new Date((endDay - n + 1) * DAY).toISOString().slice(0, 10), to: new Date(endDay * DAY).toISOString().slice(0, 10) },
        });
      }
    }
  }
  for (const n of BADGE_RULES.challenges) {
    const at = r.challengesPassed[n - 1];
    if (at === undefined || at > r.nowMs) continue;
    out.push({ badge: `verifier_passed_${n}`, title: n === 1 ? 'Verified by challenge' : `${n} challenges passed`, earnedAtMs: at, because: `${n} challenge job(s) of the platform's verifier passed`, evidence: { passed: n } });
  }
  // dispute-free periods: the first stretch of N days, starting at the first sale or after a disputed trade, with no dispute in it
  const all = r.trades.filter((t) => t.atMs <= r.nowMs);
  for (const n of BADGE_RULES.disputeFreeDays) {
    let start = all[0]?.atMs;
    if (start === undefined) continue;
    let found: EarnedBadge | null = null;
    const disputes = all.filter((t) => t.disputed).map((t) => t.atMs);
    for (const d of [...disputes, Infinity]) {
      const end = start + n * DAY;
      if (end <= d && end <= r.nowMs) {
        const inside = ok.filter((t) => t.atMs >= start! && t.atMs < end).length;
        if (inside >= BADGE_RULES.disputeFreeMinTrades) {
          found = { badge: `dispute_free_${n}d`, title: `${n} days dispute-free`, earnedAtMs: end, because: `${n} days with ${inside} successful sales and no dispute`, evidence: { days: n, from: new Date(start).toISOString(), trades: inside } };
          break;
        }
      }
      if (d === Infinity) break;
      start = Math.max(start, d + 1);
    }
    if (found) out.push(found);
  }
  return out.sort((a, b) => a.earnedAtMs - b.earnedAtMs || (a.badge < b.badge ? -1 : 1));
}
