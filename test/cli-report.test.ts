/** `agent-economy report` on a database no server uses: JSON to stdout, CSV tables to a directory (the other formats: test/reports.test.ts), bad options. */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.resolve('bin/agent-economy.js');

describe('agent-economy report', () => {
  it('reads the database directly when no server answers, says so, and writes the report', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-cli-report-'));
    try {
      const { createDatabase } = await import('../src/database.js');
      const { migrateToLatest } = await import('../src/platform/db/migrate.js');
      const database = await createDatabase({ dataDir: path.join(dir, 'pglite') });
      await migrateToLatest(database.db);
      await database.close();
      const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', ADMIN_KEY: '', LOG_LEVEL: 'warn', PORT: '1' };
      const json = await run('node', [cli, 'report', '--period', 'week', '--format', 'json', '--at', '2026-11-03'], { env, maxBuffer: 1 << 24 });
      expect(json.stderr).toContain('no server answers at http://127.0.0.1:1; reading the database directly');
      const model = JSON.parse(json.stdout);
      expect(model).toMatchObject({ period: 'week', from: '2026-11-02T00:00:00.000Z', to: '2026-11-09T00:00:00.000Z', empty: true });
      const csvDir = path.join(dir, 'csv') + '/';
      const csv = await run('node', [cli, 'report', '--format', 'csv', '--out', csvDir, '--at', '2026-11-03'], { env });
      expect(csv.stderr).toContain(`13 tables in ${csvDir}`);
      expect(readdirSync(csvDir)).toContain('kpis.csv');
      expect(readFileSync(path.join(csvDir, 'kpis.csv'), 'utf8').split('\n')[0]).toBe('key,label,unit,current,previous,change');
      for (const [args, msg] of [[['--period', 'year'], '--period must be']] as const) {
        const err = await run('node', [cli, 'report', ...args], { env }).catch((e: { code: number; stderr: string }) => e);
        expect((err as { code: number }).code).toBe(2);
        expect((err as { stderr: string }).stderr).toContain(msg);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);
});
