import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.resolve('bin/agent-economy.js');

describe('agent-economy CLI', () => {
  it('migrate applies the migrations to the embedded database, then reports it up to date', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-cli-'));
    try {
      const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: '', LOG_LEVEL: 'info' };
      const first = await run('node', [cli, 'migrate'], { env });
      expect(first.stdout).toContain('0001-foundation');
      const second = await run('node', [cli, 'migrate'], { env });
      expect(second.stdout).toContain('schema is up to date');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops with exit code 2 and names every bad variable', async () => {
    const err = await run('node', [cli, 'migrate'], { env: { ...process.env, PORT: 'x', LOG_LEVEL: 'nope' } }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/PORT[\s\S]*LOG_LEVEL/);
  }, 30_000);
});
