/**
 * Every route that can answer 409 risk_restricted documents it in /openapi.json. The routes come from the
 * code, not from this file: `riskRestrictedRoutes()` is the suspension hook's own list (SUSPENDED_REFUSED)
 * plus the routes that reach the guards risk hands trading and the escrow (GUARDED_ROUTES). The walk checks
 * each is an operation with a 409 response and the restriction named; the drives check the lists are true:
 * every SUSPENDED_REFUSED route refuses a suspended agent, and every GUARDED_ROUTES route refuses by each
 * intervention it lists, driven through real agreements.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, problem, type Json, type TestApp } from './helpers/test-app.js';
import { GUARDED_ROUTES, SUSPENDED_REFUSED, riskRestrictedRoutes } from '../src/modules/risk/risk.module.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); }, 60_000);
afterAll(async () => { await t?.close(); });

const NAMED: Record<string, RegExp> = { suspend_agent: /is suspended/, freeze_listing: /is frozen/, pause_cell: /is paused/, hold_settlements: /are held/ };
const openApiPath = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}');
const seen = new Map<string, Set<string>>();
function restricted(route: string, r: LightMyRequestResponse, restriction: string): void {
  expect(r.statusCode, `${route}: ${r.body}`).toBe(409);
  expect(problem(r).code, route).toBe('risk_restricted');
  expect((problem(r) as Json).restriction, route).toBe(restriction);
  seen.set(route, (seen.get(route) ?? new Set()).add(restriction));
}
const intervene = async (kind: string, target: string) => {
  const r = await t.post('/v1/admin/risk/interventions', t.admin, { kind, target, reason: 'openapi test' });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
};
const lift = (id: string) => t.del(`/v1/admin/risk/interventions/${id}`, t.admin);

describe('409 risk_restricted in OpenAPI', () => {
  it('every route that can answer it lists 409 and names the restriction', async () => {
    const doc = (await t.get('/openapi.json')).json();
    const routes = riskRestrictedRoutes();
    expect(routes.size).toBe(new Set([...SUSPENDED_REFUSED, ...GUARDED_ROUTES.keys()]).size);
    for (const [route, kinds] of routes) {
      const [method, pattern] = route.split(' ') as [string, string];
      const op = doc.paths[openApiPath(pattern)]?.[method.toLowerCase()];
      expect(op, `${route} is no operation in /openapi.json`).toBeDefined();
      expect(op.responses['409'], route).toBeDefined();
      expect(op.description, route).toContain('409 risk_restricted');
      for (const k of kinds) expect(op.description, `${route}: ${k}`).toMatch(NAMED[k]!);
    }
  });

  it('every route of the suspension list refuses a suspended agent', async () => {
    const agent = await t.fundedBuyer('10');
    const iv = await intervene('suspend_agent', agent.id);
    for (const route of SUSPENDED_REFUSED) {
      const [method, pattern] = route.split(' ') as [string, string];
      const url = pattern.replace(':id', method === 'PUT' && pattern.startsWith('/v1/agents/') ? agent.id : randomUUID());
      restricted(route, await t.app.inject({ method: method as 'POST', url, headers: agent.auth, payload: {} }), 'suspend_agent');
    }
    await lift(iv);
  });

  it('every guarded route refuses by each intervention it lists', async () => {
    const seller = await t.newAgent({ type: 'provider' });
    const buyer = await t.fundedBuyer('1000');
    const delegating = await t.listing(seller, { negotiation: { strategy: 'balanced', reservationPrice: '2' } });
    const cell = `${delegating.category}|${delegating.region}`;
    const open = async (price: string) => t.post('/v1/negotiations', buyer.auth, { listingId: delegating.id, offer: { pricePerUnit: price, quantity: 1, settlementType: 'escrow' } });
    const byHand = await t.listing(seller);

    for (const kind of ['freeze_listing', 'pause_cell', 'suspend_agent'] as const) {
      // a negotiation on the listing by hand, and one the delegating seller countered, made before the intervention
      const n = await t.post('/v1/negotiations', buyer.auth, { listingId: byHand.id, offer: { pricePerUnit: '2', quantity: 1, settlementType: 'escrow' } });
      expect(n.statusCode, n.body).toBe(201);
      const countered = await open('1');
      expect(countered.statusCode, countered.body).toBe(201);
      expect(countered.json().status).toBe('open');
      const ivs = kind === 'freeze_listing' ? [await intervene(kind, byHand.id), await intervene(kind, delegating.id)]
        : kind === 'pause_cell' ? [await intervene(kind, cell), ...(cell === `${byHand.category}|${byHand.region}` ? [] : [await intervene(kind, `${byHand.category}|${byHand.region}`)])]
        : [await intervene(kind, seller.id)]; // the other party: the buyer is not suspended
      restricted('POST /v1/negotiations/:id/accept', await t.post(`/v1/negotiations/${n.json().id}/accept`, seller.auth, {}), kind);
      // the delegating seller accepts an offer at its list price at once: that makes an agreement
      restricted('POST /v1/negotiations', await open(delegating.pricePerUnit), kind);
      restricted('POST /v1/negotiations/:id/offers', await t.post(`/v1/negotiations/${countered.json().id}/offers`, buyer.auth, { pricePerUnit: delegating.pricePerUnit }), kind);
      for (const id of ivs) await lift(id);
    }

    // a held seller: an agent's release is refused wherever it is asked for
    const funded = await t.agreement(buyer, seller, byHand.id, { pricePerUnit: '2', quantity: 1, fund: true });
    expect((await t.post(`/v1/agreements/${funded.id}/deliver`, seller.auth, {})).statusCode).toBe(200);
    const immediate = await t.agreement(buyer, seller, byHand.id, { pricePerUnit: '2', quantity: 1, settlementType: 'immediate' });
    // the seller's counter-offer on immediate settlement, which the buyer accepts and funds in one step
    const acceptImmediate = await t.post('/v1/negotiations', buyer.auth, { listingId: byHand.id, offer: { pricePerUnit: '1.5', quantity: 1, settlementType: 'immediate' } });
    expect((await t.post(`/v1/negotiations/${acceptImmediate.json().id}/offers`, seller.auth, { pricePerUnit: '2' })).statusCode).toBe(200);
    const other = await t.newAgent();
    const escrow = await t.post('/v1/escrows', buyer.auth, { payee: other.id, amount: '1', reviewWindowSeconds: 3600 });
    expect(escrow.statusCode).toBe(201);
    const holds = [await intervene('hold_settlements', seller.id), await intervene('hold_settlements', other.id)];
    const before = await t.balance(buyer);
    restricted('POST /v1/agreements/:id/confirm', await t.post(`/v1/agreements/${funded.id}/confirm`, buyer.auth, {}), 'hold_settlements');
    restricted('POST /v1/agreements/:id/fund', await t.post(`/v1/agreements/${immediate.id}/fund`, buyer.auth, {}), 'hold_settlements');
    restricted('POST /v1/negotiations/:id/accept', await t.post(`/v1/negotiations/${acceptImmediate.json().id}/accept`, buyer.auth, { fund: true }), 'hold_settlements');
    restricted('POST /v1/escrows/:id/release', await t.post(`/v1/escrows/${escrow.json().id}/release`, buyer.auth, {}), 'hold_settlements');
    expect(await t.balance(buyer)).toBe(before);
    for (const id of holds) await lift(id);

    for (const [route, kinds] of GUARDED_ROUTES) {
      const notSuspension = kinds.filter((k) => k !== 'suspend_agent' || !SUSPENDED_REFUSED.has(route));
      expect([...(seen.get(route) ?? [])].sort(), route).toEqual(expect.arrayContaining(notSuspension));
    }
    const audit = (await t.get('/v1/admin/ledger/audit', t.admin)).json();
    expect(audit.violations).toEqual([]);
  }, 120_000);
});
