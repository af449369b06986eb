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

  it('mint credits an agent through the database when no server is running', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-cli-'));
    try {
      const { createDatabase } = await import('../src/platform/db/database.js');
      const { migrateToLatest } = await import('../src/platform/db/migrate.js');
      const { createServices } = await import('../src/app.js');
      const { systemClock } = await import('../src/platform/clock.js');
      const dataDir = path.join(dir, 'pglite');
      let database = await createDatabase({ dataDir });
      await migrateToLatest(database.db);
      const { agent } = await createServices({ database, clock: systemClock }).agents.register({
        displayName: 'cli', type: 'both', country: 'DE', region: 'eu-west', categories: ['inference'],
      });
      await database.close();
      const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: 'k-cli-test-0123456789', LOG_LEVEL: 'warn', PORT: '1' };
      const out = await run('node', [cli, 'mint', agent.id, '12.5', '--memo', 'grant'], { env });
      expect(JSON.parse(out.stdout)).toMatchObject({ agentId: agent.id, amount: '12.5', code: 'mint' });
      const bad = await run('node', [cli, 'mint', agent.id, '1.123456789'], { env }).catch((e: { code: number }) => e);
      expect((bad as { code: number }).code).toBe(2);
      database = await createDatabase({ dataDir });
      const services = createServices({ database, clock: systemClock });
      const { walletAccountId } = await import('../src/modules/ledger/ledger.service.js');
      const acct = await services.ledger.getAccount(walletAccountId(agent.id));
      expect(acct?.credits_posted).toBe(1_250_000_000n);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('stops with exit code 2 and names every bad variable', async () => {
    const err = await run('node', [cli, 'migrate'], { env: { ...process.env, PORT: 'x', LOG_LEVEL: 'nope' } }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/PORT[\s\S]*LOG_LEVEL/);
  }, 30_000);
});
