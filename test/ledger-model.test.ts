/**
 * Model-based test of the ledger and escrow services: fast-check generates random command sequences
 * (posted transfers, holds with timeouts, post/void/expire, duplicate submissions, escrow lifecycles,
 * timers) that run against LedgerService + EscrowService on a real database and against a small
 * in-memory model written independently of the engine. After every command the stored state must
 * equal the model's: every account's four counters, every escrow, every hold's resolution, and
 * ledger.audit() must find nothing. Runs on PGlite, or on PostgreSQL with TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { ManualClock } from '../src/platform/clock.js';
import { uuidFromName } from '../src/platform/ids.js';
import { AppError } from '../src/platform/http/errors.js';
import { AgentsService } from '../src/modules/agents/agents.service.js';
import { agentDirectory } from '../src/modules/agents/agents.port.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { SYSTEM_ACCOUNTS, escrowAccountId, walletAccountId } from '../src/modules/ledger/ledger.accounts.js';
import type { Outcome } from '../src/modules/ledger/ledger.types.js';
import { EscrowService, type EscrowActor } from '../src/modules/ledger/escrow.service.js';
import type { RejectCode, TransferInput } from '../src/modules/ledger/ledger.engine.js';
import type { EscrowAction, EscrowState } from '../src/modules/ledger/escrow.js';

// ---------------------------------------------------------------------------------------------------
// The model

interface Acc { noOverdraft: boolean; dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }
type Expected = { status: 'created' } | { status: 'rejected'; code: RejectCode };
interface Submitted { input: TransferInput; key: string; outcome: Expected }
interface Hold { id: string; dr: string; cr: string; amount: bigint; timeoutAt: number | null; resolvedBy: { kind: string; posted: bigint } | null }
interface MEscrow {
  id: string; accountId: string; payer: string; payee: string; amount: bigint; released: bigint; refunded: bigint; fees: bigint;
  feeBps: number; state: EscrowState; expiresAt: number | null; reviewWindowMs: number; autoReleaseAt: number | null;
}
interface Model {
  now: number;
  agents: string[];
  accounts: Map<string, Acc>;
  submitted: Map<string, Submitted>;
  /** Every pending submission, created or not (a rejected one is a pendingId that does not exist). */
  holdIds: string[];
  holds: Map<string, Hold>;
  escrows: MEscrow[];
  /** Ledger transfers made by escrows (funding, release, fee and refund legs). */
  escrowLegs: number;
  steps: number;
  coverage: Coverage;
}
interface Real { ledger: LedgerService; escrow: EscrowService; clock: ManualClock; db: TestDatabase }

const TERMINAL_STATES: EscrowState[] = ['released', 'refunded', 'expired', 'resolved_release', 'resolved_refund', 'resolved_split'];
let idCounter = 0;
/** How often each command ended each way, for the run's test to check that every path was exercised. */
type Coverage = Map<string, number>;
const count = (m: Model, label: string) => m.coverage.set(label, (m.coverage.get(label) ?? 0) + 1);
const nextId = (what: string) => uuidFromName(`ledger-model:${what}:${idCounter++}`);

const bal = (a: Acc) => a.cpo - a.dpo;
const avail = (a: Acc) => a.cpo - a.dpo - a.dp;
const acc = (m: Model, id: string): Acc => {
  const a = m.accounts.get(id);
  if (!a) throw new Error(`model: unknown account ${id}`);
  return a;
};
const keyOf = (i: TransferInput) =>
  JSON.stringify([i.kind, i.debitAccountId ?? null, i.creditAccountId ?? null, String(i.amount ?? 0n), i.pendingId ?? null, i.timeoutMs ?? null, i.code, i.reference ?? null]);

/** The model's own rules for one transfer (what the ledger must answer), applied to the model. */
function modelTransfer(m: Model, i: TransferInput): { expected: Expected; replay: boolean } {
  const prior = m.submitted.get(i.id);
  if (prior) {
    return { replay: true, expected: prior.key === keyOf(i) ? prior.outcome : { status: 'rejected', code: 'exists_with_different_fields' } };
  }
  const out = ((): Expected => {
    const reject = (code: RejectCode): Expected => ({ status: 'rejected', code });
    if (i.kind === 'posted' || i.kind === 'pending') {
      const amount = i.amount ?? 0n;
      if (amount <= 0n) return reject('amount_must_be_positive');
      if (i.debitAccountId === i.creditAccountId) return reject('same_account');
      const dr = acc(m, i.debitAccountId!);
      const cr = acc(m, i.creditAccountId!);
      if (dr.noOverdraft && avail(dr) < amount) return reject('insufficient_funds');
      if (i.kind === 'posted') {
        dr.dpo += amount;
        cr.cpo += amount;
      } else {
        dr.dp += amount;
        cr.cp += amount;
        m.holds.set(i.id, { id: i.id, dr: i.debitAccountId!, cr: i.creditAccountId!, amount, timeoutAt: i.timeoutMs ? m.now + i.timeoutMs : null, resolvedBy: null });
      }
      return { status: 'created' };
    }
    const h = m.holds.get(i.pendingId!);
    if (!h) return reject('pending_not_found');
    if (h.resolvedBy) return reject('pending_already_resolved');
    const expired = h.timeoutAt !== null && h.timeoutAt <= m.now;
    if (i.kind === 'expire_pending' && !expired) return reject('pending_not_expired');
    if (i.kind !== 'expire_pending' && expired) return reject('pending_expired');
    let posted = 0n;
    if (i.kind === 'post_pending') {
      posted = !i.amount ? h.amount : i.amount;
      if (posted > h.amount) return reject('amount_exceeds_pending');
    }
    resolveHold(m, h, i.kind, posted);
    return { status: 'created' };
  })();
  m.submitted.set(i.id, { input: i, key: keyOf(i), outcome: out });
  return { expected: out, replay: false };
}

