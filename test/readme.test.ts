/**
 * The README's own example commands, as written, against a started server: every ```sh block of its
 * "Using the API" section runs in order in one bash script (only the `BASE=` line is pointed at the
 * test's server), and each step's reply is checked where the README says what it shows.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The section's shell blocks, in order. */
export function readmeScript(readme: string): string {
  const section = readme.split('\n## Using the API')[1]?.split('\n## ')[0];
  if (!section) throw new Error('README has no "Using the API" section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
}

let dir: string;
let server: ChildProcess;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ae-readme-'));
  const port = await freePort();
  base = `http://localhost:${port}`;
  // as a user starts it: in a directory of their own, with the default DATA_DIR (./data) and a generated key
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: String(port), LOG_LEVEL: 'warn' };
  for (const v of ['DATA_DIR', 'DATABASE_URL', 'ADMIN_KEY']) delete env[v];
  server = spawn(process.execPath, [path.join(root, 'bin/agent-economy.js'), 'serve'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const until = Date.now() + 90_000;
  for (;;) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > until || server.exitCode !== null) throw new Error(`server did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the README', () => {
  it('its example commands run as written and do what it says', async () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const script = readmeScript(readme);
    expect(script).toMatch(/^BASE=http:\/\/localhost:8006$/m);
    const file = path.join(dir, 'readme.sh');
    // -e: a failing command fails the test; every curl in the README uses -f... so an HTTP error does too
    writeFileSync(file, `set -euo pipefail\n${script.replace(/^BASE=http:\/\/localhost:8006$/m, `BASE=${base}`)}`);
    const out = await run('bash', [file], { cwd: dir, timeout: 120_000 }).catch((e: { stdout: string; stderr: string; code: number }) => {
      throw new Error(`README script failed (exit ${e.code}):\n${e.stderr}\n--- stdout ---\n${e.stdout}`);
    });
    const lines = out.stdout.trim().split('\n');
    const json = (l: string) => JSON.parse(l) as Record<string, unknown>;
    // mint, payment
    expect(json(lines[0]!)).toMatchObject({ amount: '1000', code: 'mint' });
    expect(json(lines[1]!)).toMatchObject({ amount: '12.5', code: 'payment' });
    // escrow: delivered, released; the seller has 12.5 + 100 less 2.5 %
    expect(lines.slice(2, 4)).toEqual(['delivered', 'released']);
    expect(json(lines[4]!)).toMatchObject({ balance: '110' });
    // the trade: the listing is the top match; funded, delivered, settled, rated, the request fulfilled
    expect(lines[5]).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.slice(6, 11)).toEqual(['funded', 'delivered', 'settled', '5', 'fulfilled']);
    const history = json(lines[11]!);
    expect(history).toMatchObject({ transactionCount: 1, successRate: 1, totalEarnings: '117.8' }); // 12.5 + 97.5 + 7.8 (8 less 2.5 %)
    expect(history).not.toHaveProperty('balance');
    // no probes: the epoch is seeded by the funded buyer, and the seller's trust moved off 0 (issue 13)
    expect(lines[12]).toBe('1');
    expect(Number(lines[13])).toBeGreaterThan(0);
    // the probe: named, its measurement recorded, the seller's trust still above 0
    expect(lines[14]).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[15]).toBe('probe');
    expect(Number(lines[16])).toBeGreaterThan(0);
    expect(lines).toHaveLength(17);
  }, 180_000);
});
