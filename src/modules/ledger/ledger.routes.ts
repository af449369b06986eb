/**
 * The ledger over HTTP: wallet balances, payments, transfers, wallet history, and the operator's mint,
 * deposits, batches and audit; escrows (escrow.routes.ts) and withdrawals (withdrawals.routes.ts) are
 * registered with it. Routes validate, call one service method and format the answer.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuthHeader, IdParams, Page, errors, IdemHeader } from '../../platform/http/schemas.js';
import { AppError } from '../../platform/http/errors.js';
import { assertActsFor, requireAgent } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import type { LocalBridge } from './bridge.service.js';
import type { EscrowService } from './escrow.service.js';
import { escrowRoutes } from './escrow.routes.js';
import type { LedgerService } from './ledger.service.js';
import type { HistoryRow, RecordedTransfer } from './ledger.types.js';
import { transferJson } from './ledger.json.js';
import { Audit, Balance, BatchBody, BatchResult, DepositBody, HistoryItem, HistoryQuery, MintBody, Transfer, TransferCreate } from './ledger.schemas.js';
import { withdrawalsRoutes } from './withdrawals.routes.js';

function historyJson(h: HistoryRow) {
  return {
    seq: h.seq.toString(), transferId: h.transferId, kind: h.kind, code: h.code, direction: h.side === 'credit' ? 'in' as const : 'out' as const,
    counterparty: h.counterpartyKey, amount: formatAmount(h.postedDelta), held: formatAmount(h.pendingDelta),
    balanceAfter: formatAmount(h.balanceAfter), availableAfter: formatAmount(h.availableAfter), reference: h.reference,
    createdAt: h.createdAt.toISOString(),
  };
}

/** 201 with its location when this request created the transfer, 200 when an earlier one did. */
function sendTransfer(reply: FastifyReply, r: RecordedTransfer) {
  return reply.code(r.created ? 201 : 200).header('location', `/v1/transfers/${r.transfer.id}`).send(transferJson(r.transfer));
}

const CSV_COLUMNS = ['seq', 'transferId', 'createdAt', 'kind', 'code', 'direction', 'counterparty', 'amount', 'held', 'balanceAfter', 'availableAfter', 'reference'] as const;
function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function ledgerRoutes(fastify: FastifyInstance, opts: { ledger: LedgerService; escrow: EscrowService; bridge: LocalBridge }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { ledger, bridge } = opts;
  const tags = ['ledger'];
  const adminTags = ['operator'];
  await fastify.register(escrowRoutes, { escrow: opts.escrow });
  await fastify.register(withdrawalsRoutes, { bridge });

  app.get('/v1/agents/:id/balance', {
    schema: {
      tags, summary: 'Wallet balance', params: IdParams, security: AuthHeader,
      description: 'Balance and available balance (balance minus holds) of the agent\'s wallet. Only the agent itself or the operator.',
      response: { 200: Balance, ...errors(400, 401, 403, 404) },
    },
    config: { auth: 'authenticated' },
  }, async (req) => {
    assertActsFor(req.principal, req.params.id);
    const b = await ledger.walletBalance(req.params.id);
    return {
      agentId: b.agentId, accountId: b.accountId, balance: formatAmount(b.balance), available: formatAmount(b.available),
      held: formatAmount(b.held), incoming: formatAmount(b.incoming), asOf: b.asOf.toISOString(),
    };
  });

  app.post('/v1/transfers', {
    schema: {
      tags, summary: 'Pay another agent', headers: IdemHeader, body: TransferCreate, security: AuthHeader,
      description: 'Moves tokens from the caller\'s wallet to another agent\'s wallet. The transfer id is its idempotency key: ' +
        'a retry with the same id and fields returns the original outcome (201 first, 200 after), including an original rejection; ' +
        'the same id with other fields is 409. The payer\'s spend mandate (`PUT /v1/agents/{id}/mandate`) binds it as it binds escrow funding, ' +
        'against the same daily budget: over `perTrade` or today\'s `perDay`, or after the mandate\'s `expiresAt`, it is refused with 409 mandate_exceeded ' +
        'naming the `limit` (nothing moves; such a refusal is not stored, so the id stays free). A suspended agent gets 409 risk_restricted.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409, 422) },
    },
    config: { auth: 'agent' },
  }, async (req, reply) => {
    const r = await ledger.pay({
      id: req.body.id, fromAgentId: requireAgent(req.principal), toAgentId: req.body.to, amount: parseAmount(req.body.amount), memo: req.body.memo ?? null,
    });
    return sendTransfer(reply, r);
  });

  app.get('/v1/transfers/:id', {
    schema: { tags, summary: 'Get a transfer', params: IdParams, security: AuthHeader, response: { 200: Transfer, ...errors(400, 401, 403, 404) } },
    config: { auth: 'authenticated' },
  }, async (req) => transferJson(await ledger.transferFor(req.principal, req.params.id)));

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
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor, 1);
    let beforeSeq: bigint | undefined;
    if (after) {
      try { beforeSeq = BigInt(String(after[0])); } catch { throw new AppError('validation_failed', 'cursor is not valid'); }
    }
    const rows = await ledger.walletHistory(req.params.id, { beforeSeq, limit: limit + 1 });
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

  // Operator: mint, deposits, batches, audit --------------------------------------------------------

  app.post('/v1/admin/mint', {
    schema: {
      tags: adminTags, summary: 'Mint tokens to an agent (operator)', headers: IdemHeader, body: MintBody, security: AuthHeader,
      description: 'Moves tokens from the treasury to the agent\'s wallet (development and operator grants). With `id`, a retry is a no-op.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => sendTransfer(reply, await bridge.mint({ id: req.body.id, agentId: req.body.agentId, amount: parseAmount(req.body.amount), memo: req.body.memo ?? null })));

  app.post('/v1/admin/deposits', {
    schema: {
      tags: adminTags, summary: 'Confirm a chain deposit (operator)', headers: IdemHeader, body: DepositBody, security: AuthHeader,
      description: 'Credits the agent with tokens that arrived on the AITBC chain. The chain transaction id makes a repeated confirmation a no-op.',
      response: { 201: Transfer, 200: Transfer, ...errors(400, 401, 403, 404, 409) },
    },
    config: { auth: 'admin' },
  }, async (req, reply) => sendTransfer(reply, await bridge.confirmDeposit({ chainTxId: req.body.chainTxId, agentId: req.body.agentId, amount: parseAmount(req.body.amount) })));

  app.post('/v1/admin/transfers/batch', {
    schema: {
      tags: adminTags, summary: 'Batch transfers (operator)', headers: IdemHeader, body: BatchBody, security: AuthHeader,
      description: 'Up to 10,000 transfers in one database transaction (reward distribution, royalties). Ids are the idempotency keys: ' +
        're-running a batch is a no-op for the transfers that exist. With `atomic`, all succeed or none.',
      response: { 200: BatchResult, ...errors(400, 401, 403, 409) },
    },
    config: { auth: 'admin' },
  }, async (req) => {
    const out = await ledger.runBatch(
      req.body.transfers.map((t) => ({ id: t.id, from: t.from, to: t.to, amount: parseAmount(t.amount), code: t.code, reference: t.reference ?? null })),
      { atomic: req.body.atomic ?? false, batchId: req.body.batchId },
    );
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
}