function resolveHold(m: Model, h: Hold, kind: string, posted: bigint) {
  const dr = acc(m, h.dr);
  const cr = acc(m, h.cr);
  dr.dp -= h.amount;
  cr.cp -= h.amount;
  dr.dpo += posted;
  cr.cpo += posted;
  h.resolvedBy = { kind, posted };
}

/** Moves `amount` between accounts in the model (escrow legs). */
function move(m: Model, from: string, to: string, amount: bigint) {
  if (amount <= 0n) return;
  m.escrowLegs++;
  acc(m, from).dpo += amount;
  acc(m, to).cpo += amount;
}

const NEXT: Record<EscrowAction, Partial<Record<EscrowState, EscrowState>>> = {
  deliver: { held: 'delivered' },
  release: { held: 'released', delivered: 'released' },
  refund: { held: 'refunded', delivered: 'refunded' },
  expire: { held: 'expired' },
  auto_release: { delivered: 'released' },
  dispute: { held: 'disputed', delivered: 'disputed' },
  resolve_release: { disputed: 'resolved_release' },
  resolve_refund: { disputed: 'resolved_refund' },
  resolve_split: { disputed: 'resolved_split' },
};

/** The model of EscrowService.act: the error code it must throw, or the effect (applied to the model). */
function modelEscrowAct(m: Model, e: MEscrow, action: EscrowAction, actor: EscrowActor, opts: { amount?: bigint; payeeAmount?: bigint }): string | null {
  if (actor.kind === 'agent' && actor.agentId !== e.payer && actor.agentId !== e.payee) return 'forbidden';
  const may = actor.kind === 'system' ? action === 'expire' || action === 'auto_release'
    : actor.kind === 'admin' ? action !== 'expire' && action !== 'auto_release'
      : actor.kind === 'agent' && ({
        deliver: actor.agentId === e.payee, release: actor.agentId === e.payer, refund: actor.agentId === e.payee, dispute: true,
      } as Partial<Record<EscrowAction, boolean>>)[action] === true;
  if (!may) return 'forbidden';
  let to = NEXT[action][e.state];
  if (!to) return 'invalid_transition';
  if (action === 'expire' && (e.expiresAt === null || e.expiresAt > m.now)) return 'invalid_transition';
  if (action === 'auto_release' && (e.autoReleaseAt === null || e.autoReleaseAt > m.now)) return 'invalid_transition';
  if (action === 'deliver' && e.expiresAt !== null && e.expiresAt <= m.now) return 'invalid_transition';
  const remaining = e.amount - e.released - e.refunded;
  let toPayee = 0n;
  let toPayer = 0n;
  if (action === 'release') {
    toPayee = opts.amount ?? remaining;
    if (toPayee <= 0n || toPayee > remaining) return 'validation_failed';
    if (toPayee < remaining) to = e.state;
  } else if (action === 'auto_release' || action === 'resolve_release') toPayee = remaining;
  else if (action === 'refund' || action === 'expire' || action === 'resolve_refund') toPayer = remaining;
  else if (action === 'resolve_split') {
    if (opts.payeeAmount === undefined || opts.payeeAmount < 0n || opts.payeeAmount > remaining) return 'validation_failed';
    toPayee = opts.payeeAmount;
    toPayer = remaining - toPayee;
  }
  const fee = (toPayee * BigInt(e.feeBps)) / 10_000n;
  move(m, e.accountId, walletAccountId(e.payee), toPayee - fee);
  move(m, e.accountId, SYSTEM_ACCOUNTS.fees, fee);
  move(m, e.accountId, walletAccountId(e.payer), toPayer);
  e.released += toPayee;
  e.refunded += toPayer;
  e.fees += fee;
  e.autoReleaseAt = to === 'delivered' && e.state !== 'delivered' ? m.now + e.reviewWindowMs : to === 'delivered' ? e.autoReleaseAt : null;
  e.state = to;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Checking the real state against the model

async function checkInvariants(m: Model, r: Real) {
  const db = r.db.database.db;
  m.steps++;
  // Every account's counters equal the model's; accounts the model does not know are untouched.
  const rows = await db.selectFrom('ledger_accounts').select(['id', 'kind', 'no_overdraft', 'debits_pending', 'debits_posted', 'credits_pending', 'credits_posted']).execute();
  let sum = 0n;
  let seen = 0;
  for (const a of rows) {
    const got = { dp: a.debits_pending, dpo: a.debits_posted, cp: a.credits_pending, cpo: a.credits_posted };
    sum += a.credits_posted - a.debits_posted;
    const want = m.accounts.get(a.id);
    if (!want) {
      expect(got, `account ${a.id} (${a.kind}) is not in the model and must be untouched`).toEqual({ dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
      continue;
    }
    seen++;
    expect(got, `account ${a.id} (${a.kind})`).toEqual({ dp: want.dp, dpo: want.dpo, cp: want.cp, cpo: want.cpo });
    if (a.no_overdraft) expect(a.credits_posted - a.debits_posted - a.debits_pending, `account ${a.id} below zero counting holds`).toBeGreaterThanOrEqual(0n);
  }
  expect(seen, 'every model account exists').toBe(m.accounts.size);
  expect(sum, 'balances of all accounts sum to zero').toBe(0n);

  // Escrows equal the model's; amount = released + refunded + remaining, and terminal ones hold nothing.
  const escrows = await db.selectFrom('escrows').select(['id', 'account_id', 'state', 'amount', 'released', 'refunded', 'fees', 'auto_release_at']).execute();
  expect(escrows.length, 'escrow count').toBe(m.escrows.length);
  const byId = new Map(escrows.map((e) => [e.id, e]));
  for (const e of m.escrows) {
    const got = byId.get(e.id);
    expect(got, `escrow ${e.id}`).toBeDefined();
    expect({ state: got!.state, released: got!.released, refunded: got!.refunded, fees: got!.fees, autoReleaseAt: got!.auto_release_at?.getTime() ?? null })
      .toEqual({ state: e.state, released: e.released, refunded: e.refunded, fees: e.fees, autoReleaseAt: e.autoReleaseAt });
    const held = bal(acc(m, e.accountId));
    expect(got!.amount, `escrow ${e.id}: amount = released + refunded + remaining`).toBe(got!.released + got!.refunded + held);
    if (TERMINAL_STATES.includes(e.state)) expect(held, `terminal escrow ${e.id} holds nothing`).toBe(0n);
    else expect(held, `open escrow ${e.id} holds something`).toBeGreaterThan(0n);
  }

  // Each hold resolves at most once, and exactly as the model says.
  const resolutions = await db.selectFrom('ledger_transfers').select(['pending_id', 'kind', 'amount']).where('pending_id', 'is not', null).execute();
  const got = new Map<string, { kind: string; posted: bigint }>();
  for (const x of resolutions) {
    expect(got.has(x.pending_id!), `hold ${x.pending_id} resolved twice`).toBe(false);
    got.set(x.pending_id!, { kind: x.kind, posted: x.amount });
  }
  const want = new Map([...m.holds.values()].filter((h) => h.resolvedBy).map((h) => [h.id, h.resolvedBy!]));
  expect(got).toEqual(want);

  // The stored transfers are exactly the created ones, and the ledger's own audit finds nothing.
  const created = [...m.submitted.values()].filter((s) => s.outcome.status === 'created').length;
  const audit = await r.ledger.audit();
  expect(audit.violations).toEqual([]);
  expect(audit.ok).toBe(true);
  expect(audit.transfers, 'stored transfers = created ones + escrow legs').toBe(created + m.escrowLegs);
  expect(audit.supply, 'supply = what the treasury minted').toBe(-bal(acc(m, SYSTEM_ACCOUNTS.treasury)));
}

/** Runs one transfer through the ledger and the model and compares outcome and returned transfer. */
async function submit(m: Model, r: Real, input: TransferInput) {
  const { expected, replay } = modelTransfer(m, input);
  count(m, `${replay ? 'resubmit ' : ''}${input.kind}: ${expected.status === 'rejected' ? expected.code : replay ? 'exists' : 'created'}`);
  const [o] = await r.ledger.execute([input]);
  expect(o).toBeDefined();
  const outcome = o as Outcome;
  if (expected.status === 'rejected') {
    expect(outcome, `${input.kind} ${input.id}`).toEqual({ id: input.id, status: 'rejected', code: expected.code });
  } else {
    expect(outcome.status, `${input.kind} ${input.id}`).toBe(replay ? 'exists' : 'created');
    if (outcome.status !== 'rejected') {
      const orig = m.submitted.get(input.id)!.input;
      expect(outcome.transfer.id).toBe(input.id);
      expect(outcome.transfer.kind).toBe(orig.kind);
      if (orig.kind === 'posted' || orig.kind === 'pending') expect(outcome.transfer.amount).toBe(orig.amount);
    }
  }
}

async function expectAppError(p: Promise<unknown>, code: string | null, what: string) {
  let err: unknown;
  try { await p; } catch (e) { err = e; }
  if (code === null) {
    if (err) throw new Error(`${what}: expected success, got ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  expect(err, `${what}: expected ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code, what).toBe(code);
}

// ---------------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.AsyncCommand<Model, Real>;
const pick = <T>(xs: readonly T[], k: number): T | undefined => (xs.length ? xs[k % xs.length] : undefined);
/** Mostly one of the last few (k < 1000: the k-th from the end), sometimes any. */
const recent = <T>(xs: readonly T[], k: number): T | undefined => (k < 1000 ? pick([...xs].reverse(), k) : pick(xs, k));
const ref = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }) });
const UNIT = 1000n; // amounts are small multiples of this, so fees and partial amounts are exercised

