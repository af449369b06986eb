#!/usr/bin/env node
/**
 * The agent-economy command line: serve, migrate, mint, backup/restore, simulate, report and more.
 * Length: one commander program, each command a self-contained block; splitting it would scatter the shared helpers (config, note).
 */
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './platform/logger.js';
import { migrateToLatest } from './platform/db/migrate.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase, runningServerOf, startServer, type RunningServer } from './server.js';
import { formatAmount, parseAmount } from './platform/money.js';
import { requirePositiveAmount } from './modules/ledger/ledger.errors.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Progress for people on stderr, so stdout stays machine-readable. */
const note = (line: string) => process.stderr.write(`${line}\n`);

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const program = new Command()
  .name('agent-economy')
  .description('The economy of an AI-agent compute marketplace: agents, ledger, reputation and trading over HTTP.')
  .version(VERSION, '-V, --version', 'print the version');

program
  .command('serve', { isDefault: true })
  .description('Run migrations and serve the API, its docs and metrics (PORT, default 8006)')
  .action(async () => {
    // SIGTERM/SIGINT: stop taking requests, drain, wait for running jobs, close the database, exit 0.
    // A second signal forces exit 1; a duplicate within 500 ms (Ctrl-C reaches both npm and us, and npm
    // forwards it) does not count. A signal during start-up shuts down once the server is up.
    let server: RunningServer | undefined;
    let firstSignalAt = 0;
    let stopping: Promise<void> | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (Date.now() - firstSignalAt < 500) return;
        note(`${signal} again: exiting without waiting`);
        process.exit(1);
      }
      firstSignalAt = Date.now();
      note(`${signal}: shutting down (a second signal forces exit)`);
      stopping = (async () => {
        while (!server) await new Promise((r) => setTimeout(r, 50));
        await server.close();
        process.exit(0);
      })().catch((err: unknown) => {
        note(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Under `npm start`, npm runs us through `sh -c`, and a SIGTERM to npm stops npm and the shell but
    // not us: when our parent goes away we shut down as on SIGTERM.
    if (process.env.npm_lifecycle_event) {
      const parent = process.ppid;
      setInterval(() => { if (process.ppid !== parent && !stopping) onSignal('SIGTERM'); }, 200).unref();
    }
    server = await startServer(config());
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit')
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    note(`migrate: ${cfg.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : path.join(cfg.dataDir, 'pglite')}`);
    const database = await openDatabase(cfg);
    try {
      const res = await migrateToLatest(database.db);
      const applied = res.results?.map((r) => r.migrationName) ?? [];
      logger.info({ applied, database: database.kind }, applied.length ? `applied ${applied.length} migration(s)` : 'schema is up to date');
    } finally {
      await database.close();
    }
  });

program
  .command('backup')
  .description('Back up the database to FILE: embedded, through the running server or from the idle data dir; PostgreSQL, with pg_dump (README, Backups)')
  .argument('<file>', 'where the backup goes (refused if it exists, unless --force)')
  .option('--force', 'overwrite an existing FILE')
  .option('--admin-key <key>', 'the operator key for a running server (default: ADMIN_KEY, else DATA_DIR/admin-key)')
  .action(async (file: string, opts: { force?: boolean; adminKey?: string }) => {
    const { backup, BackupError } = await import('./backup.js');
    const cfg = config();
    if (existsSync(file) && !opts.force) { note(`${file} exists: pass --force to overwrite it`); process.exit(1); }
    const recorded = cfg.databaseUrl ? undefined : runningServerOf(cfg);
    const keyFile = path.join(cfg.dataDir, 'admin-key');
    const adminKey = opts.adminKey ?? cfg.adminKey ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
    try {
      if (recorded) note(`backup: asking the server (pid ${recorded.pid}) at ${recorded.url}`);
      const out = await backup(cfg, file, recorded ? { server: { url: recorded.url, adminKey } } : {});
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      note(err.message);
      process.exit(1);
    }
  });

program
  .command('restore')
  .description('Restore a backup made by `backup`: checks the file, refuses a non-empty database unless --force, migrates, audits the ledger')
  .argument('<file>', 'the backup')
  .option('--force', 'replace a database that is not empty (embedded: the old one is kept beside it as pglite.replaced-*)')
  .action(async (file: string, opts: { force?: boolean }) => {
    const { restore, BackupError } = await import('./backup.js');
    const cfg = config();
    try {
      const out = await restore(cfg, file, { force: opts.force, serverRunning: !cfg.databaseUrl && runningServerOf(cfg) !== undefined });
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      note(err.message);
      process.exit(1);
    }
  });

program
  .command('mint')
  .description('Mint AITBC from the treasury to an agent (operator; for development and grants)')
  .argument('<agentId>', 'the agent to credit')
  .argument('<amount>', 'AITBC, a decimal with up to 8 places, e.g. 1000 or 12.5')
  .option('--memo <text>', 'stored with the transfer')
  .option('--url <url>', 'the server to ask (default: the server recorded in DATA_DIR, else http://127.0.0.1:$PORT)')
  .option('--admin-key <key>', 'the operator key (default: ADMIN_KEY, else DATA_DIR/admin-key)')
  .action(async (agentId: string, amount: string, opts: { memo?: string; url?: string; adminKey?: string }) => {
    try {
      requirePositiveAmount(parseAmount(amount), 'amount');
    } catch {
      note(`amount must be a positive AITBC amount with up to 8 decimals, got ${amount}`);
      process.exit(2);
    }
    const cfg = config();
    const body = JSON.stringify({ agentId, amount, ...(opts.memo ? { memo: opts.memo } : {}) });
    const keyFile = path.join(cfg.dataDir, 'admin-key');
    // The operator key is read, never generated: a new key would not be the server's.
    const adminKey = opts.adminKey ?? cfg.adminKey ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
    const recorded = cfg.databaseUrl ? undefined : runningServerOf(cfg);
    const url = (opts.url ?? recorded?.url ?? `http://127.0.0.1:${cfg.port}`).replace(/\/$/, '');
    let res: Response | undefined;
    if (adminKey !== undefined || opts.url) {
      note(`mint: asking the server at ${url}`);
      try {
        res = await fetch(`${url}/v1/admin/mint`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey ?? ''}`, 'content-type': 'application/json' },
          body,
        });
      } catch {
        res = undefined;
      }
    }
    if (res) {
      const text = await res.text();
      if (res.status === 401 || res.status === 403) {
        note(`the server at ${url} refused the operator key (${adminKey === undefined ? 'none found' :
          opts.adminKey ? 'from --admin-key' : cfg.adminKey ? 'from ADMIN_KEY' : `from ${keyFile}`}); ` +
          'pass the key the server uses with --admin-key or ADMIN_KEY, or point DATA_DIR at the server\'s data directory');
      }
      process.stdout.write(`${text}\n`);
      process.exit(res.ok ? 0 : 1);
    }
    if (opts.url) {
      note(`no server answers at ${url}`);
      process.exit(1);
    }
    // No server: write the database directly, but only one that exists and is not in use.
    const pgliteDir = path.join(cfg.dataDir, 'pglite');
    if (!cfg.databaseUrl && !existsSync(path.join(pgliteDir, 'PG_VERSION'))) {
      note(`no server answers at ${url} and there is no database in ${pgliteDir}: start the server (npm start) ` +
        'or pass --url, or set DATA_DIR to the server\'s data directory');
      process.exit(1);
    }
    if (recorded) {
      note(`the server (pid ${recorded.pid}) using ${cfg.dataDir} does not answer at ${recorded.url}; not writing its database`);
      process.exit(1);
    }
    note(`mint: no server answers at ${url}; writing the database directly: ${cfg.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : pgliteDir}`);
    const [{ pendingMigrations }, { createServices }, { systemClock }] = await Promise.all([
      import('./platform/db/migrate.js'), import('./app.js'), import('./platform/clock.js'),
    ]);
    const database = await openDatabase(cfg);
    try {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw new Error(`the database has pending migrations (${pending.join(', ')}): run agent-economy migrate first`);
      const services = createServices({ database, clock: systemClock });
      const { transfer } = await services.bridge.mint({ agentId, amount: parseAmount(amount), memo: opts.memo ?? null });
      process.stdout.write(`${JSON.stringify({ id: transfer.id, agentId, amount: formatAmount(transfer.amount), code: transfer.code })}\n`);
    } catch (err) {
      note(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    } finally {
      await database.close();
    }
  });

program
  .command('simulate')
  .description('Run the agent-based market simulation on the real engine in virtual time and write a report (JSON and HTML)')
  .option('--agents <n>', 'number of agents', '1000')
  .option('--days <n>', 'simulated days', '30')
  .option('--scenario <name>', 'baseline | demand-shock | supply-outage | manipulation | rewards | concentration', 'baseline')
  .option('--seed <n>', 'same seed, same market outcome', '1')
  .option('--db <db>', "'embedded' (in-memory PGlite) or a PostgreSQL URL (a fresh schema is used and dropped)", 'embedded')
  .option('--target <url>', 'drive a running server over HTTP instead (needs ADMIN_KEY; real time)')
  .option('--demand <n>', 'requests per buyer per simulated day', '0.15')
  .option('--out <dir>', 'where report.json and report.html go', 'sim-report')
  .option('--no-control', 'with attackers, skip the control run of the same market without them')
  .option('--certification', 'providers prove their keys, send hourly heartbeats and apply for certification weekly; buyers report measurements')
  .action(async (opts: { agents: string; days: string; scenario: string; seed: string; db: string; target?: string; demand: string; out: string; control: boolean; certification?: boolean }) => {
    const int = (name: string, v: string, min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) {
        process.stderr.write(`--${name} must be an integer >= ${min}, got ${v}\n`);
        process.exit(2);
      }
      return n;
    };
    const { simulate } = await import('./sim/run.js');
    const { SCENARIOS } = await import('./sim/scenarios.js');
    if (!SCENARIOS[opts.scenario]) {
      process.stderr.write(`unknown scenario ${opts.scenario}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
      process.exit(2);
    }
    const demand = Number(opts.demand);
    if (!(demand > 0)) {
      process.stderr.write(`--demand must be a positive number, got ${opts.demand}\n`);
      process.exit(2);
    }
    const out = await simulate({
      agents: int('agents', opts.agents, 10), days: int('days', opts.days, 1), seed: int('seed', opts.seed, 0), scenario: opts.scenario,
      db: opts.db, target: opts.target, adminKey: process.env.ADMIN_KEY, out: opts.out, requestsPerBuyerDay: demand,
      control: opts.control, certification: opts.certification === true,
    });
    const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? 'n/a' : (Math.round(v * 100) / 100).toString());
    const mk = out.report.outcome.market;
    process.stdout.write(`agents: ${mk.activeAgents} active of ${mk.registeredAgents} registered; requests ${mk.requests}; agreements funded ${mk.agreements}; ` +
      `trades settled ${mk.trades} (all outcomes, as on the progress line); amounts in AITBC\n`);
    const line = (s: (typeof out.report.success)[number]) => process.stdout.write(s.met === null
      ? `  -     ${s.name} (target ${s.target}): not measured (${s.reason ?? 'no reason given'})\n`
      : `${s.met ? ' met  ' : 'MISSED'}  ${s.name}: ${fmt(s.value)} ${s.unit} (target ${s.target})\n`);
    for (const s of out.report.success) line(s);
    if (out.report.attack) {
      const from = out.report.outcome.attackersFromDay;
      const control = out.report.outcome.control;
      process.stdout.write(`attackers${from ? ` (from day ${from + 1})` : ''}: jobs routed to malicious providers ${fmt(mk.maliciousShare * 100)} %; ` +
        `ring median trust ${fmt(mk.medianTrust.rings)}, honest median ${fmt(mk.medianTrust.honest)}; non-attackers' trust vs true quality (Spearman) ` +
        `${fmt(mk.honestTrustQualitySpearman)}${control ? `, without attackers ${fmt(control.honestTrustQualitySpearman)}` : ''}\n`);
      for (const s of out.report.attack) line(s);
    }
    const v = out.report.outcome.verifier;
    process.stdout.write(`verifier (the market's only probe): challenges ${v.challenges.passed} passed, ${v.challenges.failed} failed ` +
      `(${Object.entries(v.failedBy).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}), ${v.challenges.abandoned} abandoned, ${v.challenges.inFlight} in flight; ` +
      `spent ${fmt(v.spent)} of a ${fmt(v.budget)} AITBC budget (${fmt(v.dailyBudget)} a day), ${fmt(v.held)} in escrow\n`);
    const { checkLines } = await import('./sim/checks.js');
    for (const l of checkLines(out.report.outcome.checks)) process.stdout.write(`${l}\n`);
    process.stdout.write(`ledger audit: ${out.report.outcome.ledger.ok ? 'ok' : `FAILED ${out.report.outcome.ledger.violations.join('; ')}`}\n`);
    process.stdout.write(`report: ${out.files.json}, ${out.files.html}\n`);
    const control = out.report.outcome.control;
    if (control && !control.ledger.ok) process.stdout.write(`ledger audit of the control run: FAILED ${control.ledger.violations.join('; ')}\n`);
    if (!out.report.outcome.ledger.ok || control?.ledger.ok === false) process.exitCode = 1;
  });

program
  .command('report')
  .description('Write the economic report of a day, week or month: KPIs against the previous period and the plan\'s targets, charts, movers, insights, risk')
  .option('--period <period>', 'day | week | month (UTC; weeks start on Monday)', 'day')
  .option('--format <format>', 'html | pdf | csv | json', 'html')
  .option('--out <file>', 'where to write it (default: stdout); with --format csv, a directory (existing, or ending in /) gets one file per table')
  .option('--at <date>', 'a date or time inside the period (default: the last closed period)')
  .option('--url <url>', 'the server to ask (default: the server recorded in DATA_DIR, else http://127.0.0.1:$PORT)')
  .action(async (opts: { period: string; format: string; out?: string; at?: string; url?: string }) => {
    const { mkdirSync, statSync, writeFileSync } = await import('node:fs');
    if (!['day', 'week', 'month'].includes(opts.period)) { note(`--period must be day, week or month, got ${opts.period}`); process.exit(2); }
    if (!['html', 'pdf', 'csv', 'json'].includes(opts.format)) { note(`--format must be html, pdf, csv or json, got ${opts.format}`); process.exit(2); }
    let at: string | undefined;
    if (opts.at !== undefined) {
      const d = new Date(opts.at);
      if (Number.isNaN(d.getTime())) { note(`--at must be a date such as 2026-11-03 or a time such as 2026-11-03T12:00:00Z, got ${opts.at}`); process.exit(2); }
      at = d.toISOString();
    }
    const period = opts.period as 'day' | 'week' | 'month';
    const format = opts.format as 'html' | 'pdf' | 'csv' | 'json';
    const toDir = format === 'csv' && opts.out !== undefined && (opts.out.endsWith('/') || (existsSync(opts.out) && statSync(opts.out).isDirectory()));
    const cfg = config();
    const recorded = cfg.databaseUrl ? undefined : runningServerOf(cfg);
    const url = (opts.url ?? recorded?.url ?? `http://127.0.0.1:${cfg.port}`).replace(/\/$/, '');
    const query = (f: string, table?: string) => `${url}/v1/market/report?period=${period}&format=${f}${at ? `&at=${encodeURIComponent(at)}` : ''}${table ? `&table=${table}` : ''}`;
    const write = (name: string | undefined, body: Buffer | string) => {
      if (name === undefined) process.stdout.write(body);
      else writeFileSync(name, body);
    };
    let remote: Response | undefined;
    try { remote = await fetch(query(toDir ? 'json' : format)); } catch { remote = undefined; }
    if (remote) {
      note(`report: asking the server at ${url}`);
      if (!remote.ok) { note(`the server answered ${remote.status}: ${await remote.text()}`); process.exit(1); }
      if (toDir) {
        const { CSV_TABLES } = await import('./modules/reports/reports.render.js');
        mkdirSync(opts.out!, { recursive: true });
        for (const table of CSV_TABLES) {
          const r = await fetch(query('csv', table));
          write(path.join(opts.out!, `${table}.csv`), await r.text());
        }
        note(`report: ${CSV_TABLES.length} tables in ${opts.out}`);
      } else {
        write(opts.out, Buffer.from(await remote.arrayBuffer()));
        if (opts.out) note(`report: ${opts.out}`);
      }
      return;
    }
    if (opts.url) { note(`no server answers at ${url}`); process.exit(1); }
    const pgliteDir = path.join(cfg.dataDir, 'pglite');
    if (!cfg.databaseUrl && !existsSync(path.join(pgliteDir, 'PG_VERSION'))) {
      note(`no server answers at ${url} and there is no database in ${pgliteDir}: start the server (npm start), pass --url, or set DATA_DIR to the server's data directory`);
      process.exit(1);
    }
    if (recorded) { note(`the server (pid ${recorded.pid}) using ${cfg.dataDir} does not answer at ${recorded.url}; not opening its database`); process.exit(1); }
    note(`report: no server answers at ${url}; reading the database directly: ${cfg.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : pgliteDir}`);
    const [{ pendingMigrations }, { createServices }, { systemClock }, render] = await Promise.all([
      import('./platform/db/migrate.js'), import('./app.js'), import('./platform/clock.js'), import('./modules/reports/reports.render.js'),
    ]);
    const database = await openDatabase(cfg);
    try {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw new Error(`the database has pending migrations (${pending.join(', ')}): run agent-economy migrate first`);
      const services = createServices({ database, clock: systemClock });
      await services.analytics.sync(); // fold the events no server has folded yet
      const model = await services.reports.generate(period, at);
      if (toDir) {
        mkdirSync(opts.out!, { recursive: true });
        const ts = render.csvTables(model);
        for (const x of ts) write(path.join(opts.out!, `${x.name}.csv`), x.csv);
        note(`report: ${ts.length} tables in ${opts.out}`);
      } else {
        write(opts.out, (await services.reports.render(model, format)).body);
        if (opts.out) note(`report: ${opts.out}`);
      }
    } catch (err) {
      note(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    } finally {
      await database.close();
    }
  });

program
  .command('verify-cert')
  .description('Check a certificate file: its Ed25519 signature against the service\'s published keys (offline with --keys), expiry, and (online) the revocation list')
  .argument('<file>', 'the certificate: the `file` object of GET /v1/certifications/{id} (the whole response is accepted too)')
  .option('--keys <file>', 'a saved copy of /.well-known/agent-economy-keys.json (offline: nothing is fetched)')
  .option('--url <url>', 'the service to fetch the keys and the revocation list from (default http://127.0.0.1:$PORT when --keys is not given)')
  .option('--revoked <file>', 'a saved copy of GET /v1/certifications/revoked to check offline')
  .action(async (file: string, opts: { keys?: string; url?: string; revoked?: string }) => {
    const { verifyCertificate } = await import('./modules/certification/certificates.js');
    const readJson = (f: string, what: string): unknown => {
      try {
        return JSON.parse(readFileSync(f, 'utf8')) as unknown;
      } catch (err) {
        note(`cannot read ${what} ${f}: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(2);
      }
    };
    let cert = readJson(file, 'certificate') as Record<string, unknown>;
    if (cert && typeof cert === 'object' && typeof cert.file === 'object' && cert.file !== null) cert = cert.file as Record<string, unknown>;
    const base = opts.url ?? (opts.keys ? undefined : `http://127.0.0.1:${process.env.PORT ?? 8006}`);
    const fetchJson = async (u: string): Promise<unknown> => {
      try {
        const r = await fetch(u);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return await r.json();
      } catch (err) {
        note(`cannot fetch ${u}: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(2);
      }
    };
    const keys = opts.keys ? readJson(opts.keys, 'keys file') : await fetchJson(`${base!.replace(/\/$/, '')}/.well-known/agent-economy-keys.json`);
    const res = verifyCertificate(cert, keys as never, Date.now());
    let revoked: { revokedAt: string; reason: string } | null = null;
    let revocationChecked = false;
    const lists: unknown[] = [];
    if (opts.revoked) lists.push(readJson(opts.revoked, 'revocation list'));
    else if (base && res.valid) {
      // every page of the list
      let cursor: string | null = null;
      do {
        const page = await fetchJson(`${base.replace(/\/$/, '')}/v1/certifications/revoked?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`) as { nextCursor?: string | null };
        lists.push(page);
        cursor = page.nextCursor ?? null;
      } while (cursor);
    }
    if (res.valid && lists.length) {
      revocationChecked = true;
      const id = (cert.certificate as { id?: string }).id;
      for (const l of lists) {
        const hit = ((l as { data?: { certificateId: string; revokedAt: string; reason: string }[] }).data ?? []).find((x) => x.certificateId === id);
        if (hit) revoked = { revokedAt: hit.revokedAt, reason: hit.reason };
      }
    }
    const ok = res.valid && !res.expired && revoked === null;
    process.stdout.write(`${JSON.stringify({ ok, ...res, revocationChecked, revoked })}\n`);
    if (!res.valid) note(`INVALID: ${res.reason}`);
    else if (revoked) note(`REVOKED at ${revoked.revokedAt}: ${revoked.reason}`);
    else if (res.expired) note(`EXPIRED at ${res.expiresAt}`);
    else note(`valid: ${res.level} certificate of agent ${res.agentId}, signed by key ${res.keyId}, expires ${res.expiresAt}${revocationChecked ? '' : ' (revocation not checked: pass --url or --revoked)'}`);
    process.exit(ok ? 0 : 1);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
