/**
 * The reputation module as the app sees it: a service (implementing ReputationPort for other modules)
 * and its routes. Filled in by the reputation issue.
 */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../platform/db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { Tx } from '../ledger/ledger.service.js';
import type { BackgroundJob } from '../module.js';
import type { DisputeOutcomeEvidence, ReputationPort, TradeOutcomeEvidence } from './reputation.port.js';

export interface ReputationDeps {
  database: Database;
  clock: Clock;
  agents: AgentsService;
}

export class ReputationService implements ReputationPort {
  readonly jobs: BackgroundJob[] = [];
  constructor(readonly deps: ReputationDeps) {}
  async recordTradeOutcome(_tx: Tx, _e: TradeOutcomeEvidence): Promise<void> {}
  async recordDisputeOutcome(_tx: Tx, _e: DisputeOutcomeEvidence): Promise<void> {}
  async trustScores(agentIds: readonly string[]): Promise<Map<string, number>> {
    return new Map(agentIds.map((id) => [id, 0]));
  }
}

export function createReputationService(deps: ReputationDeps): ReputationService {
  return new ReputationService(deps);
}

export async function reputationRoutes(_app: FastifyInstance, _opts: { reputation: ReputationService }): Promise<void> {}