class Mint implements Cmd {
  constructor(readonly agent: number, readonly amount: bigint) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await submit(m, r, { id: nextId('mint'), kind: 'posted', debitAccountId: SYSTEM_ACCOUNTS.treasury, creditAccountId: walletAccountId(m.agents[this.agent]!), amount: this.amount, code: 'mint' });
    await checkInvariants(m, r);
  }
  toString = () => `mint(${this.agent}, ${this.amount})`;
}

class Pay implements Cmd {
  constructor(readonly from: number, readonly to: number, readonly amount: bigint, readonly hold: number | null) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const input: TransferInput = {
      id: nextId('pay'), kind: this.hold === null ? 'posted' : 'pending', debitAccountId: walletAccountId(m.agents[this.from]!),
      creditAccountId: walletAccountId(m.agents[this.to]!), amount: this.amount, code: 'payment',
      ...(this.hold ? { timeoutMs: this.hold } : {}),
    };
    if (input.kind === 'pending') m.holdIds.push(input.id);
    await submit(m, r, input);
    await checkInvariants(m, r);
  }
  toString = () => `${this.hold === null ? 'pay' : `hold[${this.hold}ms]`}(${this.from} -> ${this.to}, ${this.amount})`;
}

/** post (full, partial, too much) / void / expire one hold, named by index among submitted holds. */
class Resolve implements Cmd {
  constructor(readonly k: number, readonly kind: 'post_pending' | 'void_pending' | 'expire_pending', readonly amount: bigint | undefined, readonly open = false) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const open = this.open ? recent([...m.holds.values()].filter((h) => !h.resolvedBy).map((h) => h.id), this.k) : undefined;
    const pendingId = open ?? recent(m.holdIds, this.k) ?? uuidFromName('no-such-hold');
    await submit(m, r, { id: nextId('resolve'), kind: this.kind, pendingId, code: this.kind, ...(this.amount !== undefined ? { amount: this.amount } : {}) });
    await checkInvariants(m, r);
  }
  toString = () => `${this.kind}(${this.open ? 'open ' : ''}#${this.k}${this.amount !== undefined ? `, ${this.amount}` : ''})`;
}

