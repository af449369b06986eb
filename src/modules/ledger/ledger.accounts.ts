/** The ledger's account ids: derived from each account's key, so every process names the same account the same way. */
import { uuidFromName } from '../../platform/ids.js';

export const accountIdFromKey = (key: string) => uuidFromName(`account:${key}`);
export const walletAccountId = (agentId: string) => accountIdFromKey(`wallet:${agentId}`);
export const escrowAccountId = (escrowId: string) => accountIdFromKey(`escrow:${escrowId}`);

/** The platform's own accounts (the treasury may go negative: its negative balance is the supply in circulation). */
export const SYSTEM_ACCOUNTS = {
  treasury: accountIdFromKey('system:treasury'),
  fees: accountIdFromKey('system:fees'),
  rewards: accountIdFromKey('system:rewards'),
  bridge: accountIdFromKey('system:bridge'),
} as const;
