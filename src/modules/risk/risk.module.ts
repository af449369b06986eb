/** The risk module as the app sees it: its service (projection, detectors, interventions, mandates), its job, routes and the checks trading and escrow run. */
import type { FastifyInstance } from 'fastify';
import { tradingMarketData } from '../trading/trading.market-data.port.js';
import type { BackgroundJob } from '../module.js';
import { RiskService, type RiskDeps } from './risk.service.js';
import { riskRoutes as routes } from './risk.routes.js';
import type { RiskPort } from './risk.port.js';

export { RiskService };
export { addSuspensionHook, riskRestrictedRoutes, GUARDED_ROUTES, SUSPENDED_REFUSED } from './risk.suspension.js';
export type { RiskPort };

export function createRiskService(deps: Omit<RiskDeps, 'market'> & { market?: RiskDeps['market'] }): RiskService & { jobs: BackgroundJob[] } {
  const risk = new RiskService({ ...deps, market: deps.market ?? tradingMarketData(deps.database) }) as RiskService & { jobs: BackgroundJob[] };
  risk.jobs = [{ name: 'risk.detect', intervalMs: 5_000, run: () => risk.sync() }];
  return risk;
}

export async function riskRoutes(app: FastifyInstance, opts: { risk: RiskService }): Promise<void> {
  await routes(app, opts);
}
