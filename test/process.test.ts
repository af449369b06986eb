import { describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

/** pids of `pid` and all its descendants (from ps). */
function tree(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString().trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of rows) if (pp === out[i]) out.push(p!);
  return out;
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function until(what: string, ms: number, ok: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
const status = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);

describe('npm start', () => {
  it('stops the whole process tree on SIGTERM to npm, closes the port, and restarts on the same DATA_DIR', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-proc-'));
    const port = await freePort();
    const env = { ...process.env, PORT: String(port), DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: '', LOG_LEVEL: 'warn' };
    try {
      for (const round of [1, 2]) {
        const npm = spawn('npm', ['start'], { env, stdio: 'ignore' });
        try {
          await until(`readyz (start ${round})`, 90_000, async () => (await status(port)) === 200);
          const pids = tree(npm.pid!);
          expect(pids.length).toBeGreaterThan(1);
          process.kill(npm.pid!, 'SIGTERM');
          await until('every process of the tree to exit', 8_000, () => pids.every((p) => !alive(p)));
          expect(await status(port)).toBe(0); // nothing listens
        } finally {
          for (const p of tree(npm.pid!)) if (alive(p)) process.kill(p, 'SIGKILL');
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
