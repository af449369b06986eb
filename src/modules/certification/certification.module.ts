/** The certification module as the app sees it: its service (with the re-verification job) and its routes. */
import type { FastifyInstance } from 'fastify';
import { CertificationService, type CertificationDeps } from './certification.service.js';
import { certificationRoutes as routes } from './certification.routes.js';

export { CertificationService };
export type { CertificationDeps };
export type { CertificationSources } from './certification.deps.js';

export function createCertificationService(deps: CertificationDeps): CertificationService {
  return new CertificationService(deps);
}

export async function certificationRoutes(app: FastifyInstance, opts: { certification: CertificationService }): Promise<void> {
  await routes(app, opts);
}
