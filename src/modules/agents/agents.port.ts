/**
 * What other modules may read of agents without knowing their table. Trading asks whether an agent may
 * sell in a category, which key verifies its signatures, and when sellers registered (newcomers); the SQL
 * that answers lives in agents.repository.ts, with the table. The verifier registers its own agents
 * (AgentRegistration), trading adds sections to agents' profiles (ProfileSections), and the key decoder
 * serves signature checks. AgentsService answers each; app.ts hands it over.
 */
import type { Database } from '../../database.js';
import { agentsRepository as repo, type AgentRow, type Executor } from './agents.repository.js';
import type { Agent, AgentCreate } from './agents.schemas.js';
import type { ProfileContributor } from './agents.service.js';

export type { ProfileContributor };
export { decodeEd25519PublicKey } from './agents.service.js';

/** Registering an agent as POST /v1/agents does (the verifier's buyer and probe agents). */
export interface AgentRegistration {
  register(input: AgentCreate): Promise<{ agent: Agent; apiKey: string }>;
}

/** Where a module adds a section to every agent's profile (GET /v1/agents/{id}/profile). */
export interface ProfileSections {
  readonly contributors: ProfileContributor[];
}

export interface AgentDirectory {
  /** The agent's registered type and categories; null when there is no such agent. */
  roleOf(agentId: string): Promise<Pick<AgentRow, 'type' | 'categories'> | null>;
  /**
   * The agent's registered Ed25519 public key (null: none registered), read through `db`: inside a
   * transaction, pass it (PGlite has one connection, so a read beside the transaction would wait on it).
   */
  publicKeyIn(db: Executor, agentId: string): Promise<string | null>;
  /**
   * The agent's status (null: no such agent), read through `db` (inside a transaction, pass it). The
   * ledger's escrows accept only an active payee.
   */
  statusIn(db: Executor, agentId: string): Promise<AgentRow['status'] | null>;
  /** When each of these agents registered; unknown ids are left out. */
  registeredAt(agentIds: readonly string[]): Promise<Map<string, Date>>;
}

/** The agents module's answer to AgentDirectory. */
export function agentDirectory(database: Database): AgentDirectory {
  return {
    async roleOf(agentId) {
      return (await repo.roleOf(database.db, agentId)) ?? null;
    },
    async publicKeyIn(db, agentId) {
      const [row] = await repo.publicKeys(db, [agentId]);
      return row?.public_key ?? null;
    },
    async statusIn(db, agentId) {
      return (await repo.statusOf(db, agentId))?.status ?? null;
    },
    async registeredAt(agentIds) {
      const out = new Map<string, Date>();
      if (!agentIds.length) return out;
      for (const r of await repo.registeredAt(database.db, agentIds)) out.set(r.id, r.created_at);
      return out;
    },
  };
}
