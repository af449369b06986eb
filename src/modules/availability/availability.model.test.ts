import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCK_BYTES, SLOTS_PER_BLOCK, WINDOW_RULES, checkDeclaration, firstBeatMs, periodStats, slotOf, weekStartMs, type HeartbeatBlock } from './availability.model.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 1); // a block boundary at 60 s slots (a UTC day)

function blockWith(slotSeconds: number, beatsAt: number[], degradedAt: number[] = []): HeartbeatBlock[] {
  const blocks = new Map<number, HeartbeatBlock>();
  const set = (ms: number, field: 'beats' | 'degraded') => {
    const s = slotOf(ms, slotSeconds);
    let b = blocks.get(s.blockStartMs);
    if (!b) blocks.set(s.blockStartMs, (b = { slotSeconds, startMs: s.blockStartMs, beats: new Uint8Array(BLOCK_BYTES), degraded: new Uint8Array(BLOCK_BYTES) }));
    b[field][s.bit >> 3]! |= 1 << (s.bit & 7);
  };
  for (const ms of beatsAt) set(ms, 'beats');
  for (const ms of degradedAt) set(ms, 'degraded');
  return [...blocks.values()];
}

describe('slots', () => {
  it('place a heartbeat in its aligned slot and block', () => {
    const s = slotOf(T0 + 90_500, 60);
    expect(s).toMatchObject({ bit: 1, blockStartMs: T0, blockEndMs: T0 + SLOTS_PER_BLOCK * MIN, slotStartMs: T0 + MIN, slotEndMs: T0 + 2 * MIN });
    expect(slotOf(T0 - 1, 60).bit).toBe(SLOTS_PER_BLOCK - 1);
  });

  it('weeks start on Monday 00:00 UTC', () => {
    expect(new Date(weekStartMs(Date.UTC(2026, 10, 1, 12))).toISOString()).toBe('2026-10-26T00:00:00.000Z');
    expect(new Date(weekStartMs(Date.UTC(2026, 10, 2))).toISOString()).toBe('2026-11-02T00:00:00.000Z');
  });
});

describe('periodStats', () => {
  it('up + down + excused is the counted time, from the first heartbeat; excused only from windows declared in advance', () => {
    const beats = [0, 1, 2, 3, 10, 11].map((m) => T0 + m * MIN + 5_000);
    const blocks = blockWith(60, beats);
    const first = firstBeatMs(blocks);
    expect(first).toBe(T0);
    const windows = [
      { startMs: T0 + 4 * MIN, endMs: T0 + 6 * MIN, declaredAtMs: T0 - HOUR }, // in advance
      { startMs: T0 + 6 * MIN, endMs: T0 + 8 * MIN, declaredAtMs: T0 + 6 * MIN - 1 }, // a millisecond ahead: too late
    ];
    const s = periodStats({ blocks, windows, firstBeatMs: first, fromMs: T0 - HOUR, untilMs: T0 + 12 * MIN });
    expect(s).toMatchObject({ countedFromMs: T0, upMs: 6 * MIN, excusedMs: 2 * MIN, downMs: 4 * MIN, outages: 1 });
    expect(s.uptime).toBeCloseTo(0.6);
    expect(s.maintenanceCompliance).toBeCloseTo(2 / 6);
  });

  it('degraded time is part of up time; blocks of two slot lengths (a configuration change) are united', () => {
    const a = blockWith(60, [T0, T0 + MIN], [T0 + MIN]);
    const b = blockWith(30, [T0 + 30_000, T0 + 2 * MIN]);
    const s = periodStats({ blocks: [...a, ...b], windows: [], firstBeatMs: T0, fromMs: T0, untilMs: T0 + 3 * MIN });
    expect(s).toMatchObject({ upMs: 2.5 * MIN, degradedMs: MIN, downMs: 0.5 * MIN });
  });

  it('property: the parts always add up to the counted time and uptime stays in [0, 1]', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 24 * 60 - 1 }), { maxLength: 200 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 300 }), fc.boolean()), { maxLength: 5 }),
      fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }),
      (minutes, ws, fromMin, lenMin) => {
        const blocks = blockWith(60, minutes.map((m) => T0 + m * MIN));
        const windows = ws.map(([s, l, early]) => ({ startMs: T0 + s * MIN, endMs: T0 + (s + l) * MIN, declaredAtMs: T0 + s * MIN - (early ? HOUR : MIN) }));
        const from = T0 + fromMin * MIN;
        const until = Math.min(T0 + 1440 * MIN, from + lenMin * MIN);
        const s = periodStats({ blocks, windows, firstBeatMs: firstBeatMs(blocks), fromMs: from, untilMs: until });
        if (s.countedFromMs === null) return s.upMs === 0 && s.uptime === null;
        const counted = until - s.countedFromMs;
        const upInRange = minutes.filter((m) => T0 + m * MIN >= s.countedFromMs! && T0 + m * MIN < until).length * MIN;
        return s.upMs + s.downMs + s.excusedMs === counted && s.upMs === upInRange
          && (s.uptime === null || (s.uptime >= 0 && s.uptime <= 1)) && s.maintenanceCompliance! >= 0 && s.maintenanceCompliance! <= 1;
      },
    ));
  });
});

