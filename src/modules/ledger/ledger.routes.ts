import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthHeader, IdParams, Page, errors, IdemHeader } from '../../platform/http/schemas.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { assertActsFor, requireAgent, type Principal } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import type { Services } from '../../app.js';
import type { RejectCode } from './ledger.engine.js';
import { accountIdFromKey, walletAccountId, type HistoryRow, type Outcome, type StoredTransfer } from './ledger.service.js';

export { escrowJson, transferJson };
import type { EscrowAction } from './escrow.js';
import { escrowJson, transferJson, withdrawalJson } from './ledger.json.js';
import {
  Audit, Balance, BatchBody, BatchResult, DepositBody, Escrow, EscrowActionBody, EscrowCreate, EscrowResolveBody, HistoryItem, HistoryQuery,
  MintBody, Transfer, TransferCreate, Withdrawal, WithdrawalCreate,
} from './ledger.schemas.js';

function historyJson(h: HistoryRow) {
  return {
    seq: h.seq.toString(), transferId: h.transferId, kind: h.kind, code: h.code, direction: h.side === 'credit' ? 'in' as const : 'out' as const,
    counterparty: h.counterpartyKey, amount: formatAmount(h.postedDelta), held: formatAmount(h.pendingDelta),
    balanceAfter: formatAmount(h.balanceAfter), availableAfter: formatAmount(h.availableAfter), reference: h.reference,
    createdAt: h.createdAt.toISOString(),
  };
}

/** A ledger rejection as an API error (the same on every retry of the same id). */
export function rejectionError(code: RejectCode): AppError {
  switch (code) {
    case 'insufficient_funds': return new AppError('insufficient_funds', 'the available balance is too low for this transfer', { reason: code });
    case 'account_not_found': return new AppError('not_found', 'an account of this transfer does not exist', { reason: code });
    case 'exists_with_different_fields': return new AppError('conflict', 'a transfer with this id exists with other fields', { reason: code });
    case 'same_account': return new AppError('validation_failed', 'a transfer needs two different accounts', { reason: code });
    case 'amount_must_be_positive': return new AppError('validation_failed', 'amount must be greater than zero', { reason: code });
    case 'overflows_account': return new AppError('unprocessable', 'the transfer would overflow an account\'s counters', { reason: code });
    default: return new AppError('unprocessable', `the transfer was rejected: ${code}`, { reason: code });
  }
}

function sendOutcome(reply: FastifyReply, o: Outcome | undefined) {
  if (!o) throw new Error('no outcome');
  if (o.status === 'rejected') throw rejectionError(o.code);
  return reply.code(o.status === 'created' ? 201 : 200).header('location', `/v1/transfers/${o.id}`).send(transferJson(o.transfer));
}

