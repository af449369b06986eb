import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8006, dataDir: path.resolve('./data'), databaseUrl: undefined, adminKey: undefined, logLevel: 'info' });
  });

  it('reads every variable', () => {
    const c = loadConfig({ PORT: '9000', DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://u:p@h:5432/d', ADMIN_KEY: 'k'.repeat(20), LOG_LEVEL: 'DEBUG' });
    expect(c).toMatchObject({ port: 9000, dataDir: '/tmp/x', databaseUrl: 'postgres://u:p@h:5432/d', adminKey: 'k'.repeat(20), logLevel: 'debug' });
  });

  it('names every bad variable at once', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', ADMIN_KEY: 'short', LOG_LEVEL: 'loud', RATE_LIMIT_PER_MINUTE: '-1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    for (const v of ['PORT', 'DATABASE_URL', 'ADMIN_KEY', 'LOG_LEVEL', 'RATE_LIMIT_PER_MINUTE']) expect(msg).toContain(v);
    expect((err as ConfigError).problems).toHaveLength(5);
  });

  it('rejects out-of-range ports and requires ADMIN_KEY with PostgreSQL', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://h/d' })).toThrow(/ADMIN_KEY is required/);
  });
});

describe('the README\'s configuration table', () => {
  it('lists exactly the variables of the schema, each with its default', async () => {
    const { readFileSync } = await import('node:fs');
    const { ENV } = await import('./config.js');
    const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const table = readme.split('## Configuration')[1]!.split('\n## ')[0]!;
    const rows = new Map([...table.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    expect([...rows.keys()].sort()).toEqual(Object.keys(ENV.properties).sort());
    for (const [name, schema] of Object.entries(ENV.properties) as [string, { default?: unknown }][]) {
      if (schema.default !== undefined) expect(rows.get(name), name).toBe(`\`${String(schema.default)}\``);
    }
  });
});
