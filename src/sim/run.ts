/**
 * `agent-economy simulate`: sets up the market (in-process over a fresh database with a virtual clock,
 * or a running server over HTTP), runs the simulation, and writes report.json and report.html.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { ManualClock } from '../platform/clock.js';
import { createDatabase, type Database } from '../database.js';
import { migrateToLatest } from '../platform/db/migrate.js';
import { createLogger } from '../platform/logger.js';
import { attackChecks, computeMetrics, successMetrics, type MarketMetrics, type SuccessMetric } from './metrics.js';
import { renderHtml, type SimReport } from './report-html.js';
import { runSimulation, type SimChecks, type SimProgress, type SimVerifierRecord } from './driver.js';
import { scenario as scenarioNamed, type Scenario } from './scenarios.js';
import { HttpTransport, InjectTransport, type Transport } from './transport.js';
import { quantile } from './stats.js';
import { checkLines } from './checks.js';

export interface SimulateOptions {
  agents: number;
  days: number;
  scenario: string;
  seed: number;
  /** 'embedded' (in-memory PGlite) or a PostgreSQL URL (a fresh schema is created in it). */
  db: string;
  target?: string;
  adminKey?: string;
  out: string;
  requestsPerBuyerDay?: number;
  quiet?: boolean;
  /** With a scenario's attackers, also run the same market without them (default true; in process only). */
  control?: boolean;
  /**
   * Certification on: providers register keys, prove them, send hourly heartbeats (the availability slot is one
   * simulated hour in process) and apply weekly; buyers report measurements. Costs one call per provider per hour.
   */
  certification?: boolean;
  /** Called with each progress step of the main run (the last one, `final`, carries the report's counts). */
  onProgress?: (p: SimProgress) => void;
}

/** The same seed and market with the attackers never arriving. */
export interface ControlOutcome {
  honestTrustQualitySpearman: number;
  maliciousShare: number;
  ledger: { ok: boolean; violations: string[] };
}

export interface SimulationReport {
  outcome: {
    scenario: string;
    seed: number;
    /** Agents registered (`--agents`); how many were active is `market.activeAgents`. */
    agents: number;
    days: number;
    /** Every amount in the report (volumes, prices) is in AITBC, not base units. */
    amountUnit: 'AITBC';
    market: Omit<MarketMetrics, 'settlementMs'>;
    /** Day the attackers joined (0: present from the start); the malicious share counts from it. */
    attackersFromDay: number;
    trustVsQuality: Array<[number, number]>;
    ledger: { ok: boolean; violations: string[] };
    /** The built-in verifier (the market's only probe agent): budget, spend, challenges passed and failed. */
    verifier: SimVerifierRecord;
    /** With attackers: the control run (same market, no attackers), or null when not run. */
    control?: ControlOutcome | null;
    /** The service's market data, risk alerts, rewards and certificates against what the simulation knows. */
    checks: SimChecks;
  };
  timings: Record<string, unknown> & { wallSeconds: number; apiP99Ms: number; settlementMs: MarketMetrics['settlementMs']; breakdown: TimeBreakdown };
  success: SuccessMetric[];
  /** With attackers: the reputation benchmark's targets measured on this market. */
  attack?: SuccessMetric[];
}

export interface SimulateOutput {
  report: SimulationReport;
  files: { json: string; html: string };
}

/** Where a run's wall time went: API calls (per route), background jobs (per job), and the simulator's own share. */
export interface TimeBreakdown {
  apiSeconds: number;
  jobSeconds: number;
  simulatorSeconds: number;
  jobs: Record<string, number>;
  routes: Array<{ route: string; calls: number; seconds: number; meanMs: number }>;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

const SETTLE_BUCKETS = [5, 10, 20, 50, 100, 200, 500, 1000, 5000, 30000];

/**
 * Heap growth from the end of warm-up (the first 20% of days, at least one) to the end, as a share of the
 * warm-up level: 0.05 = 5% more heap at the end than after warm-up. Null for runs too short to tell.
 */
export function memoryGrowth(samples: ReadonlyArray<{ day: number; heapMB: number }>): number | null {
  if (samples.length < 3) return null;
  // Medians of windows, so one sample taken just before a collection does not decide the verdict.
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const warm = Math.max(1, Math.floor(samples.length * 0.2));
  const width = Math.max(1, Math.floor(samples.length * 0.1));
  const base = med(samples.slice(warm, warm + width).map((s) => s.heapMB));
  const end = med(samples.slice(-width).map((s) => s.heapMB));
  return base > 0 ? (end - base) / base : null;
}

/** A full garbage collection (V8's gc, exposed at run time; a no-op where that is not possible). */
function collectGarbage(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    /* not available: sample as is */
  }
}