/** Resubmits an earlier transfer id: with the same fields (original outcome) or other fields (conflict). */
class Resubmit implements Cmd {
  constructor(readonly k: number, readonly variant: 'same' | 'amount' | 'reference') {}
  check = () => true;
  async run(m: Model, r: Real) {
    const prior = recent([...m.submitted.values()], this.k);
    if (!prior) return;
    const input: TransferInput = { ...prior.input };
    if (this.variant === 'amount') input.amount = (input.amount ?? 0n) + 1n;
    if (this.variant === 'reference') input.reference = 'changed';
    await submit(m, r, input);
    await checkInvariants(m, r);
  }
  toString = () => `resubmit(#${this.k}, ${this.variant})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number, readonly expireHolds: boolean, readonly runTimers: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    r.clock.advance(this.ms);
    m.now += this.ms;
    if (this.expireHolds) {
      const due = [...m.holds.values()].filter((h) => !h.resolvedBy && h.timeoutAt !== null && h.timeoutAt <= m.now);
      for (const h of due) {
        const input: TransferInput = { id: uuidFromName(`expire:${h.id}`), kind: 'expire_pending', pendingId: h.id, code: 'hold_expired' };
        resolveHold(m, h, 'expire_pending', 0n);
        m.submitted.set(input.id, { input, key: keyOf(input), outcome: { status: 'created' } });
      }
      count(m, `expireDueHolds: ${due.length ? 'expired some' : 'none due'}`);
      expect(await r.ledger.expireDueHolds(), 'holds expired').toBe(due.length);
      expect(await r.ledger.expireDueHolds(), 'expiry is idempotent').toBe(0);
    }
    if (this.runTimers) {
      const system: EscrowActor = { kind: 'system' };
      let expired = 0;
      let released = 0;
      for (const e of m.escrows) if (e.state === 'held' && e.expiresAt !== null && e.expiresAt <= m.now) { expect(modelEscrowAct(m, e, 'expire', system, {})).toBeNull(); expired++; }
      for (const e of m.escrows) if (e.state === 'delivered' && e.autoReleaseAt !== null && e.autoReleaseAt <= m.now) { expect(modelEscrowAct(m, e, 'auto_release', system, {})).toBeNull(); released++; }
      count(m, `escrow.runDue: ${expired + released ? 'fired' : 'none due'}`);
      expect(await r.escrow.runDue()).toEqual({ expired, released });
    }
    await checkInvariants(m, r);
  }
  toString = () => `advance(${this.ms}ms${this.expireHolds ? ', expireDueHolds' : ''}${this.runTimers ? ', runDue' : ''})`;
}

class EscrowCreateCmd implements Cmd {
  constructor(readonly payer: number, readonly payee: number, readonly amount: bigint, readonly expiresInMs: number | null, readonly reviewMs: number, readonly feeBps: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = nextId('escrow');
    const payer = m.agents[this.payer]!;
    const payee = m.agents[this.payee]!;
    const accountId = escrowAccountId(id);
    let code: string | null = null;
    if (this.amount <= 0n || payer === payee) code = 'validation_failed';
    else if (avail(acc(m, walletAccountId(payer))) < this.amount) code = 'insufficient_funds';
    count(m, `escrow.create: ${code ?? 'ok'}`);
    await expectAppError(r.escrow.create({
      id, payerAgentId: payer, payeeAgentId: payee, amount: this.amount, feeBps: this.feeBps,
      expiresAt: this.expiresInMs === null ? null : new Date(m.now + this.expiresInMs), reviewWindowMs: this.reviewMs,
    }, { kind: 'agent', agentId: payer }), code, this.toString());
    if (code === null) {
      m.accounts.set(accountId, { noOverdraft: true, dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
      move(m, walletAccountId(payer), accountId, this.amount);
      m.escrows.push({
        id, accountId, payer, payee, amount: this.amount, released: 0n, refunded: 0n, fees: 0n, feeBps: this.feeBps, state: 'held',
        expiresAt: this.expiresInMs === null ? null : m.now + this.expiresInMs, reviewWindowMs: this.reviewMs, autoReleaseAt: null,
      });
    }
    await checkInvariants(m, r);
  }
  toString = () => `escrow.create(${this.payer} -> ${this.payee}, ${this.amount}, expires ${this.expiresInMs}, review ${this.reviewMs}, fee ${this.feeBps}bps)`;
}

const ACTIONS: EscrowAction[] = ['deliver', 'release', 'refund', 'dispute', 'resolve_release', 'resolve_refund', 'resolve_split', 'expire', 'auto_release'];
type ActorChoice = 'proper' | 'payer' | 'payee' | 'admin' | 'outsider' | 'system';

class EscrowActCmd implements Cmd {
  constructor(readonly k: number, readonly action: EscrowAction, readonly actor: ActorChoice, readonly eighths: number | null, readonly legal = false) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const e = (this.legal ? recent(m.escrows.filter((x) => NEXT[this.action][x.state]), this.k) : undefined) ?? recent(m.escrows, this.k);
    if (!e) return;
    const proper: Record<EscrowAction, ActorChoice> = {
      deliver: 'payee', release: 'payer', refund: 'payee', dispute: this.k % 2 ? 'payer' : 'payee', resolve_release: 'admin', resolve_refund: 'admin',
      resolve_split: 'admin', expire: 'system', auto_release: 'system',
    };
    const choice = this.actor === 'proper' ? proper[this.action] : this.actor;
    const outsider = m.agents.find((a) => a !== e.payer && a !== e.payee)!;
    const actor: EscrowActor = choice === 'admin' ? { kind: 'admin' } : choice === 'system' ? { kind: 'system' }
      : { kind: 'agent', agentId: choice === 'payer' ? e.payer : choice === 'payee' ? e.payee : outsider };
    const remaining = e.amount - e.released - e.refunded;
    const part = this.eighths === null ? undefined : (remaining * BigInt(this.eighths)) / 8n;
    const opts = this.action === 'release' ? { amount: part } : this.action === 'resolve_split' ? { payeeAmount: part } : {};
    const from = e.state;
    const code = modelEscrowAct(m, e, this.action, actor, opts);
    count(m, `escrow.${this.action}: ${code ?? (from === e.state && this.action === 'release' ? 'ok (milestone)' : 'ok')}`);
    await expectAppError(r.escrow.act(e.id, this.action, actor, opts), code, this.toString());
    await checkInvariants(m, r);
  }
  toString = () => `escrow.${this.action}(${this.legal ? 'legal ' : ''}#${this.k}, by ${this.actor}${this.eighths === null ? '' : `, ${this.eighths}/8`})`;
}

// ---------------------------------------------------------------------------------------------------

const AGENTS = 4;
const agentIx = fc.integer({ min: 0, max: AGENTS - 1 });
/** Two agents, rarely the same one. */
const pair = fc.tuple(agentIx, fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: AGENTS - 1 }) }, { weight: 1, arbitrary: fc.constant(0) }))
  .map(([a, d]) => [a, (a + d) % AGENTS] as const);
