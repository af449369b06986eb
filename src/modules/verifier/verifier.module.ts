/** The verifier module as the app sees it: its service (with background jobs) and its operator routes. */
import type { FastifyInstance } from 'fastify';
import { VerifierService, type VerifierDefaults, type VerifierDeps } from './verifier.service.js';
import { verifierRoutes as routes } from './verifier.routes.js';

export { VerifierService };
export type { VerifierDefaults, VerifierDeps };

export function createVerifierService(deps: VerifierDeps): VerifierService {
  return new VerifierService(deps);
}

export async function verifierRoutes(app: FastifyInstance, opts: { verifier: VerifierService; intervalSeconds: number }): Promise<void> {
  await routes(app, opts);
}
