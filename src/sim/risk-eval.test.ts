import { describe, expect, it } from 'vitest';
import { DEFAULT_EVAL, evaluateDetectors } from './risk-eval.js';

describe('risk detectors on the synthetic market (src/sim/risk-eval.ts)', () => {
  it.each([1, 2, 3])('seed %i: wash and spoofing rings found with precision and recall >= 90 %%, honest FPR <= 1 %%, within a day; the outage warns, quiet cells do not', (seed) => {
    const r = evaluateDetectors({ ...DEFAULT_EVAL, seed });
    for (const d of ['wash', 'spoofing']) {
      const s = r.scores.find((x) => x.detector === d)!;
      expect(s.recall, d).toBeGreaterThanOrEqual(0.9);
      expect(s.precision, d).toBeGreaterThanOrEqual(0.9);
      expect(s.fpr, d).toBeLessThanOrEqual(0.01);
      expect(s.maxHoursToDetect!, d).toBeLessThanOrEqual(24);
    }
    expect(r.scores.find((x) => x.detector === 'sybil')!.honestFlagged).toBe(0);
    expect(r.volatility.warnedAfterHours).not.toBeNull();
    expect(r.volatility.warnedAfterHours!).toBeLessThanOrEqual(24);
    expect(r.volatility.otherCellsWarned).toBe(0);
  }, 60_000);
});