const amount = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 60 }).map((n) => BigInt(n) * UNIT + BigInt(n % 7)) },
  { weight: 1, arbitrary: fc.constant(0n) },
);

const commandArbitraries: fc.Arbitrary<Cmd>[] = [
  fc.record({ a: agentIx, n: fc.integer({ min: 1, max: 100 }) }).map(({ a, n }) => new Mint(a, BigInt(n) * UNIT)),
  fc.tuple(pair, amount).map(([[f, t], x]) => new Pay(f, t, x, null)),
  fc.tuple(pair, amount).map(([[f, t], x]) => new Pay(f, t, x, null)),
  fc.tuple(pair, amount, fc.option(fc.integer({ min: 1, max: 5 }).map((s) => s * 1000), { nil: undefined, freq: 3 }))
    .map(([[f, t], x, timeout]) => new Pay(f, t, x, timeout ?? 0)),
  fc.tuple(ref, fc.constantFrom('post_pending', 'post_pending', 'void_pending', 'expire_pending'), fc.option(fc.integer({ min: 1, max: 60 }).map((n) => BigInt(n) * UNIT), { nil: undefined }))
    .map(([k, kind, x]) => new Resolve(k, kind as 'post_pending' | 'void_pending' | 'expire_pending', kind === 'post_pending' ? x : undefined)),
  fc.tuple(ref, fc.constantFrom('post_pending', 'post_pending', 'void_pending'), fc.option(fc.integer({ min: 1, max: 30 }).map((n) => BigInt(n) * UNIT), { nil: undefined }))
    .map(([k, kind, x]) => new Resolve(k, kind as 'post_pending' | 'void_pending', kind === 'post_pending' ? x : undefined, true)),
  fc.tuple(ref, fc.constantFrom('same', 'same', 'amount', 'reference')).map(([k, v]) => new Resubmit(k, v as 'same' | 'amount' | 'reference')),
  fc.tuple(fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.boolean()).map(([s, e, t]) => new Advance(s * 1000, e, t)),
  fc.tuple(pair, amount, fc.option(fc.integer({ min: 2, max: 8 }).map((s) => s * 1000), { nil: null }), fc.integer({ min: 1, max: 6 }), fc.constantFrom(0, 250, 1000, 10_000))
    .map(([[p, q], x, exp, review, fee]) => new EscrowCreateCmd(p, q, x, exp, review * 1000, fee)),
  fc.tuple(ref, fc.constantFrom(...ACTIONS), fc.constantFrom<ActorChoice>('proper', 'proper', 'proper', 'proper', 'proper', 'payer', 'payee', 'admin', 'outsider', 'system'), fc.option(fc.integer({ min: 0, max: 10 }), { nil: null, freq: 2 }))
    .map(([k, a, who, e]) => new EscrowActCmd(k, a, who, e)),
  fc.tuple(ref, fc.constantFrom<EscrowAction>('deliver', 'deliver', 'release', 'release', 'release', 'refund', 'dispute', 'dispute', 'resolve_release', 'resolve_refund', 'resolve_split', 'resolve_split'),
    fc.option(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 7 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 8, 9) }), { nil: null }))
    .map(([k, a, e]) => new EscrowActCmd(k, a, 'proper', a === 'release' || a === 'resolve_split' ? e : null, true)),
  fc.tuple(ref, fc.constantFrom<EscrowAction>('dispute', 'resolve_release', 'resolve_refund', 'resolve_split'), fc.option(fc.integer({ min: 0, max: 8 }), { nil: null, freq: 6 }))
    .map(([k, a, e]) => new EscrowActCmd(k, a, 'proper', e, true)),
];
const commands = fc.commands(commandArbitraries, { maxCommands: 80, size: 'max' });

