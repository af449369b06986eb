/** The analytics module as the app sees it: a service (projection, reads), its background job and routes. */
import type { FastifyInstance } from 'fastify';
import { tradingMarketData } from '../trading/trading.market-data.port.js';
import { AnalyticsService } from './analytics.service.js';
import type { AnalyticsDeps } from './analytics.projection.js';
import { analyticsRoutes as routes } from './analytics.routes.js';

export { AnalyticsService };
export { marketMetrics } from './analytics.metrics.js';

export function createAnalyticsService(deps: Omit<AnalyticsDeps, 'market'> & { market?: AnalyticsDeps['market'] }): AnalyticsService {
  return new AnalyticsService({ ...deps, market: deps.market ?? tradingMarketData(deps.database) });
}

export async function analyticsRoutes(app: FastifyInstance, opts: { analytics: AnalyticsService }): Promise<void> {
  await routes(app, opts);
}
