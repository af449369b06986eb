/** The market simulator: a small fast scenario end to end, determinism, and the books after it. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { simulate } from '../src/sim/run.js';

const freePort = () => new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  });
});

const db = process.env.TEST_DATABASE_URL ?? 'embedded';

describe('simulate', () => {
  it('runs a small market through the real engine, deterministically, with the ledger balanced', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-sim-'));
    try {
      const opts = { agents: 60, days: 2, scenario: 'manipulation', seed: 7, db, quiet: true, requestsPerBuyerDay: 1 };
      let lastProgress: { agreements: number; settled: number; requests: number; final?: boolean } | undefined;
      const a = await simulate({ ...opts, out: path.join(dir, 'a'), onProgress: (p) => { lastProgress = p; } });
      const b = await simulate({ ...opts, out: path.join(dir, 'b') });
      const m = a.report.outcome.market;
      expect(m.requests).toBeGreaterThan(20);
      expect(m.trades).toBeGreaterThan(10);
      expect(m.matchRate).toBeGreaterThan(0.5);
      expect(a.report.outcome.ledger).toEqual({ ok: true, violations: [] });
      expect(a.report.timings.errorCount).toBe(0);
      expect(b.report.outcome).toEqual(a.report.outcome);
      // the last progress line counts what the report counts: after the open trades settled
      expect(lastProgress).toMatchObject({ final: true, agreements: m.agreements, settled: m.trades, requests: m.requests });
      expect(m.agreements).toBe(m.trades);
      // active agents are counted, not echoed: in two days some of the 60 never trade or ask
      expect(m.registeredAgents).toBeGreaterThanOrEqual(60);
      expect(m.activeAgents).toBeGreaterThan(0);
      expect(m.activeAgents).toBeLessThan(m.registeredAgents);
      const success = a.report.success;
      expect(success.find((x) => x.name === 'Active agents')).toMatchObject({ value: m.activeAgents, target: '>= 5,000', met: false });
      // a two-day run cannot measure monthly retention, nor new agents a week
      expect(success.find((x) => x.name === 'Monthly agent retention')).toMatchObject({ value: null, met: null, reason: expect.stringMatching(/60 days/) });
      expect(m.retention).toBeNull();
      expect(success.map((x) => x.name)).toEqual(expect.arrayContaining([
        'Active agents', 'New agent registrations', 'Monthly agent retention', 'Countries with active agents',
        'Daily transactions (completed market trades, mean per day)', 'Daily volume (completed market trades, mean per day)',
        'Agent-to-agent share of volume', 'Cross-border share of volume', 'Price spread across regions', 'Requests matched',
        'Settlement p99 (real time)', 'API response p99',
      ]));
      for (const x of success) if (x.met === null) expect(x.reason).toMatch(/\w{5}/);
      // two days of 60 agents: too few trades per region to compare prices, which the report says
      const spread = success.find((x) => x.name === 'Price spread across regions')!;
      if (m.priceSpread.max === null) expect(spread).toMatchObject({ value: null, met: null, reason: expect.stringMatching(/two regions/) });
      // the attackers joined (on day 1 of 2) and every routed job is accounted to a kind of provider
      expect(Object.keys(m.byKind)).toEqual(expect.arrayContaining(['honest', 'spoofer', 'wash', 'whitewasher']));
      expect(Object.values(m.byKind).reduce((s, k) => s + k.jobShare, 0)).toBeCloseTo(1, 9);
      // the control run is the same market without the attackers: no job can go to one, and its books balance
      const control = a.report.outcome.control!;
      expect(control.maliciousShare === 0 || Number.isNaN(control.maliciousShare)).toBe(true);
      expect(control.ledger).toEqual({ ok: true, violations: [] });
      expect(a.report.attack!.map((x) => x.name)).toEqual([
        'Jobs routed to malicious providers', 'Attack rings\' median trust minus honest providers\' median',
        'Honest ranking vs the same market without attackers (Spearman, trust vs true quality, difference)',
      ]);
      expect(a.report.attack![0]!.value).toBeCloseTo(m.maliciousShare * 100, 9);
      // the built-in verifier is the market's probe: it challenged sellers within its budget, and the report says so
      const v = a.report.outcome.verifier;
      expect(v.used).toBe(true);
      expect(v.challenges.passed + v.challenges.failed).toBeGreaterThan(0);
      expect(v.answered).toBeGreaterThan(0);
      expect(v.spent).toBeGreaterThan(0);
      expect(v.spent + v.held).toBeLessThanOrEqual(v.dailyBudget * (opts.days + 1));
      expect(v.balance).toBeCloseTo(v.funded - v.spent, 6);
      // the service's own market data agree with the simulator's log (and the verifier's trades), to the base unit
      const checks = a.report.outcome.checks;
      expect(checks.marketData.rows[0]!.scope).toBe('run');
      expect(checks.marketData.rows[0]!.log.trades).toBeGreaterThan(10);
      expect(checks.marketData.rows.filter((r) => !r.equal)).toEqual([]);
      expect(checks.marketData.allEqual).toBe(true);
      expect(checks.marketData.rows.some((r) => r.scope.startsWith('day '))).toBe(true);
      // the risk detectors are scored against the attackers the scenario injected
      const wash = checks.risk.scores.find((x) => x.detector === 'wash')!;
      expect(wash.targets).toEqual(['wash', 'sybil_rater']);
      expect(wash.truePositives + wash.falseNegatives).toBeGreaterThan(0);
      expect(wash.honestAgents).toBeGreaterThan(40);
      // rewards: daily epochs closed and paid through the ledger (the audit above passed)
      expect(checks.rewards.epochs.closed).toBeGreaterThanOrEqual(1);
      expect(checks.rewards.byKind.map((k) => k.kind)).toContain('buyer');
      expect(checks.certification).toMatchObject({ notRun: expect.stringMatching(/--certification/) });
      expect(a.report.timings.breakdown.routes.length).toBeGreaterThan(5);
      const c = await simulate({ ...opts, seed: 8, out: path.join(dir, 'c') });
      expect(c.report.outcome.market).not.toEqual(a.report.outcome.market);
      const html = readFileSync(a.files.html, 'utf8');
      expect(html).toContain('Simulation report: manipulation');
      expect(html).toContain("Attackers: the reputation benchmark's targets on this market");
      expect(html).toContain('The built-in verifier');
      expect(html).toContain('The service against what the simulation knows');
      expect(html).toMatch(/market data: the trade log .* identical/);
      expect(JSON.parse(readFileSync(a.files.json, 'utf8')).outcome.seed).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('runs the rewards scenario with certification: keys proven, heartbeats sent, no attacker certified or earning back its fees', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-sim-cert-'));
    try {
      const out = await simulate({ agents: 80, days: 3, scenario: 'rewards', seed: 5, db, quiet: true, requestsPerBuyerDay: 1, control: false, certification: true, out: dir });
      const { checks, ledger } = out.report.outcome;
      expect(ledger).toEqual({ ok: true, violations: [] });
      expect(out.report.timings.errorCount).toBe(0);
      expect(checks.marketData.allEqual).toBe(true);
      const cert = checks.certification;
      if ('notRun' in cert) throw new Error('certification did not run');
      expect(cert.activity.identityProofs).toBeGreaterThanOrEqual(24);
      expect(cert.activity.heartbeats).toBeGreaterThan(24 * 20);
      expect(cert.activity.applications).toBeGreaterThan(0);
      for (const n of Object.values(cert.attackersCertified)) expect(n).toBe(0);
      // every attacker kind that sold anything paid more in fees than it received in rewards; referral rings were paid nothing
      const attackers = checks.rewards.byKind.filter((k) => ['wash', 'sybil_rater', 'whitewasher', 'milker', 'spoofer'].includes(k.kind));
      expect(attackers.length).toBeGreaterThan(0);
      for (const k of attackers) {
        if (k.fees > 0) expect(k.rewardReturn!).toBeLessThan(0);
        expect(k.referralsPaid).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('drives a running server over HTTP with --target', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-sim-target-'));
    const port = await freePort();
    const adminKey = 'sim-target-admin-key-0123456789';
    const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_KEY: adminKey, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 600; i++) {
        const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const out = await simulate({
        agents: 30, days: 1, scenario: 'baseline', seed: 3, db: 'embedded', target: base, adminKey, out: path.join(dir, 'report'), quiet: true, requestsPerBuyerDay: 2,
      });
      expect(out.report.outcome.market.trades).toBeGreaterThan(5);
      expect(out.report.outcome.ledger).toEqual({ ok: true, violations: [] });
      expect(out.report.timings.errorCount).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
