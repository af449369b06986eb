/**
 * Crash safety of reward distribution on PostgreSQL: a closed epoch of 120 statements is paid by a child
 * process in batches of 10; the child is killed with SIGKILL mid-batch, then two processes distribute the
 * same epoch at once. Afterwards every agent's wallet holds exactly its statement's amount (paid exactly
 * once), the pool was debited by exactly the sum, every statement is marked paid and the ledger audit is
 * clean. Seeding (agents, the closed epoch's statements) is below the API, through the services.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createServices } from '../src/app.js';
import { ManualClock } from '../src/platform/clock.js';
import { uuidFromName } from '../src/platform/ids.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import { rewardsRepository } from '../src/modules/rewards/rewards.repository.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/test-db.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const AGENTS = 120;
let db: TestDatabase | undefined;
afterAll(async () => { await db?.cleanup(); });

function child(url: string, epochId: string, opts: { killAfterChunk?: number } = {}): Promise<{ out: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/rewards-distribute-child.ts'], {
      cwd: ROOT, env: { ...process.env, CHILD_DATABASE_URL: url, CHILD_EPOCH_ID: epochId }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let killed = false;
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (opts.killAfterChunk !== undefined && !killed && out.includes(`chunk ${opts.killAfterChunk}\n`)) { killed = true; c.kill('SIGKILL'); }
    });
    c.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('error', reject);
    c.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ out, killed }) : reject(new Error(`child exited ${code}: ${out}`))));
  });
}

describe.skipIf(!onPostgres)('reward distribution killed mid-batch (PostgreSQL)', () => {
  it('pays each agent exactly once after a SIGKILL and two concurrent restarts', async () => {
    db = await createTestDatabase();
    const database = db.database;
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const s = createServices({ database, clock });
    const ids: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      ids.push((await s.agents.register({ displayName: `r${i}`, type: 'provider', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] })).agent.id);
    }
    const epoch = await s.rewards.ensureOpen('default');
    const amounts = new Map(ids.map((id, i) => [id, BigInt(1_000_000 + i * 7_919)]));
    const total = [...amounts.values()].reduce((a, b) => a + b, 0n);
    await s.rewards.grant(total + 5n, 'crash test');
    const poolBefore = (await s.ledger.getAccount(SYSTEM_ACCOUNTS.rewards))!;
    await database.transaction(async (tx) => {
      await rewardsRepository.insertStatements(tx, epoch.id, ids.map((id) => ({ agentId: id, amount: amounts.get(id)!, status: 'payable' as const, tier: 'bronze', trust: 500, detail: {} })));
      await rewardsRepository.closeEpoch(tx, epoch.id, {
        ends_at: epoch.ends_at, pool_balance: total + 5n, budget: total + 5n, demand: total, paid: total, held: 0n, capped: 0n, remainder_units: 0n,
        scale_ppm: 1_000_000n, agents: AGENTS, closed_at: clock.now(),
      });
    });

    const first = await child(db.url!, epoch.id, { killAfterChunk: 4 });
    expect(first.killed).toBe(true);
    const midway = await database.db.selectFrom('rewards_statements').select((eb) => eb.fn.countAll<string>().as('n')).where('epoch_id', '=', epoch.id).where('status', '=', 'paid').executeTakeFirstOrThrow();
    expect(Number(midway.n)).toBeGreaterThan(0);
    expect(Number(midway.n)).toBeLessThan(AGENTS);

    const [a, b] = await Promise.all([child(db.url!, epoch.id), child(db.url!, epoch.id)]);
    expect(a.out + b.out).toMatch(/done/);

    for (const id of ids) {
      const w = (await s.ledger.getAccount(walletAccountId(id)))!;
      expect(w.credits_posted - w.debits_posted, id).toBe(amounts.get(id)!);
      const rid = uuidFromName(`rewards:${epoch.id}:v${epoch.program_version}:${id}`);
      expect((await s.ledger.getTransfer(rid))?.amount).toBe(amounts.get(id)!);
    }
    const poolAfter = (await s.ledger.getAccount(SYSTEM_ACCOUNTS.rewards))!;
    expect((poolBefore.credits_posted - poolBefore.debits_posted) - (poolAfter.credits_posted - poolAfter.debits_posted)).toBe(total);
    const unpaid = await database.db.selectFrom('rewards_statements').select('agent_id').where('epoch_id', '=', epoch.id).where('status', '<>', 'paid').execute();
    expect(unpaid).toEqual([]);
    expect((await rewardsRepository.epoch(database.db, epoch.id))!.status).toBe('distributed');
    expect((await s.ledger.audit()).ok).toBe(true);
    // and once more: nothing
    const again = await s.rewards.distribute(epoch.id);
    expect([again.created, again.paid]).toEqual([0, 0n]);
  }, 180_000);
});
