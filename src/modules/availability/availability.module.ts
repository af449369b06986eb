/**
 * The availability module as the app sees it: heartbeats, maintenance windows and uptime (a service that
 * implements AvailabilityPort), its routes, and its jobs (daily reliability evidence for reputation, prune).
 */
import type { FastifyInstance } from 'fastify';
import { AvailabilityService, type AvailabilityDeps } from './availability.service.js';
import { availabilityRoutes as routes } from './availability.routes.js';

export { AvailabilityService };
export type { AvailabilityDeps };
export type { AvailabilityPort, ReliabilitySink, MeasuredReliability } from './availability.port.js';

export function createAvailabilityService(deps: AvailabilityDeps): AvailabilityService {
  return new AvailabilityService(deps);
}

export async function availabilityRoutes(app: FastifyInstance, opts: { availability: AvailabilityService }): Promise<void> {
  await routes(app, opts);
}
