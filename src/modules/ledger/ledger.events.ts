/**
 * The stream events of created transfers: one outbox row per transfer that touches an agent's wallet,
 * naming the paying agent (`transfer.sent`) and the paid one (`transfer.received`), with the transfer as
 * REST shows it. Columns as arrays, for the repository's one write statement.
 */
import { perAgentType } from '../../platform/events/outbox.js';
import type { NewTransfer } from './ledger.engine.js';
import { transferJson } from './ledger.json.js';

export interface TransferEventColumns {
  types: string[];
  /** The paying agent, or null when the debited account is not a wallet (treasury, escrow, ...). */
  senders: Array<string | null>;
  receivers: Array<string | null>;
  /** The events' data: one JSON array, element i for row i (one parameter: no array literal to escape and parse). */
  dataJson: string;
}

export function transferEvents(transfers: ReadonlyArray<NewTransfer & { batchId: string | null }>, agentOf: ReadonlyMap<string, string>, now: Date): TransferEventColumns {
  const types: string[] = [];
  const senders: Array<string | null> = [];
  const receivers: Array<string | null> = [];
  const data: string[] = [];
  for (const t of transfers) {
    const from = agentOf.get(t.debitAccountId);
    const to = agentOf.get(t.creditAccountId);
    if (from === undefined && to === undefined) continue;
    const names: string[] = [];
    if (from !== undefined) names.push('transfer.sent');
    if (to !== undefined) names.push('transfer.received');
    types.push(perAgentType(names));
    senders.push(from ?? null);
    receivers.push(to ?? null);
    data.push(JSON.stringify({ transferId: t.id, ...transferJson({ ...t, createdAt: now }) }));
  }
  return { types, senders, receivers, dataJson: `[${data.join(',')}]` };
}
