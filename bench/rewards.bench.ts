/**
 * Rewards benchmark: `npm run bench:rewards`.
 *
 * One epoch of BENCH_AGENTS (100,000) agents on PostgreSQL: the formula over every agent's evidence
 * (computeEpoch: tiers, bonuses, caps, pro-rata scaling), the statements and tiers stored
 * (RewardsService.storeClosed, the close's transaction), the epoch distributed by RewardsService.distribute
 * (ledger batches of 10,000 posted transfers from system:rewards with deterministic ids, the next chunk
 * read and the last one marked while the ledger writes). Beside it, in the same run and database:
 * the previous distribution path on a second epoch with the same statements (batches of 5,000, one step
 * after another; BENCH_PREVIOUS=0 leaves it out) and the naive baseline, one ledger call (one transaction)
 * per agent, on BENCH_NAIVE_AGENTS further agents (default 10,000; its time for all agents is extrapolated
 * from its measured rate and labelled so). Seeding (agents, wallets, evidence) is synthetic and below the
 * API; gathering the evidence through reputation's port is not part of this measurement.
 *
 *   BENCH_DATABASE_URL=postgres://ae:ae@127.0.0.1:5432/ae_rewards  (a private schema is created and dropped)
 * Markdown results go to stdout.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { createServices } from '../src/app.js';
import { ManualClock } from '../src/platform/clock.js';
import { createDatabase } from '../src/database.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { uuidFromName } from '../src/platform/ids.js';
import { SYSTEM_ACCOUNTS, walletAccountId } from '../src/modules/ledger/ledger.service.js';
import { computeEpoch, type AgentEvidence } from '../src/modules/rewards/rewards.formula.js';
import { DEFAULT_CONFIG } from '../src/modules/rewards/rewards.program.js';
import { rewardsRepository, type NewStatement } from '../src/modules/rewards/rewards.repository.js';
import { statementDetail } from '../src/modules/rewards/rewards.service.js';
import type { Executor } from '../src/database.js';

const URL_ = process.env.BENCH_DATABASE_URL || 'postgres://ae:ae@127.0.0.1:5432/ae_rewards';
const AGENTS = Number(process.env.BENCH_AGENTS ?? '100000') || 100_000;
const PREVIOUS = process.env.BENCH_PREVIOUS !== '0';
const NAIVE = Math.min(AGENTS, Number(process.env.BENCH_NAIVE_AGENTS ?? '10000') || 10_000);
const AITBC = 100_000_000n;
const log = (s: string) => process.stderr.write(`${s}\n`);

async function main() {
  const schema = `bench_rewards_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const u = new URL(URL_);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const database = await createDatabase({ url: u.toString(), poolSize: 10 });
  try {
    await migrateToLatest(database.db);
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const s = createServices({ database, clock });
    log(`seeding ${AGENTS + NAIVE} agents and wallets`);
    const now = clock.now();
    const ids = Array.from({ length: AGENTS + NAIVE }, (_, i) => uuidFromName(`bench-agent-${schema}-${i}`));
    for (let i = 0; i < ids.length; i += 2_000) {
      const part = ids.slice(i, i + 2_000);
      await database.db.insertInto('agents').values(part.map((id, k) => ({
        id, display_name: `b${i + k}`, type: 'both' as const, country: 'DE', region: 'eu-west', categories: ['gpu_compute'], public_key: null, capacity: null, sla: null,
        status: 'active' as const, api_key_hash: `h-${id}`, api_key_prefix: 'ak_bench', created_at: now, updated_at: now,
      })) as never).execute();
      await database.db.insertInto('ledger_accounts').values(part.map((id) => ({
        id: walletAccountId(id), key: `wallet:${id}`, kind: 'wallet' as const, agent_id: id, no_overdraft: true, created_at: now,
      })) as never).execute();
    }
    const epochAgents = ids.slice(0, AGENTS);
    const naiveAgents = ids.slice(AGENTS);
    // synthetic evidence: a spread of volumes, trust and measured quality (deterministic)
    const evidence: AgentEvidence[] = epochAgents.map((id, i) => {
      const v = BigInt(1 + (i * 7919) % 500) * AITBC;
      const q = (i * 31) % 100;
      return {
        agentId: id, cluster: i % 50 === 0 ? `c${i % 1000}` : id, sellerValue: i % 3 === 0 ? 0n : v, buyerValue: i % 3 === 0 ? v : 0n,
        fees: (v * 250n) / 10_000n, trust: (i * 13) % 1000, sellerTrades: i % 3 === 0 ? 0 : 5 + (i % 20), sellerSuccesses: i % 3 === 0 ? 0 : 5 + (i % 20) - (q < 10 ? 1 : 0),
        latencyMs: q < 50 ? 30 + q : 80, accuracy: q < 60 ? 0.97 : 0.9, availability: q < 70 ? 0.995 : 0.95, tenureDays: i % 365, streak: i % 7,
        repeatCustomers: i % 5, underSuppliedShare: q < 20 ? 1 : 0, held: i % 1000 === 0, referral: 0n,
      };
    });
    const budget = 50_000n * AITBC;
    await s.rewards.grant((PREVIOUS ? 2n : 1n) * budget + NAIVE_TOTAL(NAIVE) + AITBC, 'bench');
    const trust = new Map(evidence.map((x) => [x.agentId, x.trust]));
    const epoch = await s.rewards.ensureOpen('default');
    const poolBefore = await poolBalance(s);

    log('computing and distributing the epoch');
    const t0 = performance.now();
    const result = computeEpoch(DEFAULT_CONFIG, evidence, budget);
    const t1 = performance.now();
    await s.rewards.storeClosed(epoch.id, { result, trust, poolBalance: poolBefore, referralIds: [] }, epoch.ends_at, now);
    const t2 = performance.now();
    const d = await s.rewards.distribute(epoch.id);
    const t3 = performance.now();
    const poolAfter = await poolBalance(s);
    if (poolBefore - poolAfter !== result.paid || d.paid !== result.paid) throw new Error(`pool debited ${poolBefore - poolAfter}, paid ${d.paid}, epoch says ${result.paid}`);
    const again = await s.rewards.distribute(epoch.id);
    if (again.created !== 0) throw new Error('a second distribution created transfers');

    // the previous path on a second epoch with the same statements: stored by VALUES lists (the insert
    // this change replaced, kept below), paid in batches of 5,000 read, paid and marked one after another
    let prev: { ms: number; created: number } | undefined;
    let valuesMs = 0;
    if (PREVIOUS) {
      log('previous path: sequential batches of 5,000');
      const e2 = await s.rewards.ensureOpen('default');
      const v0 = performance.now();
      await database.transaction(async (tx) => {
        await insertByValues(tx, e2.id, result.statements.map((st) => ({
          agentId: st.agentId, amount: st.amount, status: st.status, tier: st.factors.tier, trust: trust.get(st.agentId) ?? 0, detail: statementDetail(st, trust.get(st.agentId) ?? 0),
        })));
        await rewardsRepository.closeEpoch(tx, e2.id, {
          ends_at: e2.ends_at, pool_balance: poolAfter, budget: result.budget, demand: result.demand, paid: result.paid, held: result.held, capped: result.capped,
          remainder_units: result.remainderUnits, scale_ppm: BigInt(result.scalePpm), agents: result.statements.length, closed_at: now,
        });
      });
      valuesMs = performance.now() - v0;
      const p0 = performance.now();
      const d2 = await s.rewards.distribute(e2.id, { chunk: 5_000, pipeline: false });
      prev = { ms: performance.now() - p0, created: d2.created };
      if (d2.paid !== result.paid) throw new Error(`previous path paid ${d2.paid}, epoch says ${result.paid}`);
    }

    log(`naive baseline: one ledger call per agent, ${NAIVE} agents`);
    const n0 = performance.now();
    for (const [i, id] of naiveAgents.entries()) {
      const [o] = await s.ledger.execute([{ id: uuidFromName(`naive:${schema}:${id}`), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.rewards, creditAccountId: walletAccountId(id), amount: BigInt(1_000 + i), code: 'reward', reference: 'bench:naive' }]);
      if (o?.status !== 'created') throw new Error(`naive transfer ${o?.status}`);
    }
    const n1 = performance.now();
    const audit = await s.ledger.audit();
    const naiveRate = NAIVE / ((n1 - n0) / 1000);
    const total = (t3 - t0) / 1000;
    const rows = [
      `Rewards (bench:rewards), ${new Date().toISOString()}, PostgreSQL, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`,
      '',
      '| step | agents | time | rate |',
      '|---|---:|---:|---:|',
      `| formula (computeEpoch: tiers, bonuses, caps, scaling) | ${AGENTS} | ${((t1 - t0) / 1000).toFixed(2)} s | ${Math.round(AGENTS / ((t1 - t0) / 1000))}/s |`,
      `| statements and tiers stored (storeClosed: one transaction, unnest inserts) | ${result.statements.length} | ${((t2 - t1) / 1000).toFixed(2)} s | |`,
      `| distributed (ledger batches of 10,000, pipelined, deterministic ids) | ${d.created} transfers | ${((t3 - t2) / 1000).toFixed(2)} s | ${Math.round(d.created / ((t3 - t2) / 1000))}/s |`,
      `| **epoch computed and distributed** | ${AGENTS} | **${total.toFixed(2)} s** | goal < 10 s: ${total < 10 ? 'met' : 'not met'} |`,
      ...(prev ? [`| previous: statements stored by VALUES lists of 2,000 rows (measured, tiers not included) | ${result.statements.length} | ${(valuesMs / 1000).toFixed(2)} s | unnest is ${(valuesMs / (t2 - t1)).toFixed(2)}x |`] : []),
      ...(prev ? [`| previous path: batches of 5,000, sequential (measured, same statements) | ${prev.created} transfers | ${(prev.ms / 1000).toFixed(2)} s | ${Math.round(prev.created / (prev.ms / 1000))}/s; pipelined is ${(prev.ms / (t3 - t2)).toFixed(2)}x |`] : []),
      `| naive: one ledger call per agent (measured) | ${NAIVE} | ${((n1 - n0) / 1000).toFixed(2)} s | ${Math.round(naiveRate)}/s |`,
      `| naive, extrapolated to ${d.created} transfers | | ${(d.created / naiveRate).toFixed(1)} s (extrapolated) | batched is ${((d.created / naiveRate) / ((t3 - t2) / 1000)).toFixed(0)}x |`,
      '',
      `Paid ${Number(result.paid) / 1e8} AITBC of a ${Number(budget) / 1e8} budget (demand ${Number(result.demand) / 1e8}; held ${Number(result.held) / 1e8}; capped ${Number(result.capped) / 1e8}); ` +
      `pool debited exactly that; a second run created ${again.created} transfers; ledger audit ${audit.ok ? 'ok' : `FAILED: ${audit.violations.join('; ')}`}.`,
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await database.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

/** The statement insert before this change (rewards.repository.ts): multi-row VALUES of 2,000 rows, nine parameters a row. */
async function insertByValues(db: Executor, epochId: string, rows: readonly NewStatement[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 2_000) {
    await db.insertInto('rewards_statements').values(rows.slice(i, i + 2_000).map((s) => ({
      epoch_id: epochId, agent_id: s.agentId, amount: s.amount, status: s.status, tier: s.tier, trust: s.trust, detail: JSON.stringify(s.detail), transfer_id: null, paid_at: null,
    }))).onConflict((oc) => oc.doNothing()).execute();
  }
}

function NAIVE_TOTAL(n: number): bigint {
  return BigInt(n) * (1_000n + BigInt(n));
}

async function poolBalance(s: ReturnType<typeof createServices>): Promise<bigint> {
  const a = await s.ledger.getAccount(SYSTEM_ACCOUNTS.rewards);
  return a ? a.credits_posted - a.debits_posted : 0n;
}

await main();
