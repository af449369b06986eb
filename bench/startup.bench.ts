/**
 * Start-up time to /readyz: first start (a fresh DATA_DIR) and restart (the same DATA_DIR), several runs,
 * the way `npm start` runs the server now (compiled dist/, a PGlite data dir unpacked from a template)
 * against the naive baseline (`tsx src/cli.ts serve`: TypeScript compiled at each start, initdb in WASM).
 * Rewrites its section of docs/benchmarks.md.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runStamp, writeSection } from './lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MODES = {
  'npm start (dist + template)': ['node', ['bin/agent-economy.js', 'serve']],
  'baseline: tsx src/cli.ts serve': [path.resolve('node_modules/.bin/tsx'), ['src/cli.ts', 'serve']],
} as const;

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

async function startOnce(cmd: string, args: readonly string[], dataDir: string): Promise<{ healthz: number; ready: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', ADMIN_KEY: '', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  let healthz = NaN;
  try {
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      if (status !== 0 && Number.isNaN(healthz)) healthz = performance.now() - t0;
      if (status === 200) return { healthz, ready: performance.now() - t0 };
      if (performance.now() - t0 > 180_000) throw new Error('no /readyz within 180 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
execFileSync('node', ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
const results: Record<string, { first: number[]; restart: number[]; healthz: number[] }> = {};
for (let run = 0; run < RUNS; run++) {
  for (const [name, [cmd, args]] of Object.entries(MODES)) {
    const r = (results[name] ??= { first: [], restart: [], healthz: [] });
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-startup-'));
    try {
      const first = await startOnce(cmd, args, dir);
      const again = await startOnce(cmd, args, dir);
      r.first.push(first.ready); r.healthz.push(first.healthz); r.restart.push(again.ready);
      process.stderr.write(`${name} run ${run + 1}: first ${first.ready.toFixed(0)} ms (healthz ${first.healthz.toFixed(0)}), restart ${again.ready.toFixed(0)} ms\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s (${xs.map((x) => (x / 1000).toFixed(1)).join(', ')})`;
const [now, base] = Object.keys(MODES).map((k) => results[k]!);
const rows = Object.entries(results).map(([name, r]) => `| ${name} | ${s(r.healthz)} | ${s(r.first)} | ${s(r.restart)} |`);
const body = `${runStamp()}

Time from spawning the process to \`/readyz\` answering 200, embedded PGlite, median of ${RUNS} runs (each run in parentheses).
First start: a fresh \`DATA_DIR\`; restart: the same \`DATA_DIR\` again. The server now runs compiled JavaScript (\`dist/\`,
built by \`npm install\` and \`prestart\`) and unpacks a new data dir from a template made at build time instead of running
initdb inside WASM; the baseline compiles TypeScript with tsx at each start and runs initdb.

| Command | first start: port open | first start: ready | restart: ready |
| --- | --- | --- | --- |
${rows.join('\n')}

First start ${(median(base!.first) / median(now!.first)).toFixed(1)}x faster, restart ${(median(base!.restart) / median(now!.restart)).toFixed(1)}x faster than the baseline.`;
process.stdout.write(`${body}\n`);
writeSection('Start-up (bench:startup)', body);
