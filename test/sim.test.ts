/** The market simulator: a small fast scenario end to end, determinism, and the books after it. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simulate } from '../src/sim/run.js';

const db = process.env.TEST_DATABASE_URL ?? 'embedded';

describe('simulate', () => {
  it('runs a small market through the real engine, deterministically, with the ledger balanced', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-sim-'));
    try {
      const opts = { agents: 60, days: 2, scenario: 'manipulation', seed: 7, db, quiet: true, requestsPerBuyerDay: 1 };
      const a = await simulate({ ...opts, out: path.join(dir, 'a') });
      const b = await simulate({ ...opts, out: path.join(dir, 'b') });
      const m = a.report.outcome.market;
      expect(m.requests).toBeGreaterThan(20);
      expect(m.trades).toBeGreaterThan(10);
      expect(m.matchRate).toBeGreaterThan(0.5);
      expect(a.report.outcome.ledger).toEqual({ ok: true, violations: [] });
      expect(a.report.timings.errorCount).toBe(0);
      expect(b.report.outcome).toEqual(a.report.outcome);
      const c = await simulate({ ...opts, seed: 8, out: path.join(dir, 'c') });
      expect(c.report.outcome.market).not.toEqual(a.report.outcome.market);
      const html = readFileSync(a.files.html, 'utf8');
      expect(html).toContain('Simulation report: manipulation');
      expect(JSON.parse(readFileSync(a.files.json, 'utf8')).outcome.seed).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
