import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
      const { createDatabase } = await import('../src/database.js');
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

  it('--version prints the package version', async () => {
    const { stdout } = await run('node', [cli, '--version']);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  }, 30_000);

  it('mint with no server and no database creates nothing and says why', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'ae-cli-'));
    try {
      const env = { ...process.env, DATA_DIR: '', DATABASE_URL: '', ADMIN_KEY: '', PORT: '1' };
      const err = await run('node', [cli, 'mint', 'agt_x', '5'], { env, cwd }).catch((e: { code: number; stderr: string }) => e);
      expect((err as { code: number }).code).toBe(1);
      expect((err as { stderr: string }).stderr).toMatch(/no database in/);
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 30_000);

  it('mint refuses a zero, negative or malformed amount with exit code 2, before looking for a server or a database', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'ae-cli-'));
    try {
      const env = { ...process.env, DATA_DIR: '', DATABASE_URL: '', ADMIN_KEY: '', PORT: '1' };
      for (const amount of ['0', '0.00000000', '-1', '1.123456789', 'x']) {
        const err = await run('node', [cli, 'mint', 'agt_x', amount], { env, cwd }).catch((e: { code: number; stderr: string }) => e);
        expect((err as { code: number }).code, amount).toBe(2);
        expect((err as { stderr: string }).stderr).toMatch(/amount must be a positive AITBC amount/);
      }
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);

  it("mint finds the running server and its operator key through DATA_DIR, whatever PORT says", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-cli-'));
    const cwd = mkdtempSync(path.join(tmpdir(), 'ae-cli-cwd-'));
    const serverEnv = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const server = spawn('node', [cli, 'serve'], { env: serverEnv, stdio: 'ignore' });
    try {
      const file = path.join(dir, 'server.json');
      for (let i = 0; i < 600 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
      const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url: string };
      const key = readFileSync(path.join(dir, 'admin-key'), 'utf8').trim();
      const reg = await fetch(`${url}/v1/agents`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: 'cli', type: 'both', country: 'DE', region: 'eu-west', categories: ['inference'] }),
      });
      const { agent } = (await reg.json()) as { agent: { id: string } };
      // PORT points elsewhere and the cwd has no ./data: the CLI must still act on the server of DATA_DIR.
      const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: '', PORT: '1' };
      const out = await run('node', [cli, 'mint', agent.id, '5'], { env, cwd });
      expect(JSON.parse(out.stdout)).toMatchObject({ amount: '5' });
      expect(out.stderr).toContain(`asking the server at ${url}`);
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
      // --url with --admin-key, from anywhere
      const env2 = { ...process.env, DATA_DIR: path.join(cwd, 'nowhere'), DATABASE_URL: '', ADMIN_KEY: '' };
      const out2 = await run('node', [cli, 'mint', agent.id, '0.5', '--url', url, '--admin-key', key], { env: env2, cwd });
      expect(JSON.parse(out2.stdout)).toMatchObject({ amount: '0.5' });
      expect(existsSync(path.join(cwd, 'nowhere'))).toBe(false);
      const bal = await fetch(`${url}/v1/agents/${agent.id}/balance`, { headers: { authorization: `Bearer ${key}` } });
      expect(JSON.stringify(await bal.json())).toContain('"5.5"');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