/** Every way a command can end that the fixed scenario must reach (a label matches a coverage key containing it). */
const EVERY_OUTCOME = [
  'posted: created', 'posted: insufficient_funds', 'posted: same_account', 'posted: amount_must_be_positive', 'pending: created',
  'post_pending: created', 'post_pending: amount_exceeds_pending', 'post_pending: pending_expired', 'void_pending: created',
  'void_pending: pending_already_resolved', 'expire_pending: pending_not_expired', 'expire_pending: created', 'pending_not_found', 'resubmit posted: exists',
  'resubmit posted: insufficient_funds', 'resubmit posted: same_account', 'exists_with_different_fields', 'resubmit pending: exists',
  'expireDueHolds: expired some', 'escrow.create: ok', 'escrow.create: insufficient_funds', 'escrow.release: ok', 'escrow.release: ok (milestone)',
  'escrow.release: validation_failed', 'escrow.refund: ok', 'escrow.dispute: ok', 'escrow.resolve_split: ok', 'escrow.resolve_split: validation_failed',
  'escrow.resolve_release: ok', 'escrow.resolve_refund: ok', 'escrow.deliver: ok', 'escrow.deliver: invalid_transition', 'escrow.runDue: fired',
  'escrow.refund: invalid_transition', 'escrow.resolve_release: forbidden', 'escrow.deliver: forbidden', 'escrow.auto_release: invalid_transition',
];

