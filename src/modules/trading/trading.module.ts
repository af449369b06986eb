/**
 * The trading module as the app sees it: listings, trade requests, matching, negotiation, agreements.
 * Filled in by the trading issue.
 */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { EscrowService } from '../ledger/escrow.service.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import type { BackgroundJob } from '../module.js';

export interface TradingDeps {
  database: Database;
  clock: Clock;
  agents: AgentsService;
  ledger: LedgerService;
  escrow: EscrowService;
  reputation: ReputationPort;
}

export class TradingService {
  readonly jobs: BackgroundJob[] = [];
  constructor(readonly deps: TradingDeps) {}
}

export function createTradingService(deps: TradingDeps): TradingService {
  return new TradingService(deps);
}

export async function tradingRoutes(_app: FastifyInstance, _opts: { trading: TradingService }): Promise<void> {}
