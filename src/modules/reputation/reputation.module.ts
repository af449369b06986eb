/**
 * The reputation module as the app sees it: a service (implementing ReputationPort for other modules)
 * and its routes. Its profile section is wired in app.ts (`reputation.profile`).
 */
import type { LeaderboardExtras } from './reputation.deps.js';
import type { FastifyInstance } from 'fastify';
import { ReputationService } from './reputation.service.js';
import type { ReputationDeps } from './reputation.deps.js';
import { reputationRoutes as routes } from './reputation.routes.js';

export { ReputationService };
export type { ReputationDeps };

export function createReputationService(deps: ReputationDeps): ReputationService {
  return new ReputationService(deps);
}

export async function reputationRoutes(app: FastifyInstance, opts: { reputation: ReputationService; extras?: LeaderboardExtras | undefined }): Promise<void> {
  await routes(app, opts);
}
