/**
 * What a suspended agent may still do (docs/decisions.md, "Suspension"): it may finish what it already
 * agreed (fund, deliver, confirm, dispute an existing agreement; cancel its requests; delete its listings),
 * read everything it could read, and receive what it is owed for delivered work (unless a separate
 * hold_settlements intervention holds it). It may not start anything new, move money out, or add evidence:
 * the routes below answer 409 risk_restricted. Withdrawals are refused too: a suspension is taken when fraud
 * is suspected, and the funds stay on the platform until the review decides.
 *
 * Every route that can answer 409 risk_restricted documents it in OpenAPI through one root onRoute hook
 * (`documentRiskRestrictions`): the routes the suspension hook refuses (SUSPENDED_REFUSED, the list the hook
 * itself checks) and the routes that reach the checks risk hands trading and the escrow (GUARDED_ROUTES). The
 * hook adds the 409 response and names the restrictions in the description; test/risk-openapi.test.ts walks
 * /openapi.json against `riskRestrictedRoutes()` and drives each restriction through its routes.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from '../../platform/http/errors.js';
import { errors } from '../../platform/http/schemas.js';

/** "METHOD /route/pattern" refused to a suspended agent. */
export const SUSPENDED_REFUSED: ReadonlySet<string> = new Set([
  'POST /v1/listings', 'PATCH /v1/listings/:id', 'PUT /v1/listings/:id/royalties',
  'POST /v1/trade-requests', 'POST /v1/negotiations', 'POST /v1/negotiations/:id/offers', 'POST /v1/negotiations/:id/accept',
  'POST /v1/transfers', 'POST /v1/escrows', 'POST /v1/withdrawals',
  'POST /v1/ratings', 'POST /v1/evidence', 'POST /v1/partnerships', 'PUT /v1/agents/:id/referrer', 'POST /v1/certifications',
]);

const AGREEMENT_GUARD: readonly string[] = ['freeze_listing', 'suspend_agent', 'pause_cell'];
/**
 * "METHOD /route/pattern" reaching a check risk hands another module, with the interventions that refuse it
 * there: trading's `beforeAgreement` (a frozen listing, a suspended party, a paused cell) runs wherever an
 * agreement is made: an accept, and an offer or a new negotiation that a seller's delegated strategy accepts
 * at once; the escrow's `settlementHold` refuses an agent's release to a held payee: confirming, the escrow
 * API's release, and funding an immediate-settlement agreement (funded and released in one step).
 */
export const GUARDED_ROUTES: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['POST /v1/negotiations', AGREEMENT_GUARD], ['POST /v1/negotiations/:id/offers', AGREEMENT_GUARD], ['POST /v1/negotiations/:id/accept', [...AGREEMENT_GUARD, 'hold_settlements']],
  ['POST /v1/agreements/:id/fund', ['hold_settlements']], ['POST /v1/agreements/:id/confirm', ['hold_settlements']], ['POST /v1/escrows/:id/release', ['hold_settlements']],
]);

/** Every route that can answer 409 risk_restricted, with the interventions (`restriction`) that make it. */
export function riskRestrictedRoutes(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of SUSPENDED_REFUSED) out.set(r, ['suspend_agent']);
  for (const [r, kinds] of GUARDED_ROUTES) out.set(r, [...new Set([...(out.get(r) ?? []), ...kinds])]);
  return out;
}

const WHAT: Record<string, string> = {
  suspend_agent: 'the caller (or, making an agreement, the other party) is suspended',
  freeze_listing: 'the listing is frozen for review',
  pause_cell: "the listing's category x region is paused (circuit breaker)",
  hold_settlements: "the seller's settlements are held for review (the money stays in escrow)",
};

/**
 * A root onRoute hook (registered before the routes) documenting 409 risk_restricted on each route of
 * `riskRestrictedRoutes()`: the 409 problem response, and a sentence naming the restrictions.
 */
export function documentRiskRestrictions(app: FastifyInstance): void {
  const routes = riskRestrictedRoutes();
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      const kinds = routes.get(`${method} ${route.url}`);
      if (!kinds) continue;
      const schema = (route.schema ??= {}) as { response?: Record<string, unknown>; description?: string };
      schema.response = { ...errors(409), ...schema.response };
      const why = `409 risk_restricted (\`restriction\` names the intervention) while ${kinds.map((k) => WHAT[k] ?? k).join(', or ')}.`;
      schema.description = schema.description ? `${schema.description} ${why}` : why;
    }
  });
}

export interface SuspensionLookup { suspensionOf(agentId: string): Promise<{ id: string; reason: string } | undefined> }

/** A root preValidation hook (registered by app.ts before the routes) refusing SUSPENDED_REFUSED to a suspended agent; documents every risk_restricted route too. */
export function addSuspensionHook(app: FastifyInstance, risk: SuspensionLookup): void {
  documentRiskRestrictions(app);
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
