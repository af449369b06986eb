/** HTTP shapes of the ledger: balances, transfers, history, escrows, mint, deposits, withdrawals. */
import { Type, type Static } from 'typebox';
import { Amount, Timestamp, Uuid, PageQuery } from '../../platform/http/schemas.js';
import { ESCROW_STATES, type EscrowState as EscrowStateT } from './escrow.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Memo = Type.String({ maxLength: 500, description: 'Free text stored with the transfer' });

export const Balance = Type.Object({
  agentId: Uuid,
  accountId: Uuid,
  balance: Type.String({ description: 'Posted credits - posted debits' }),
  available: Type.String({ description: 'Balance minus holds (pending debits): what the agent can spend' }),
  held: Type.String({ description: 'Pending debits (holds, e.g. queued withdrawals)' }),
  incoming: Type.String({ description: 'Pending credits' }),
  asOf: Timestamp,
});

export const Transfer = Type.Object({
  id: Uuid,
  kind: Type.String({ description: 'posted | pending | post_pending | void_pending | expire_pending' }),
  debitAccountId: Uuid,
  creditAccountId: Uuid,
  amount: Type.String(),
  pendingId: Nullable(Uuid),
  timeoutAt: Nullable(Timestamp),
  code: Type.String({ description: 'What the transfer is for: payment, mint, deposit, escrow_fund, escrow_release, platform_fee, ...' }),
  reference: Nullable(Type.String()),
  batchId: Nullable(Uuid),
  createdAt: Timestamp,
});

export const TransferCreate = Type.Object({
  id: Type.Optional(Type.String({ format: 'uuid', description: 'Client-chosen id; a retry with the same id and fields returns the original outcome' })),
  to: Type.String({ format: 'uuid', description: 'The receiving agent' }),
  amount: Amount,
  memo: Type.Optional(Memo),
}, { additionalProperties: false });
export type TransferCreate = Static<typeof TransferCreate>;

export const HistoryItem = Type.Object({
  seq: Type.String({ description: 'Entry sequence number (monotonic)' }),
  transferId: Uuid,
  kind: Type.String(),
  code: Type.String(),
  direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  counterparty: Type.String({ description: 'The other account\'s key: wallet:<agentId>, escrow:<id>, system:fees, ...' }),
  amount: Type.String({ description: 'Posted amount of this entry' }),
  held: Type.String({ description: 'Change of holds (pending) on this account' }),
  balanceAfter: Type.String(),
  availableAfter: Type.String(),
  reference: Nullable(Type.String()),
  createdAt: Timestamp,
});

export const HistoryQuery = Type.Object({
  ...PageQuery,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 50, description: 'Page size (1-10000; CSV exports use large pages)' })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
}, { additionalProperties: false });

export const EscrowState = Type.Unsafe<EscrowStateT>(Type.String({ enum: [...ESCROW_STATES] }));

export const Escrow = Type.Object({
  id: Uuid,
  accountId: Uuid,
  payerAgentId: Uuid,
  payeeAgentId: Uuid,
  amount: Type.String(),
  released: Type.String({ description: 'Gross amount released to the payee so far (fees included)' }),
  refunded: Type.String(),
  fees: Type.String(),
  remaining: Type.String({ description: 'Still held in escrow' }),
  feeBps: Type.Integer({ description: 'Platform fee on releases, in basis points' }),
  state: EscrowState,
  reference: Nullable(Type.String()),
  expiresAt: Nullable(Timestamp),
  reviewWindowSeconds: Type.Number(),
  autoReleaseAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  events: Type.Optional(Type.Array(Type.Object({
    seq: Type.String(),
    fromState: Nullable(Type.String()),
    toState: Type.String(),
    action: Type.String(),
    actor: Type.String(),
    amount: Nullable(Type.String()),
    detail: Nullable(Type.Record(Type.String(), Type.Unknown())),
    at: Timestamp,
  }))),
});

export const EscrowCreate = Type.Object({
  id: Type.Optional(Type.String({ format: 'uuid' })),
  payee: Type.String({ format: 'uuid', description: 'The agent to be paid' }),
  amount: Amount,
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Refund to the payer if not delivered by then' })),
  reviewWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 90 * 86400, default: 86400, description: 'After delivery, release automatically after this long unless disputed' })),
  reference: Type.Optional(Memo),
}, { additionalProperties: false });
export type EscrowCreate = Static<typeof EscrowCreate>;

export const EscrowActionBody = Type.Object({
  amount: Type.Optional(Amount),
  reason: Type.Optional(Memo),
}, { additionalProperties: false });

export const EscrowResolveBody = Type.Object({
  outcome: Type.Union([Type.Literal('release'), Type.Literal('refund'), Type.Literal('split')]),
  payeeAmount: Type.Optional(Amount),
  reason: Type.Optional(Memo),
}, { additionalProperties: false });

export const MintBody = Type.Object({
  id: Type.Optional(Type.String({ format: 'uuid' })),
  agentId: Type.String({ format: 'uuid' }),
  amount: Amount,
  memo: Type.Optional(Memo),
}, { additionalProperties: false });

export const DepositBody = Type.Object({
  chainTxId: Type.String({ minLength: 1, maxLength: 200, description: 'The chain transaction id; confirming it twice credits once' }),
  agentId: Type.String({ format: 'uuid' }),
  amount: Amount,
}, { additionalProperties: false });

const AccountRef = Type.String({
  pattern: '^(wallet:[0-9a-fA-F-]{36}|escrow:[0-9a-fA-F-]{36}|system:(treasury|fees|rewards|bridge))$',
  errorMessage: 'must be an account reference: wallet:<agentId>, escrow:<escrowId> or system:treasury|fees|rewards|bridge',
  description: 'An account key: wallet:<agentId>, escrow:<escrowId> or system:<treasury|fees|rewards|bridge>',
});

export const BatchBody = Type.Object({
  batchId: Type.Optional(Type.String({ format: 'uuid' })),
  atomic: Type.Optional(Type.Boolean({ default: false, description: 'All transfers succeed or fail together' })),
  transfers: Type.Array(Type.Object({
    id: Type.String({ format: 'uuid' }),
    from: AccountRef,
    to: AccountRef,
    amount: Amount,
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 50, pattern: '^[a-z0-9_]+$', errorMessage: 'must be 1 to 50 lower-case letters, digits or underscores, e.g. "payment"' })),
    reference: Type.Optional(Memo),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 10000 }),
}, { additionalProperties: false });

export const BatchResult = Type.Object({
  batchId: Nullable(Uuid),
  created: Type.Integer(),
  existing: Type.Integer(),
  rejected: Type.Integer(),
  results: Type.Array(Type.Object({ id: Uuid, status: Type.String(), code: Type.Optional(Type.String()) })),
});

export const Withdrawal = Type.Object({
  id: Uuid,
  agentId: Uuid,
  amount: Type.String(),
  address: Type.String(),
  holdTransferId: Uuid,
  state: Type.Union([Type.Literal('queued'), Type.Literal('completed'), Type.Literal('failed')]),
  chainTxId: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const WithdrawalCreate = Type.Object({
  id: Type.Optional(Type.String({ format: 'uuid' })),
  amount: Amount,
  address: Type.String({ minLength: 1, maxLength: 200, description: 'Destination address on the AITBC chain' }),
}, { additionalProperties: false });

export const Audit = Type.Object({
  ok: Type.Boolean(),
  violations: Type.Array(Type.String()),
  accounts: Type.Integer(),
  transfers: Type.Integer(),
  supply: Type.String({ description: 'Tokens in circulation: minted plus deposited minus withdrawn' }),
});
