import { describe, expect, it } from 'vitest';
import { badgesOf, type BadgeTrade } from './badges.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 12);
const AITBC = 100_000_000n;
const trade = (i: number, atMs: number, o: Partial<BadgeTrade> = {}): BadgeTrade => ({ tradeId: `t${i}`, atMs, success: true, amount: 10n * AITBC, disputed: false, ...o });
const names = (b: { badge: string }[]) => b.map((x) => x.badge);

describe('badges', () => {
  it('nothing for an empty record', () => {
    expect(badgesOf({ nowMs: T0, trades: [], challengesPassed: [] })).toEqual([]);
  });

  it('first trade, 50 / 100 jobs and earnings milestones at the trade that reached them; failed trades do not count', () => {
    const trades = Array.from({ length: 120 }, (_, i) => trade(i, T0 + i * 3600_000, { success: i % 10 !== 9 }));
    const b = badgesOf({ nowMs: T0 + 200 * DAY, trades, challengesPassed: [] });
    const by = new Map(b.map((x) => [x.badge, x]));
    expect(by.get('first_trade')).toMatchObject({ earnedAtMs: T0, evidence: { tradeId: 't0' } });
    // the 50th success is trade index 54 (indexes 9, 19, 29, 39 and 49 failed)
    expect(by.get('jobs_50')).toMatchObject({ earnedAtMs: T0 + 54 * 3600_000, evidence: { tradeId: 't54' } });
    expect(by.get('jobs_100')?.evidence).toEqual({ count: 100, tradeId: 't110' });
    expect(by.has('jobs_500')).toBe(false);
    // 10 AITBC each: 100 AITBC at the 10th success (t10), 1000 at the 100th
    expect(by.get('earnings_100')?.evidence).toEqual({ thresholdAitbc: 100, tradeId: 't10' });
    expect(by.get('earnings_1000')?.evidence).toEqual({ thresholdAitbc: 1000, tradeId: 't110' });
    expect(by.has('earnings_10000')).toBe(false);
  });

  it('a 7-day streak needs seven consecutive days; a gap starts again', () => {
    const days = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10];
    const b = badgesOf({ nowMs: T0 + 20 * DAY, trades: days.map((d, i) => trade(i, T0 + d * DAY)), challengesPassed: [] });
    const s = b.find((x) => x.badge === 'streak_7d');
    expect(s?.earnedAtMs).toBe(T0 + 10 * DAY);
    expect(s?.evidence).toEqual({ days: 7, from: '2026-01-05', to: '2026-01-11' });
    expect(names(badgesOf({ nowMs: T0 + 20 * DAY, trades: [0, 1, 2, 3, 4, 5].map((d, i) => trade(i, T0 + d * DAY)), challengesPassed: [] }))).not.toContain('streak_7d');
  });

  it('verifier challenges passed', () => {
    const b = badgesOf({ nowMs: T0 + DAY, trades: [], challengesPassed: [T0, T0 + 1000] });
    expect(names(b)).toEqual(['verifier_passed_1']);
    expect(b[0]!.earnedAtMs).toBe(T0);
  });

  it('a dispute-free period restarts after a dispute and needs enough trades', () => {
    const trades = [
      ...Array.from({ length: 10 }, (_, i) => trade(i, T0 + i * DAY)),
      trade(99, T0 + 12 * DAY, { disputed: true, success: false }),
      ...Array.from({ length: 10 }, (_, i) => trade(100 + i, T0 + (13 + i * 2) * DAY)),
    ];
    const b = badgesOf({ nowMs: T0 + 60 * DAY, trades, challengesPassed: [] });
    const d = b.find((x) => x.badge === 'dispute_free_30d');
    expect(d?.earnedAtMs).toBe(T0 + 12 * DAY + 1 + 30 * DAY);
    expect(names(b)).not.toContain('dispute_free_90d');
    // before the 30 days are over: not yet
    expect(names(badgesOf({ nowMs: T0 + 40 * DAY, trades, challengesPassed: [] }))).not.toContain('dispute_free_30d');
  });

  it('is a pure fold: the same record gives the same badges', () => {
    const rec = { nowMs: T0 + 100 * DAY, trades: Array.from({ length: 60 }, (_, i) => trade(i, T0 + i * DAY)), challengesPassed: [T0] };
    expect(badgesOf(rec)).toEqual(badgesOf(structuredClone(rec)));
  });
});
