/**
 * What a suspended agent may still do (docs/decisions.md, "Suspension"): it may finish what it already
 * agreed (fund, deliver, confirm, dispute an existing agreement; cancel its requests; delete its listings),
 * read everything it could read, and receive what it is owed for delivered work (unless a separate
 * hold_settlements intervention holds it). It may not start anything new, move money out, or add evidence:
 * the routes below answer 409 risk_restricted. Withdrawals are refused too: a suspension is taken when fraud
 * is suspected, and the funds stay on the platform until the review decides.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/http/errors.js';

/** "METHOD /route/pattern" refused to a suspended agent. */
export const SUSPENDED_REFUSED: ReadonlySet<string> = new Set([
  'POST /v1/listings', 'PATCH /v1/listings/:id', 'PUT /v1/listings/:id/royalties',
  'POST /v1/trade-requests', 'POST /v1/negotiations', 'POST /v1/negotiations/:id/offers', 'POST /v1/negotiations/:id/accept',
  'POST /v1/transfers', 'POST /v1/escrows', 'POST /v1/withdrawals',
  'POST /v1/ratings', 'POST /v1/evidence', 'POST /v1/partnerships', 'PUT /v1/agents/:id/referrer', 'POST /v1/certifications',
]);

export interface SuspensionLookup { suspensionOf(agentId: string): Promise<{ id: string; reason: string } | undefined> }

/** A root preValidation hook (registered by app.ts before the routes) refusing SUSPENDED_REFUSED to a suspended agent. */
export function addSuspensionHook(app: FastifyInstance, risk: SuspensionLookup): void {
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const p = (req as FastifyRequest & { principal?: { kind: string; agentId?: string } }).principal;
    if (p?.kind !== 'agent' || !p.agentId) return;
    if (!SUSPENDED_REFUSED.has(`${req.method} ${req.routeOptions.url ?? ''}`)) return;
    const s = await risk.suspensionOf(p.agentId);
    if (s) {
      throw new AppError('risk_restricted', `agent ${p.agentId} is suspended (${s.reason}): it may finish its open agreements but not start new business, pay out or add evidence`, {
        intervention: s.id, restriction: 'suspend_agent',
      });
    }
  });
}
