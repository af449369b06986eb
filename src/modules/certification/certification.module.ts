/**
 * The certification module as the app sees it: certification (with the re-verification job), badges (with
 * the award job), partnerships, and their routes.
 */
import type { FastifyInstance } from 'fastify';
import { CertificationService, type CertificationDeps } from './certification.service.js';
import { BadgesService, type BadgesDeps } from './badges.service.js';
import { PartnershipsService, type PartnershipsDeps } from './partnerships.service.js';
import { certificationRoutes as routes } from './certification.routes.js';
import { badgeAndPartnershipRoutes } from './partnerships.routes.js';

export { CertificationService, BadgesService, PartnershipsService };
export type { CertificationDeps, BadgesDeps, PartnershipsDeps };
export type { CertificationSources, BadgeSources } from './certification.deps.js';

export interface CertificationModule {
  certification: CertificationService;
  badges: BadgesService;
  partnerships: PartnershipsService;
}

export function createCertificationModule(deps: CertificationDeps & { badgeSources: BadgesDeps['sources']; exists(agentId: string): Promise<boolean> }): CertificationModule & { jobs: CertificationService['jobs'] } {
  const certification = new CertificationService(deps);
  const badges = new BadgesService({ database: deps.database, clock: deps.clock, outbox: deps.outbox, sources: deps.badgeSources, exists: deps.exists });
  const partnerships = new PartnershipsService({ database: deps.database, clock: deps.clock, outbox: deps.outbox, exists: deps.exists });
  return { certification, badges, partnerships, jobs: [...certification.jobs, ...badges.jobs] };
}

export async function certificationRoutes(app: FastifyInstance, opts: CertificationModule): Promise<void> {
  await routes(app, { certification: opts.certification });
  await badgeAndPartnershipRoutes(app, { badges: opts.badges, partnerships: opts.partnerships });
}
