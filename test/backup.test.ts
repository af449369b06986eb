/**
 * Restore drill (issue 19): a market with trades, open and settled escrows, disputes and ratings, made through
 * the API; a backup (through the running app's admin endpoint on PGlite, pg_dump on PostgreSQL), restored into
 * a fresh place with `restore` (the CLI's code); the restored copy passes the ledger audit and answers the
 * same balances, trust scores, leaderboard and market overview, and keeps trading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { buildTestApp, ADMIN_KEY, type TestApp, type Json } from './helpers/test-app.js';
import { listing, mint, party, trade, type Party } from './helpers/trades.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/database.js';
import { createLogger } from '../src/platform/logger.js';
import { ManualClock } from '../src/platform/clock.js';
import { backup, restore, BackupError } from '../src/backup.js';
import { checkPgliteArchive } from '../src/platform/db/backup.js';
import { TEST_DATABASE_URL, onPostgres } from './helpers/test-db.js';

let t: TestApp;
let dir: string;
let parties: Party[];
const openAgreements: string[] = [];

async function observe(get: (url: string) => Promise<Json>, ids: string[]): Promise<Json> {
  const out: Json = { audit: await get('/v1/admin/ledger/audit'), overview: await get('/v1/market/overview'), leaderboard: await get('/v1/leaderboard?limit=100') };
  for (const id of ids) {
    out[id] = { balance: await get(`/v1/agents/${id}/balance`), reputation: await get(`/v1/agents/${id}/reputation`) };
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ae-backup-'));
  t = await buildTestApp();
  const [b1, b2, s1, s2] = [await party(t), await party(t, { country: 'FR' }), await party(t), await party(t, { country: 'US', region: 'us-east' })];
  parties = [b1!, b2!, s1!, s2!];
  for (const b of [b1!, b2!]) await mint(t, b, '5000');
  const l1 = await listing(t, s1!, { gpuModel: 'H100', price: '2.5' });
  const l2 = await listing(t, s2!, { gpuModel: 'A100', price: '1.5', region: 'us-east' });
  const done = [];
  for (let i = 0; i < 6; i++) done.push(await trade(t, { buyer: i % 2 ? b1! : b2!, seller: i % 3 ? s1! : s2!, listing: i % 3 ? l1 : l2, quantity: 1 + i, outcome: i === 4 ? 'refund' : i === 5 ? 'split' : 'settle' }));
  for (const [i, d] of done.entries()) {
    if (i >= 4) continue;
    const buyer = i % 2 ? b1! : b2!;
    const r = await t.post('/v1/ratings', buyer.auth, { tradeId: d.agreementId, stars: 3 + (i % 3) });
    expect(r.statusCode, r.body).toBe(201);
  }
  // escrows still open at the backup: one funded, one delivered (in its review window)
  for (const deliver of [false, true]) {
    const n = await t.post('/v1/negotiations', b1!.auth, { listingId: l1.id, offer: { pricePerUnit: '2.5', quantity: 2, settlementType: 'escrow' } });
    const a = (await t.post(`/v1/negotiations/${n.json().id}/accept`, s1!.auth)).json().agreement.id as string;
    expect((await t.post(`/v1/agreements/${a}/fund`, b1!.auth)).statusCode).toBe(200);
    if (deliver) expect((await t.post(`/v1/agreements/${a}/deliver`, s1!.auth, { usage: 2 })).statusCode).toBe(200);
    openAgreements.push(a);
  }
  expect((await t.post('/v1/admin/reputation/epoch', t.admin)).statusCode).toBe(201);
  await t.app.services.analytics.sync();
}, 240_000);

afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function drill(restored: { url?: string; dataDir?: string }, cleanup: () => Promise<void>) {
  const database = await createDatabase(restored.url ? { url: restored.url, poolSize: 4 } : { dataDir: restored.dataDir });
  const clock = new ManualClock(t.clock.now().getTime());
  const app = await buildApp({ config: loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }), database, clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
  try {
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const getFrom = (a: typeof app) => async (url: string) => {
      const r = await a.inject({ method: 'GET', url, headers: admin });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
      return r.json() as Json;
    };
    const ids = parties.map((p) => p.id);
    const before = await observe(getFrom(t.app), ids);
    const after = await observe(getFrom(app), ids);
    expect(before.audit.ok).toBe(true);
    expect(after.audit.ok).toBe(true);
    expect(after).toEqual(before);
    expect(Number(before.overview.trades ?? before.overview.volume?.trades ?? 1)).toBeGreaterThan(0);
    // the restored market keeps trading: the delivered escrow is confirmed and pays out, the audit still holds
    const b1 = parties[0]!;
    const c = await app.inject({ method: 'POST', url: `/v1/agreements/${openAgreements[1]}/confirm`, headers: b1.auth });
    expect(c.statusCode, c.body).toBe(200);
    expect(c.json().state).toBe('settled');
    expect((await getFrom(app)('/v1/admin/ledger/audit')).ok).toBe(true);
  } finally {
    await app.close();
    await database.close();
    await cleanup();
  }
}

describe.skipIf(onPostgres)('restore drill on PGlite', () => {
  it('a backup taken by the running app restores into a fresh data dir with the same ledger, scores and market', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/v1/admin/backup', headers: t.admin });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/gzip');
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/backup', headers: parties[0]!.auth })).statusCode).toBe(403);
    const file = path.join(dir, 'market.tar.gz');
    writeFileSync(file, r.rawPayload);
    expect(checkPgliteArchive(r.rawPayload).files).toBeGreaterThan(100);
    const dataDir = path.join(dir, 'fresh');
    const out = await restore(loadConfig({ DATA_DIR: dataDir }), file);
    expect(out).toMatchObject({ ledgerAudit: 'ok', previous: null, into: path.join(path.resolve(dataDir), 'pglite') });
    await drill({ dataDir: out.into }, async () => undefined);
  }, 240_000);

  it('refuses a damaged file, a non-empty data dir without --force, and keeps the old database with --force', async () => {
    const file = path.join(dir, 'market.tar.gz');
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    const badFile = path.join(dir, 'bad.tar.gz');
    writeFileSync(badFile, bad);
    const target = loadConfig({ DATA_DIR: path.join(dir, 'other') });
    await expect(restore(target, badFile)).rejects.toThrow(/damaged/);
    writeFileSync(badFile, 'not a backup');
    await expect(restore(target, badFile)).rejects.toThrow(BackupError);
    const occupied = loadConfig({ DATA_DIR: path.join(dir, 'occupied') });
    mkdirSync(path.join(occupied.dataDir, 'pglite'), { recursive: true });
    writeFileSync(path.join(occupied.dataDir, 'pglite', 'PG_VERSION'), '18\n');
    await expect(restore(occupied, file)).rejects.toThrow(/not empty.*--force/);
    writeFileSync(path.join(occupied.dataDir, 'pglite', 'postmaster.pid'), '-42\n');
    await expect(restore(occupied, file, { force: true })).rejects.toThrow(/open in another process/);
    rmSync(path.join(occupied.dataDir, 'pglite', 'postmaster.pid'));
    const out = await restore(occupied, file, { force: true });
    expect(out.previous).toMatch(/pglite\.replaced-/);
    expect(readFileSync(path.join(out.previous!, 'PG_VERSION'), 'utf8')).toBe('18\n');
    await expect(restore(loadConfig({ DATA_DIR: path.join(dir, 'busy') }), file, { serverRunning: true })).rejects.toThrow(/stop it/);
  }, 240_000);
});

describe.skipIf(!onPostgres)('restore drill on PostgreSQL (pg_dump / pg_restore)', () => {
  it('a pg_dump of the market restores into a fresh database with the same ledger, scores and market', async () => {
    const schema = new URL(t.db.url!).searchParams.get('options')!.replace('-c search_path=', '');
    const file = path.join(dir, 'market.dump');
    const b = await backup(loadConfig({ DATABASE_URL: t.db.url!, ADMIN_KEY }), file, { schema });
    expect(b.kind).toBe('pg_dump');
    const name = `ae_drill_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(TEST_DATABASE_URL!);
    u.pathname = `/${name}`;
    u.searchParams.set('options', `-c search_path=${schema}`);
    const out = await restore(loadConfig({ DATABASE_URL: u.toString(), ADMIN_KEY }), file);
    expect(out.ledgerAudit).toBe('ok');
    await expect(restore(loadConfig({ DATABASE_URL: u.toString(), ADMIN_KEY }), file)).rejects.toThrow(/not empty/);
    await drill({ url: u.toString() }, async () => { await admin.query(`DROP DATABASE ${name} WITH (FORCE)`); await admin.end(); });
  }, 240_000);
});