/** One run of the market: sets up its environment (a fresh database, or the target server), runs, cleans up. */
async function runOnce(o: SimulateOptions, scenario: Scenario, adminKey: string, started: number, withoutAttackers: boolean) {
  let api: Transport;
  let advance: ((ms: number) => Promise<void>) | undefined;
  let tick: ((ms: number) => void) | undefined;
  let now: () => Date = () => new Date();
  let cleanup = async () => undefined as unknown;
  /** Wall milliseconds spent in each background job (in-process runs): the engine's share beside the API calls. */
  const jobMs: Record<string, number> = {};

  if (o.target) {
    api = new HttpTransport(o.target);
  } else {
    const schema = `sim_${o.seed}_${process.pid}`;
    let database: Database;
    if (o.db === 'embedded') {
      database = await createDatabase({});
    } else {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: o.db });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
      await c.end();
      const url = new URL(o.db);
      url.searchParams.set('options', `-c search_path=${schema}`);
      database = await createDatabase({ url: url.toString(), poolSize: 4 });
    }
    await migrateToLatest(database.db);
    const clock = new ManualClock(Date.UTC(2026, 0, 1), { seed: o.seed });
    const config = loadConfig({ ADMIN_KEY: adminKey, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0', ...(o.certification ? { HEARTBEAT_INTERVAL_SECONDS: '3600' } : {}) });
    const app = await buildApp({ config, database, clock, logger: createLogger('silent'), adminKey });
    await app.ready();
    api = new InjectTransport(app);
    now = () => clock.now();
    tick = (ms) => clock.advance(ms);
    advance = async (ms) => {
      clock.advance(ms);
      for (const job of app.services.jobs) {
        const t0 = performance.now();
        await job.run();
        jobMs[job.name] = (jobMs[job.name] ?? 0) + performance.now() - t0;
      }
    };
    cleanup = async () => {
      await app.close();
      if (o.db !== 'embedded') {
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: o.db });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
      await database.close();
    };
  }

  let last = 0;
  const label = withoutAttackers ? 'control (no attackers) ' : '';
  const memory: Array<{ day: number; heapMB: number; rssMB: number }> = [];
  try {
    const result = await runSimulation(api, {
      agents: o.agents, days: o.days, seed: o.seed, scenario, adminKey, requestsPerBuyerDay: o.requestsPerBuyerDay, advance, tick, now, withoutAttackers, certification: o.certification === true,
      onProgress: (p) => {
        if (!withoutAttackers) o.onProgress?.(p);
        if (p.hour === 23 && !p.final) {
          // A full collection first, so the sample is live memory, not garbage awaiting collection.
          collectGarbage();
          const mu = process.memoryUsage();
          memory.push({ day: p.day, heapMB: Math.round(mu.heapUsed / 2 ** 20), rssMB: Math.round(mu.rss / 2 ** 20) });
        }
        if (o.quiet) return;
        const t = performance.now();
        if (t - last < 500 && !p.final) return;
        last = t;
        const secs = (t - started) / 1000;
        const done = (p.day * 24 + p.hour + 1) / (o.days * 24);
        const bar = '#'.repeat(Math.round(done * 30)).padEnd(30, '.');
        // Agreements funded so far, and trades settled (released, split, refunded or failed): the report's counts.
        const when = p.final ? 'open trades settled' : `${now().toISOString().slice(0, 13)}h`;
        process.stderr.write(`\r${label}[${bar}] day ${p.day + 1}/${o.days} ${when} | requests ${p.requests} | agreements ${p.agreements} | trades settled ${p.settled} | ${Math.round(p.calls / secs)} calls/s   `);
      },
    });
    return { result, api, memory, jobMs };
  } finally {
    if (!o.quiet) process.stderr.write('\n');
    await cleanup();
  }
}

