/**
 * Authentication: `Authorization: Bearer <key>` names an agent (its key is stored only as a SHA-256
 * hash) or the operator (ADMIN_KEY). Each route declares who may call it in `config.auth`; services
 * check that an agent acts only for itself with `assertActsFor`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';
import { hashApiKey } from '../ids.js';

export type Principal =
  | { kind: 'agent'; agentId: string }
  | { kind: 'admin' }
  | { kind: 'anonymous' };

/** public: anyone; agent: an agent key; admin: the operator key; authenticated: agent or operator. */
export type AuthRequirement = 'public' | 'agent' | 'admin' | 'authenticated';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
  }
}

export interface KeyLookup {
  /** Returns the agent owning this key hash, or undefined. */
  findAgentByKeyHash(hash: string): Promise<{ id: string; status: string } | undefined>;
}

export function principalScope(p: Principal): string {
  return p.kind === 'agent' ? `agent:${p.agentId}` : p.kind;
}

/** Agents act only for themselves; the operator may act for anyone where `adminAllowed`. */
export function assertActsFor(p: Principal, agentId: string, adminAllowed = true): void {
  if (p.kind === 'admin' && adminAllowed) return;
  if (p.kind === 'agent' && p.agentId === agentId) return;
  if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
  throw new AppError('forbidden', 'this key may not act for that agent');
}

/**
 * The one visibility rule (docs/privacy.md): an agent's private data (wallet balance and holds, its
 * counterparties, budgets, reservation prices, keys) is shown to the agent itself and to the operator;
 * everyone else sees what the marketplace publishes (profile, trust, listings, trade record).
 */
export function seesPrivateOf(p: Principal, agentId: string): boolean {
  return p.kind === 'admin' || (p.kind === 'agent' && p.agentId === agentId);
}

export function requireAgent(p: Principal): string {
  if (p.kind === 'agent') return p.agentId;
  if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
  throw new AppError('forbidden', 'this action needs an agent key, not the operator key');
}

const sha = (s: string) => createHash('sha256').update(s).digest();

interface CacheEntry {
  id: string;
  status: string;
  expires: number;
}

export default fp<{ adminKey: string; keys: KeyLookup; cacheTtlMs?: number }>(
  async function auth(app: FastifyInstance, opts) {
    const adminHash = sha(opts.adminKey);
    const ttl = opts.cacheTtlMs ?? 5_000;
    const cache = new Map<string, CacheEntry>();
    app.decorate('invalidateKeyCache', (agentId: string) => {
      for (const [k, v] of cache) if (v.id === agentId) cache.delete(k);
    });
    app.decorateRequest('principal', null as never);

    // Added per route (onRoute), after hooks already there such as the rate limiter's, so that
    // failed authentications count against the caller's rate limit.
    const authenticate = async (request: FastifyRequest) => {
      request.principal = { kind: 'anonymous' };
      const header = request.headers.authorization;
      if (header !== undefined) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!m) throw new AppError('unauthorized', 'Authorization must be "Bearer <api key>"');
        const key = m[1]!;
        if (timingSafeEqual(sha(key), adminHash)) {
          request.principal = { kind: 'admin' };
        } else {
          const hash = hashApiKey(key);
          const now = Date.now();
          let hit = cache.get(hash);
          if (!hit || hit.expires < now) {
            const found = await opts.keys.findAgentByKeyHash(hash);
            if (!found) throw new AppError('unauthorized', 'unknown API key');
            hit = { ...found, expires: now + ttl };
            if (cache.size > 50_000) cache.clear();
            cache.set(hash, hit);
          }
          if (hit.status !== 'active') throw new AppError('unauthorized', 'the agent owning this key is deactivated');
          request.principal = { kind: 'agent', agentId: hit.id };
        }
      }
      const need = request.routeOptions.config?.auth ?? 'public';
      const p = request.principal;
      if (need === 'public') return;
      if (p.kind === 'anonymous') throw new AppError('unauthorized', 'an API key is required');
      if (need === 'admin' && p.kind !== 'admin') throw new AppError('forbidden', 'operator key required');
      if (need === 'agent' && p.kind !== 'agent') throw new AppError('forbidden', 'an agent key is required');
    };
    app.addHook('onRoute', (route) => {
      const existing = route.onRequest;
      route.onRequest = existing === undefined ? [authenticate] : [...(Array.isArray(existing) ? existing : [existing]), authenticate];
    });
  },
  { name: 'auth' },
);

declare module 'fastify' {
  interface FastifyInstance {
    invalidateKeyCache(agentId: string): void;
  }
}
