/**
 * The reputation module as the app sees it: a service (implementing ReputationPort for other modules)
 * and its routes.
 */
import type { FastifyInstance } from 'fastify';
import { ReputationService, type ReputationDeps } from './reputation.service.js';
import { reputationRoutes as routes } from './reputation.routes.js';

export { ReputationService };
export type { ReputationDeps };

export function createReputationService(deps: ReputationDeps): ReputationService {
  const service = new ReputationService(deps);
  deps.agents.contributors.push({ section: 'reputation', contribute: (agent) => service.profile(agent.id) });
  return service;
}

export async function reputationRoutes(app: FastifyInstance, opts: { reputation: ReputationService }): Promise<void> {
  await routes(app, opts);
}