export async function simulate(o: SimulateOptions): Promise<SimulateOutput> {
  const scenario = scenarioNamed(o.scenario);
  const started = performance.now();
  const adminKey = o.adminKey ?? 'sim-admin-key-0123456789abcdef';
  if (o.target && !o.adminKey) throw new Error('--target needs the server\'s operator key (ADMIN_KEY)');
  const { result, api, memory, jobMs } = await runOnce(o, scenario, adminKey, started, false);
  const wallSeconds = (performance.now() - started) / 1000;
  // With attackers, the same market without them (in process only: a target server keeps the first run's agents).
  const hasAttackers = (scenario.population?.maliciousShare ?? 0) > 0;
  let control: ControlOutcome | null = null;
  if (hasAttackers && o.control !== false && !o.target) {
    const c = await runOnce(o, scenario, adminKey, performance.now(), true);
    const cm = computeMetrics({ requests: c.result.requests, trades: c.result.trades, agents: c.result.agents, days: o.days, agreements: c.result.agreements });
    control = { honestTrustQualitySpearman: cm.honestTrustQualitySpearman, maliciousShare: cm.maliciousShare, ledger: c.result.ledger };
  }
  // Spread in the steady state: the last third of the run (at least its last week), after prices settle.
  const spreadFromDay = Math.max(0, o.days - Math.max(7, Math.ceil(o.days / 3)));
  const metrics = computeMetrics({ requests: result.requests, trades: result.trades, agents: result.agents, days: o.days, agreements: result.agreements, spreadFromDay, attackFromDay: result.attackersFromDay });
  const latencies = api.latencies;
  const apiP99 = quantile(latencies, 0.99);
  const providers = result.agents.filter((a) => a.role === 'provider' && a.trustScore !== undefined);
  const histogram = SETTLE_BUCKETS.map((le, i) => ({
    leMs: le, count: result.trades.filter((t) => t.settlementMs <= le && (i === 0 || t.settlementMs > SETTLE_BUCKETS[i - 1]!)).length,
  }));
  // Where the wall time went: API calls (the engine behind the routes), background jobs (the engine's own work
  // as virtual time passes) and the rest (the simulator itself: decisions, records, the report's metrics).
  const apiSeconds = latencies.reduce((a, b) => a + b, 0) / 1000;
  const jobSeconds = Object.values(jobMs).reduce((a, b) => a + b, 0) / 1000;
  const breakdown: TimeBreakdown = {
    apiSeconds: round1(apiSeconds), jobSeconds: round1(jobSeconds), simulatorSeconds: round1(wallSeconds - apiSeconds - jobSeconds),
    jobs: Object.fromEntries(Object.entries(jobMs).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round1(v / 1000)])),
    routes: [...api.byRoute].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15).map(([route, r]) => ({ route, calls: r.calls, seconds: round1(r.ms / 1000), meanMs: Math.round((r.ms / r.calls) * 100) / 100 })),
  };
  const controlSeconds = control ? (performance.now() - started) / 1000 - wallSeconds : null;
  const success = successMetrics(metrics, { apiP99Ms: apiP99, days: o.days });
  const { settlementMs, ...market } = metrics;
  const report: SimulationReport = {
    // Determined by the seed: the same command gives the same outcome.
    outcome: {
      scenario: scenario.name, seed: o.seed, agents: o.agents, days: o.days, amountUnit: 'AITBC', market, attackersFromDay: result.attackersFromDay,
      trustVsQuality: providers.map((p) => [p.trueQuality!, p.trustScore!] as [number, number]),
      ledger: result.ledger,
      verifier: result.verifier,
      ...(hasAttackers ? { control } : {}),
      checks: result.checks,
    },
    // Wall-clock measurements of this run: they vary from run to run.
    timings: {
      wallSeconds, breakdown, ...(control ? { controlWallSeconds: controlSeconds } : {}), apiCalls: latencies.length, apiP50Ms: quantile(latencies, 0.5), apiP99Ms: apiP99, settlementMs,
      settlementHistogram: histogram, statuses: api.statuses, memory, memoryGrowthAfterWarmup: memoryGrowth(memory), errorCount: result.errors.length, errors: result.errors.slice(0, 20),
    },
    success,
    ...(hasAttackers ? { attack: attackChecks(metrics, control) } : {}),
  };
  const htmlReport: SimReport = {
    scenario: scenario.name, seed: o.seed, agents: o.agents, days: o.days, wallSeconds, metrics, success, attackersFromDay: result.attackersFromDay,
    trustVsQuality: report.outcome.trustVsQuality, settlementHistogram: histogram, ledger: result.ledger, memory, verifier: result.verifier, checks: checkLines(result.checks),
    ...(report.attack ? { attack: report.attack, controlSpearman: control?.honestTrustQualitySpearman ?? null } : {}),
  };
  mkdirSync(o.out, { recursive: true });
  const json = path.join(o.out, 'report.json');
  const html = path.join(o.out, 'report.html');
  writeFileSync(json, `${JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  writeFileSync(html, renderHtml(htmlReport));
  return { report, files: { json, html } };
}