const CSV_COLUMNS = ['seq', 'transferId', 'createdAt', 'kind', 'code', 'direction', 'counterparty', 'amount', 'held', 'balanceAfter', 'availableAfter', 'reference'] as const;
function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function ledgerRoutes(fastify: FastifyInstance, opts: { services: Services }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { ledger, escrow, bridge, agents } = opts.services;
  const tags = ['ledger'];
  const escrowTags = ['escrow'];
  const adminTags = ['operator'];

  const mustAgentExist = async (id: string) => { await agents.get(id); };

  app.get('/v1/agents/:id/balance', {
    schema: {
      tags, summary: 'Wallet balance', params: IdParams, security: AuthHeader,
      description: 'Balance and available balance (balance minus holds) of the agent\'s wallet. Only the agent itself or the operator.',
      response: { 200: Balance, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    assertActsFor(req.principal, req.params.id);
    const a = await ledger.getAccount(walletAccountId(req.params.id));
    if (!a) throw notFound('agent', req.params.id);
    const balance = a.credits_posted - a.debits_posted;
    return {
      agentId: req.params.id, accountId: a.id, balance: formatAmount(balance), available: formatAmount(balance - a.debits_pending),
      held: formatAmount(a.debits_pending), incoming: formatAmount(a.credits_pending), asOf: fastify.deps.clock.now().toISOString(),
    };
  });

  app.post('/v1/transfers', {
    schema: {
      tags, summary: 'Pay another agent', headers: IdemHeader, body: TransferCreate, security: AuthHeader,
      description: 'Moves tokens from the caller\'s wallet to another agent\'s wallet. The transfer id is its idempotency key: ' +
        'a retry with the same id and fields returns the original outcome (201 first, 200 after), including an original rejection; ' +
        'the same id with other fields is 409.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const from = requireAgent(req.principal);
    if (req.body.to === from) throw new AppError('validation_failed', 'cannot pay yourself', { errors: [{ field: 'body.to', message: 'is the caller' }] });
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero', { errors: [{ field: 'body.amount', message: 'must be > 0' }] });
    const [o] = await ledger.execute([{
      id: req.body.id ?? ledger.newTransferId(), kind: 'posted', debitAccountId: walletAccountId(from), creditAccountId: walletAccountId(req.body.to),
      amount, code: 'payment', reference: req.body.memo ?? null,
    }]);
    if (o?.status === 'rejected' && o.code === 'account_not_found') throw notFound('agent', req.body.to);
    return sendOutcome(reply, o);
  });

  /** Parties of a transfer: the agents whose wallets it touches (escrow legs: the escrow's parties). */
  async function assertMayRead(p: Principal, t: StoredTransfer) {
    if (p.kind === 'admin') return;
    if (p.kind !== 'agent') throw new AppError('unauthorized', 'an API key is required');
    const mine = walletAccountId(p.agentId);
    if (t.debitAccountId === mine || t.creditAccountId === mine) return;
    const ref = t.reference?.startsWith('escrow:') ? t.reference.slice(7) : undefined;
    if (ref) {
      const e = await escrow.get(ref).catch(() => undefined);
      if (e && (e.payerAgentId === p.agentId || e.payeeAgentId === p.agentId)) return;
    }
    throw new AppError('forbidden', 'only the parties of a transfer and the operator may read it');
  }

  app.get('/v1/transfers/:id', {
    schema: { tags, summary: 'Get a transfer', params: IdParams, security: AuthHeader, response: { 200: Transfer, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const t = await ledger.getTransfer(req.params.id);
    if (!t) throw notFound('transfer', req.params.id);
    await assertMayRead(req.principal, t);
    return transferJson(t);
  });

  app.get('/v1/agents/:id/transfers', {
    schema: {
      tags, summary: 'Wallet history', params: IdParams, querystring: HistoryQuery, security: AuthHeader,
      description: 'The wallet\'s entries, newest first, each with the balance after it. Cursor pagination; `format=csv` exports the page as CSV ' +
        '(the next page\'s cursor is in the `Link` header).',
      response: { 200: Page(HistoryItem), ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req, reply) => {
    assertActsFor(req.principal, req.params.id);
    await mustAgentExist(req.params.id);
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor, 1);
    let beforeSeq: bigint | undefined;
    if (after) {
      try { beforeSeq = BigInt(String(after[0])); } catch { throw new AppError('validation_failed', 'cursor is not valid'); }
    }
    const rows = await ledger.history(walletAccountId(req.params.id), { beforeSeq, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor([page[page.length - 1]!.seq.toString()]) : null;
    const data = page.map(historyJson);
    if (req.query.format === 'csv') {
      const lines = [CSV_COLUMNS.join(','), ...data.map((d) => CSV_COLUMNS.map((c) => csvCell(d[c])).join(','))];
      if (nextCursor) reply.header('link', `</v1/agents/${req.params.id}/transfers?format=csv&limit=${limit}&cursor=${nextCursor}>; rel="next"`);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="transfers-${req.params.id}.csv"`)
        .serializer((s: string) => s).send(`${lines.join('\n')}\n` as never);
    }
    return { data, nextCursor };
  });

  // Escrow ------------------------------------------------------------------------------------------

  app.post('/v1/escrows', {
    schema: {
      tags: escrowTags, summary: 'Open an escrow', headers: IdemHeader, body: EscrowCreate, security: AuthHeader,
      description: 'Moves `amount` from the caller\'s wallet into a new escrow account for `payee`. The payee delivers; the payer releases ' +
        '(in parts for milestones); after delivery the escrow releases automatically when the review window passes; an undelivered escrow ' +
        'refunds at `expiresAt`. Releases pay the payee minus the platform fee in one linked ledger step.',
      response: { 201: Escrow, 200: Escrow, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const payer = requireAgent(req.principal);
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero', { errors: [{ field: 'body.amount', message: 'must be > 0' }] });
    if (req.body.id) {
      const existing = await escrow.get(req.body.id).catch(() => undefined);
      if (existing) {
        if (existing.payerAgentId !== payer || existing.payeeAgentId !== req.body.payee || existing.amount !== amount) {
          throw new AppError('conflict', `escrow ${req.body.id} exists with other fields`);
        }
        return reply.code(200).send(escrowJson(existing, await escrow.events(existing.id)));
      }
    }
    const e = await escrow.create({
      id: req.body.id, payerAgentId: payer, payeeAgentId: req.body.payee, amount, reference: req.body.reference ?? null,
      expiresAt: req.body.expiresAt ? new Date(req.body.expiresAt) : null,
      reviewWindowMs: (req.body.reviewWindowSeconds ?? 86400) * 1000,
    }, req.principal);
    return reply.code(201).header('location', `/v1/escrows/${e.id}`).send(escrowJson(e, await escrow.events(e.id)));
  });

  app.get('/v1/escrows/:id', {
    schema: {
      tags: escrowTags, summary: 'Get an escrow with its transitions', params: IdParams, security: AuthHeader,
      response: { 200: Escrow, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const e = await escrow.get(req.params.id);
    if (req.principal.kind === 'agent' && req.principal.agentId !== e.payerAgentId && req.principal.agentId !== e.payeeAgentId) {
      throw new AppError('forbidden', 'only the parties of an escrow and the operator may read it');
    }
    return escrowJson(e, await escrow.events(e.id));
  });

  const actions: Array<{ action: EscrowAction; summary: string; description: string }> = [
    { action: 'deliver', summary: 'Report delivery (payee)', description: 'held -> delivered; starts the review window after which the escrow releases automatically.' },
    { action: 'release', summary: 'Release to the payee (payer)', description: 'held|delivered -> released, or a milestone: `amount` releases part and the escrow stays open.' },
    { action: 'refund', summary: 'Refund the payer (payee)', description: 'held|delivered -> refunded: the remaining amount returns to the payer.' },
    { action: 'dispute', summary: 'Open a dispute (either party)', description: 'held|delivered -> disputed; timers stop until the operator resolves it.' },
  ];
  for (const a of actions) {
    app.post(`/v1/escrows/:id/${a.action}`, {
      schema: {
        tags: escrowTags, summary: a.summary, description: `${a.description} Illegal transitions are 409 invalid_transition.`,
        params: IdParams, headers: IdemHeader, body: EscrowActionBody, security: AuthHeader,
        response: { 200: Escrow, ...errors(400, 401, 403, 404, 409) },
      },
      config: { auth: 'authenticated' },
    }, async (req) => {
      if (a.action !== 'release' && req.body.amount !== undefined) throw new AppError('validation_failed', `${a.action} takes no amount`);
      const amount = req.body.amount !== undefined ? parseAmount(req.body.amount) : undefined;
      const e = await escrow.act(req.params.id, a.action, req.principal, { amount, reason: req.body.reason ?? null });
      return escrowJson(e, await escrow.events(e.id));
    });
  }

  app.post('/v1/escrows/:id/resolve', {
    schema: {
      tags: [...escrowTags, ...adminTags], summary: 'Resolve a dispute (operator)', params: IdParams, headers: IdemHeader, body: EscrowResolveBody,
      security: AuthHeader, description: 'disputed -> resolved_release | resolved_refund | resolved_split (`payeeAmount` of the remaining to the payee, the rest refunded).',
      response: { 200: Escrow, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const { outcome } = req.body;
    if (outcome !== 'split' && req.body.payeeAmount !== undefined) throw new AppError('validation_failed', 'payeeAmount applies only to a split');
    const e = await escrow.act(req.params.id, `resolve_${outcome}`, req.principal, {
      payeeAmount: req.body.payeeAmount !== undefined ? parseAmount(req.body.payeeAmount) : undefined, reason: req.body.reason ?? null,
    });
    return escrowJson(e, await escrow.events(e.id));
  });

  // Operator: mint, deposits, batches, audit --------------------------------------------------------

  app.post('/v1/admin/mint', {
    schema: {
      tags: adminTags, summary: 'Mint tokens to an agent (operator)', headers: IdemHeader, body: MintBody, security: AuthHeader,
      description: 'Moves tokens from the treasury to the agent\'s wallet (development and operator grants). With `id`, a retry is a no-op.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => {
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero');
    const [o] = await ledger.execute([{
      id: req.body.id ?? ledger.newTransferId(), kind: 'posted', debitAccountId: accountIdFromKey('system:treasury'),
      creditAccountId: walletAccountId(req.body.agentId), amount, code: 'mint', reference: req.body.memo ?? null,
    }]);
    if (o?.status === 'rejected' && o.code === 'account_not_found') throw notFound('agent', req.body.agentId);
    return sendOutcome(reply, o);
  });

  app.post('/v1/admin/deposits', {
    schema: {
      tags: adminTags, summary: 'Confirm a chain deposit (operator)', headers: IdemHeader, body: DepositBody, security: AuthHeader,
      description: 'Credits the agent with tokens that arrived on the AITBC chain. The chain transaction id makes a repeated confirmation a no-op.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => {
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero');
    await mustAgentExist(req.body.agentId);
    const d = await bridge.confirmDeposit({ chainTxId: req.body.chainTxId, agentId: req.body.agentId, amount });
    return reply.code(d.created ? 201 : 200).send(transferJson(d.transfer));
  });

  app.post('/v1/admin/transfers/batch', {
    schema: {
      tags: adminTags, summary: 'Batch transfers (operator)', headers: IdemHeader, body: BatchBody, security: AuthHeader,
      description: 'Up to 10,000 transfers in one database transaction (reward distribution, royalties). Ids are the idempotency keys: ' +
        're-running a batch is a no-op for the transfers that exist. With `atomic`, all succeed or none.',
      response: { 200: BatchResult, ...errors(400, 401, 403, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const ids = new Set<string>();
    const inputs = req.body.transfers.map((t, i) => {
      if (ids.has(t.id)) throw new AppError('validation_failed', `transfer id ${t.id} appears twice`, { errors: [{ field: `body.transfers.${i}.id`, message: 'duplicate' }] });
      ids.add(t.id);
      const amount = parseAmount(t.amount);
      if (amount <= 0n) throw new AppError('validation_failed', 'amounts must be greater than zero', { errors: [{ field: `body.transfers.${i}.amount`, message: 'must be > 0' }] });
      return {
        id: t.id, kind: 'posted' as const, debitAccountId: accountIdFromKey(t.from), creditAccountId: accountIdFromKey(t.to), amount,
        code: t.code ?? 'batch', reference: t.reference ?? null,
      };
    });
    const out = await ledger.execute(inputs, { atomic: req.body.atomic ?? false, batchId: req.body.batchId });
    return {
      batchId: req.body.batchId ?? null,
      created: out.filter((o) => o.status === 'created').length,
      existing: out.filter((o) => o.status === 'exists').length,
      rejected: out.filter((o) => o.status === 'rejected').length,
      results: out.map((o) => (o.status === 'rejected' ? { id: o.id, status: o.status, code: o.code } : { id: o.id, status: o.status })),
    };
  });

  app.get('/v1/admin/ledger/audit', {
    schema: {
      tags: adminTags, summary: 'Check the ledger\'s invariants (operator)', security: AuthHeader,
      description: 'Recomputes from the stored entries: balances sum to zero, every transfer balances, cached balances equal their entries, ' +
        'no wallet or escrow is below zero counting holds, every escrow\'s amount = released + refunded + held.',
      response: { 200: Audit, ...errors(401, 403) },
    },
    config: { auth: 'admin' },
  }, async () => {
    const a = await ledger.audit();
    return { ...a, supply: formatAmount(a.supply) };
  });

  // Withdrawals --------------------------------------------------------------------------------------

  app.post('/v1/withdrawals', {
    schema: {
      tags, summary: 'Withdraw to the chain', headers: IdemHeader, body: WithdrawalCreate, security: AuthHeader,
      description: 'Holds the amount in the caller\'s wallet and queues the withdrawal for the bridge. Completing it posts the hold; failing it voids it.',
      response: { 201: Withdrawal, ...errors(400, 401, 403, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const agentId = requireAgent(req.principal);
    const amount = parseAmount(req.body.amount);
    if (amount <= 0n) throw new AppError('validation_failed', 'amount must be greater than zero');
    const w = await bridge.requestWithdrawal({ id: req.body.id, agentId, amount, address: req.body.address });
    return reply.code(201).header('location', `/v1/withdrawals/${w.id}`).send(withdrawalJson(w));
  });

  app.get('/v1/withdrawals', {
    schema: {
      tags, summary: 'List withdrawals', security: AuthHeader,
      querystring: Type.Object({
        state: Type.Optional(Type.Union([Type.Literal('queued'), Type.Literal('completed'), Type.Literal('failed')])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
      }, { additionalProperties: false }),
      description: 'An agent sees its own; the operator sees the queue of all agents (oldest first).',
      response: { 200: Type.Object({ data: Type.Array(Withdrawal) }), ...errors(400, 401) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const agentId = req.principal.kind === 'agent' ? req.principal.agentId : undefined;
    const rows = await bridge.listWithdrawals({ state: req.query.state, agentId, limit: req.query.limit ?? 100 });
    return { data: rows.map(withdrawalJson) };
  });

  app.get('/v1/withdrawals/:id', {
    schema: { tags, summary: 'Get a withdrawal', params: IdParams, security: AuthHeader, response: { 200: Withdrawal, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => {
    const w = await bridge.getWithdrawal(req.params.id);
    assertActsFor(req.principal, w.agentId);
    return withdrawalJson(w);
  });

  app.post('/v1/admin/withdrawals/:id/complete', {
    schema: {
      tags: adminTags, summary: 'Mark a withdrawal sent on chain (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      body: Type.Object({ chainTxId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 200: Withdrawal, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => withdrawalJson(await bridge.completeWithdrawal(req.params.id, req.body.chainTxId)));

  app.post('/v1/admin/withdrawals/:id/fail', {
    schema: {
      tags: adminTags, summary: 'Fail a withdrawal and release its hold (operator)', params: IdParams, headers: IdemHeader, security: AuthHeader,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      response: { 200: Withdrawal, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => withdrawalJson(await bridge.failWithdrawal(req.params.id, req.body.reason)));
}
