import { createPublicKey } from 'node:crypto';
import { ISO_COUNTRIES } from '../../platform/countries.js';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { assertActsFor, seesPrivateOf, type Principal } from '../../platform/http/auth.js';
import { hashApiKey, newApiKey, uuidv7 } from '../../platform/ids.js';
import { agentsRepository as repo, type AccountAttributesRow, type AgentRow, type Executor } from './agents.repository.js';

export type { AccountAttributesRow };
import type { Agent, AgentCreate, AgentListQuery, AgentPatch, Profile } from './agents.schemas.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';

export function isIsoCountry(code: string): boolean {
  return ISO_COUNTRIES.has(code);
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Decodes a base64/base64url raw Ed25519 key and checks that it is a valid public key. */
export function decodeEd25519PublicKey(b64: string): Buffer {
  const raw = Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (raw.length !== 32) throw new AppError('validation_failed', 'publicKey must encode 32 bytes', { errors: [{ field: 'body.publicKey', message: 'must encode exactly 32 bytes' }] });
  try {
    createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    throw new AppError('validation_failed', 'publicKey is not a valid Ed25519 key', { errors: [{ field: 'body.publicKey', message: 'is not a valid Ed25519 public key' }] });
  }
  return raw;
}

export function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    displayName: r.display_name,
    type: r.type,
    country: r.country,
    region: r.region,
    categories: r.categories,
    publicKey: r.public_key,
    capacity: (r.capacity as Agent['capacity']) ?? null,
    sla: (r.sla as Agent['sla']) ?? null,
    status: r.status,
    registeredAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    deactivatedAt: r.deactivated_at ? r.deactivated_at.toISOString() : null,
  };
}

/**
 * A module that fills part of the economic profile. The profile is assembled from the modules on
 * each read, never stored twice.
 */
export interface ProfileContributor {
  section: 'reputation' | 'economicHistory' | 'status' | 'certification';
  /** `viewer.private`: the caller is the agent itself or the operator (see `seesPrivateOf`). */
  contribute(agent: Agent, viewer: ProfileViewer): Promise<Record<string, unknown>>;
}

export interface ProfileViewer {
  private: boolean;
}

/** Called after an agent is created, inside the same transaction (the ledger opens its wallet here). */
export type AgentCreatedHook = (tx: Parameters<Parameters<Database['transaction']>[0]>[0], agent: AgentRow) => Promise<void>;

function checkCountry(country: string | undefined) {
  if (country !== undefined && !isIsoCountry(country)) {
    throw new AppError('validation_failed', `country ${country} is not an ISO 3166-1 alpha-2 code`, {
      errors: [{ field: 'body.country', message: 'is not an assigned ISO 3166-1 alpha-2 code' }],
    });
  }
}

export class AgentsService {
  readonly contributors: ProfileContributor[] = [];
  readonly onCreated: AgentCreatedHook[] = [];

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  async register(input: AgentCreate): Promise<{ agent: Agent; apiKey: string }> {
    checkCountry(input.country);
    if (input.publicKey) decodeEd25519PublicKey(input.publicKey);
    const apiKey = newApiKey();
    const now = this.clock.now();
    const row: AgentRow = {
      id: uuidv7(this.clock),
      display_name: input.displayName,
      type: input.type,
      country: input.country,
      region: input.region,
      categories: input.categories ?? [],
      public_key: input.publicKey ?? null,
      capacity: input.capacity ?? null,
      sla: input.sla ?? null,
      status: 'active',
      api_key_hash: hashApiKey(apiKey),
      api_key_prefix: apiKey.slice(0, 8),
      created_at: now,
      updated_at: now,
      deactivated_at: null,
    };
    const saved = await this.database.transaction(async (tx) => {
      const r = await repo.insert(tx, row);
      for (const hook of this.onCreated) await hook(tx, r);
      return r;
    });
    return { agent: toAgent(saved), apiKey };
  }

  async get(id: string): Promise<Agent> {
    const r = await repo.findById(this.database.db, id);
    if (!r) throw notFound('agent', id);
    return toAgent(r);
  }