describe('checkDeclaration', () => {
  const now = T0;
  const w = (startH: number, endH: number) => ({ startMs: now + startH * HOUR, endMs: now + endH * HOUR });

  it('accepts windows that follow the rules', () => {
    expect(checkDeclaration([w(1, 2), w(30, 31)], [], now)).toEqual([]);
  });

  it('names each broken rule by field', () => {
    const fields = (ws: ReturnType<typeof w>[], rec: Parameters<typeof checkDeclaration>[1] = []) => checkDeclaration(ws, rec, now).map((e) => e.field);
    expect(fields([{ startMs: now + 10 * MIN, endMs: now + HOUR }])).toEqual(['body.windows.0.start']);
    expect(fields([w(2, 1)])).toEqual(['body.windows.0.end']);
    expect(fields([w(1, 14)])).toEqual(['body.windows.0.end']);
    expect(fields([w(24 * 91, 24 * 91 + 1)])).toEqual(['body.windows.0.start']);
    // overlaps are found even when the windows between do not overlap
    expect(fields([w(1, 10), w(2, 3), w(4, 5)])).toEqual(['body.windows.1', 'body.windows.2']);
    // a window that has started counts for overlaps and for the week's total
    const started = [{ startMs: now - HOUR, endMs: now + 2 * HOUR, declaredAtMs: now - 2 * HOUR }];
    expect(fields([w(1, 3)], started)).toEqual(['body.windows.0']);
    expect(fields([w(3, 13)], [{ startMs: now - 3 * HOUR, endMs: now - HOUR, declaredAtMs: now - 4 * HOUR }])).toEqual([]);
    expect(fields([w(3, 14)], [{ startMs: now - 3 * HOUR, endMs: now - HOUR, declaredAtMs: now - 4 * HOUR }])).toEqual(['body.windows.0']);
    expect(fields([w(30, 40), w(41, 44)])).toEqual(['body.windows.0']);
    expect(fields(Array.from({ length: WINDOW_RULES.maxUpcoming + 1 }, (_x, i) => w(i + 1, i + 1.5)))).toEqual(['body.windows']);
  });

  it('an upcoming window sent again unchanged is not held to the notice again', () => {
    const rec = [{ startMs: now + 5 * MIN, endMs: now + HOUR, declaredAtMs: now - HOUR }];
    expect(checkDeclaration([{ startMs: now + 5 * MIN, endMs: now + HOUR }], rec, now)).toEqual([]);
    expect(checkDeclaration([{ startMs: now + 5 * MIN, endMs: now + 2 * HOUR }], rec, now).map((e) => e.field)).toEqual(['body.windows.0.start']);
  });
});
