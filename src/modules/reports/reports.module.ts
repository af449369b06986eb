/** The reports module as the app sees it: the service (generate, store, list, render), its job and routes. */
import type { FastifyInstance } from 'fastify';
import { ReportsService, type ReportsDeps } from './reports.service.js';
import { reportsRoutes as routes } from './reports.routes.js';

export { ReportsService };
export type { ReportsDeps };

export function createReportsService(deps: ReportsDeps): ReportsService {
  return new ReportsService(deps);
}

export async function reportsRoutes(app: FastifyInstance, opts: { reports: ReportsService }): Promise<void> {
  await routes(app, opts);
}