function expectEveryOutcome(coverage: Coverage) {
  for (const label of EVERY_OUTCOME) {
    expect([...coverage.keys()].some((k) => k.includes(label)), `never saw "${label}"; saw ${[...coverage.keys()].sort().join(', ')}`).toBe(true);
  }
}

const printCoverage = (what: string, coverage: Coverage) =>
  // eslint-disable-next-line no-console
  console.log(`${what}:\n${[...coverage].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);

describe(`ledger model (${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: TestDatabase;
  let clock: ManualClock;
  let ledger: LedgerService;
  let escrow: EscrowService;
  const agents: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    clock = new ManualClock(Date.UTC(2026, 10, 1));
    const agentsService = new AgentsService(db.database, clock);
    ledger = new LedgerService(db.database, clock);
    escrow = new EscrowService(db.database, clock, ledger, agentDirectory(db.database));
    agentsService.onCreated.push(async (tx, agent) => { await ledger.openWallet(tx, agent.id); });
    for (let i = 0; i < AGENTS; i++) {
      const { agent } = await agentsService.register({ displayName: `model-${i}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'] });
      agents.push(agent.id);
    }
  });
  afterAll(async () => { await db?.cleanup(); });

  /** Each run starts from an empty ledger (the agents and system accounts stay, with zero counters). */
  async function setup(coverage: Coverage): Promise<{ model: Model; real: Real }> {
    const d = db.database.db;
    await sql`TRUNCATE escrow_events, withdrawals, escrows, ledger_entries, ledger_rejections, ledger_transfers CASCADE`.execute(d);
    await sql`DELETE FROM ledger_accounts WHERE kind = 'escrow'`.execute(d);
    await sql`UPDATE ledger_accounts SET debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0`.execute(d);
    const zero = (noOverdraft: boolean): Acc => ({ noOverdraft, dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
    const accounts = new Map<string, Acc>([[SYSTEM_ACCOUNTS.treasury, zero(false)], [SYSTEM_ACCOUNTS.fees, zero(true)]]);
    for (const a of agents) accounts.set(walletAccountId(a), zero(true));
    const model: Model = { now: clock.now().getTime(), agents, accounts, submitted: new Map(), holdIds: [], holds: new Map(), escrows: [], escrowLegs: 0, steps: 0, coverage };
    return { model, real: { ledger, escrow, clock, db } };
  }

  it('a fixed scenario agrees with the model and exercises every kind of outcome', async () => {
    const U = UNIT;
    const scenario: Cmd[] = [
      new Mint(0, 100n * U),
      // posted transfers, overdraft, zero, same account, and their resubmissions
      new Pay(0, 1, 10n * U, null), new Pay(0, 1, 1000n * U, null), new Pay(0, 0, 10n, null), new Pay(0, 1, 0n, null),
      new Resubmit(0, 'same'), new Resubmit(1, 'same'), new Resubmit(2, 'same'), new Resubmit(3, 'same'), new Resubmit(3, 'amount'), new Resubmit(4, 'reference'),
      // the whole balance can be spent, one unit more cannot
      new Pay(3, 2, 50n * U + 1n, null), new Pay(3, 2, 50n * U, null), new Pay(3, 2, 1n, null),
      // holds: partial post, too much, early expiry, post after timeout, expiry job, void, double resolve, unknown hold
      new Pay(1, 2, 5n * U, 2000), new Resolve(0, 'post_pending', 2n * U, true),
      new Pay(1, 3, 1n * U, 1000), new Pay(1, 2, 5n * U, 2000), new Pay(1, 0, 1000n * U, null), new Resolve(0, 'post_pending', 9n * U, true), new Resolve(0, 'expire_pending', undefined, true),
      new Advance(3000, false, false), new Resolve(0, 'post_pending', undefined, true), new Resolve(0, 'void_pending', undefined, true),
      new Resolve(0, 'expire_pending', undefined, true), new Advance(1000, true, false), new Resolve(0, 'expire_pending', undefined, false),
      new Pay(1, 2, 3n * U, 0), new Resubmit(0, 'same'), new Resolve(0, 'void_pending', undefined, true), new Resolve(0, 'void_pending', undefined, false), new Resolve(0, 'post_pending', undefined, false),
      new Pay(1, 2, 0n, 1000), new Resolve(0, 'void_pending', undefined, false), new Resubmit(0, 'same'), new Resubmit(1, 'same'),
      // escrow: milestone, too large a milestone, deliver, outsider, auto release, refund of a released one
      new EscrowCreateCmd(0, 1, 10n * U, null, 5000, 250), new EscrowCreateCmd(0, 1, 100_000n * U, null, 5000, 250),
      new EscrowActCmd(0, 'release', 'proper', 2, true), new EscrowActCmd(0, 'release', 'proper', 9, true), new EscrowActCmd(0, 'deliver', 'proper', null, true),
      new EscrowActCmd(0, 'deliver', 'outsider', null, false), new EscrowActCmd(0, 'auto_release', 'system', null, false), new EscrowActCmd(0, 'release', 'payee', null, false),
      new Advance(6000, false, true), new EscrowActCmd(0, 'refund', 'proper', null, false),
      // expiry by the timer, deliver too late, full release, refund, disputes and their resolutions
      new EscrowCreateCmd(0, 2, 5n * U, 2000, 5000, 1000), new Advance(2000, false, false), new EscrowActCmd(0, 'deliver', 'proper', null, false),
      new EscrowActCmd(0, 'expire', 'proper', null, false), new Advance(1000, false, true),
      new EscrowCreateCmd(0, 3, 5n * U, null, 5000, 10_000), new EscrowActCmd(0, 'release', 'proper', null, true),
      new EscrowCreateCmd(0, 3, 5n * U, 9000, 5000, 250), new EscrowActCmd(0, 'refund', 'proper', null, true),
      new EscrowCreateCmd(0, 1, 5n * U, null, 5000, 250), new EscrowActCmd(0, 'dispute', 'payee', null, true), new EscrowActCmd(0, 'resolve_release', 'payer', null, true),
      new EscrowActCmd(0, 'resolve_release', 'admin', null, true),
      new EscrowCreateCmd(0, 1, 5n * U, null, 5000, 250), new EscrowActCmd(0, 'deliver', 'proper', null, true), new EscrowActCmd(0, 'dispute', 'payer', null, true),
      new Advance(6000, false, true), new EscrowActCmd(0, 'resolve_refund', 'admin', null, true),
      new EscrowCreateCmd(0, 1, 5n * U, null, 5000, 250), new EscrowActCmd(0, 'release', 'proper', 1, true), new EscrowActCmd(0, 'dispute', 'proper', null, true),
      new EscrowActCmd(0, 'resolve_split', 'admin', null, true), new EscrowActCmd(0, 'resolve_split', 'admin', 9, true), new EscrowActCmd(0, 'resolve_split', 'admin', 3, true),
    ];
    const coverage: Coverage = new Map();
    const { model, real } = await setup(coverage);
    for (let i = 0; i < AGENTS; i++) await new Mint(i, 50n * UNIT).run(model, real);
    await fc.asyncModelRun(async () => ({ model, real }), scenario);
    expect(model.steps).toBe(scenario.length + AGENTS);
    printCoverage('ledger model, fixed scenario', coverage);
    expectEveryOutcome(coverage);
  });

  it('agrees with the model after every command of random sequences, and every invariant holds', async () => {
    const numRuns = Number(process.env.LEDGER_MODEL_RUNS ?? 55);
    const started = Date.now();
    const coverage: Coverage = new Map();
    let totalCommands = 0;
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const { model, real } = await setup(coverage);
        // Seed money so that most runs spend, hold and escrow from the first command on.
        for (let i = 0; i < AGENTS; i++) await new Mint(i, 50n * UNIT).run(model, real);
        await fc.asyncModelRun(async () => ({ model, real }), cmds);
        totalCommands += model.steps;
      }),
      { numRuns, verbose: 1 },
    );
    // eslint-disable-next-line no-console
    console.log(`ledger model: ${numRuns} random runs, ${totalCommands} checked steps in ${Date.now() - started} ms`);
    printCoverage('ledger model, random runs', coverage);
    expect(totalCommands).toBeGreaterThan(numRuns * 10);
    // the generators reach the main paths on their own (the fixed scenario reaches every path); a short
    // run (LEDGER_MODEL_RUNS) may not
    if (numRuns >= 20) for (const label of ['posted: created', 'posted: insufficient_funds', 'pending: created', 'post_pending: created', 'void_pending: created', 'exists_with_different_fields', 'escrow.create: ok', 'escrow.release: ok']) {
      expect([...coverage.keys()].some((k) => k.includes(label)), `random runs never saw "${label}"`).toBe(true);
    }
  }, 600_000);
});