  async exists(id: string): Promise<boolean> {
    return repo.exists(this.database.db, id);
  }

  /** Active agents (id, name, region, categories), optionally of one category and region. */
  active(f: { category?: string | undefined; region?: string | undefined }) {
    return repo.active(this.database.db, f);
  }

  /** Account attributes of the agents changed since `since` and of `ids` (every agent without `opts`). */
  accountAttributes(opts?: { since: Date | null; ids: readonly string[] }): Promise<AccountAttributesRow[]> {
    return repo.accountAttributes(this.database.db, opts);
  }

  /** Registered public keys of these agents (in the caller's transaction when `tx` is given). */
  publicKeys(ids: readonly string[], tx?: Executor): Promise<{ id: string; public_key: string | null }[]> {
    return repo.publicKeys(tx ?? this.database.db, ids);
  }

  findByKeyHash(hash: string) {
    return repo.findByKeyHash(this.database.db, hash);
  }

  async list(q: AgentListQuery): Promise<{ data: Agent[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, 1);
    const rows = await repo.list(this.database.db, {
      type: q.type, country: q.country, region: q.region, category: q.category, status: q.status,
      afterId: after ? String(after[0]) : undefined, limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(toAgent), nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }

  async update(principal: Principal, id: string, patch: AgentPatch): Promise<Agent> {
    assertActsFor(principal, id);
    checkCountry(patch.country);
    if (patch.publicKey) decodeEd25519PublicKey(patch.publicKey);
    const current = await repo.findById(this.database.db, id);
    if (!current) throw notFound('agent', id);
    if (current.status === 'deactivated') throw new AppError('conflict', 'a deactivated agent cannot be changed');
    const set: Partial<AgentRow> = { updated_at: this.clock.now() };
    if (patch.displayName !== undefined) set.display_name = patch.displayName;
    if (patch.type !== undefined) set.type = patch.type;
    if (patch.country !== undefined) set.country = patch.country;
    if (patch.region !== undefined) set.region = patch.region;
    if (patch.categories !== undefined) set.categories = patch.categories;
    if (patch.publicKey !== undefined) set.public_key = patch.publicKey;
    if (patch.capacity !== undefined) set.capacity = patch.capacity;
    if (patch.sla !== undefined) set.sla = patch.sla;
    const r = await repo.update(this.database.db, id, set);
    if (!r) throw notFound('agent', id);
    return toAgent(r);
  }

  /** Deactivates an agent: its key stops working, its history stays. Repeating it is harmless. */
  async deactivate(principal: Principal, id: string): Promise<Agent> {
    assertActsFor(principal, id);
    const current = await repo.findById(this.database.db, id);
    if (!current) throw notFound('agent', id);
    if (current.status === 'deactivated') return toAgent(current);
    const now = this.clock.now();
    const r = await repo.update(this.database.db, id, { status: 'deactivated', deactivated_at: now, updated_at: now });
    return toAgent(r!);
  }

  /** The economic profile as `viewer` may see it: private fields only for the agent and the operator. */
  async profile(id: string, viewer: Principal): Promise<Profile> {
    const agent = await this.get(id);
    const view: ProfileViewer = { private: seesPrivateOf(viewer, id) };
    const profile: Profile = {
      agent,
      reputation: { trustScore: null, trustLevel: null, performanceRating: null, reliability: null, communityRating: null, observations: 0 },
      economicHistory: { totalEarnings: '0', totalSpent: '0', transactionCount: 0, transferCount: 0, successRate: null, disputes: { opened: 0, won: 0, lost: 0 } },
      status: { activeListings: 0, availableCapacity: agent.capacity?.units ?? null, priceTier: null, sla: agent.sla },
      certification: { level: null, certificateId: null, expiresAt: null, identityVerified: false, badges: [] },
      sections: { reputation: 'not_built', economicHistory: 'not_built', status: 'not_built', certification: 'not_built' },
    };
    const parts = await Promise.all(this.contributors.map(async (c) => [c.section, await c.contribute(agent, view)] as const));
    for (const [section, values] of parts) {
      Object.assign(profile[section], values);
      profile.sections[section] = 'live';
    }
    return profile;
  }
}
