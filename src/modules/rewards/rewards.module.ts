/**
 * The rewards module as the app sees it: a service (programs, epochs, statements, distribution, royalties,
 * referrals), its job (close due epochs, pay them), its routes, and the escrow's ReleaseSplitter
 * (`service.splitter`: tier fee discounts, the pool's fee share, royalties) that app.ts hands the escrow, and
 * held statements' release and forfeit (`service.held`, its operator routes and the risk review's hook).
 */
import type { FastifyInstance } from 'fastify';
import { RewardsService } from './rewards.service.js';
import type { RewardsDeps } from './rewards.deps.js';
import { rewardsRoutes as routes } from './rewards.routes.js';
import { heldRoutes } from './rewards.held.routes.js';

export { RewardsService };
export type { RewardsDeps };

export function createRewardsService(deps: RewardsDeps): RewardsService {
  return new RewardsService(deps);
}

export async function rewardsRoutes(app: FastifyInstance, opts: { rewards: RewardsService }): Promise<void> {
  await routes(app, opts);
  await heldRoutes(app, opts);
}
