/**
 * What the reputation module needs from the rest of the app, declared here so that it imports no other
 * module's internals: app.ts hands it the agents module's AgentsService (which has these reads) and the
 * ledger's FirstFunders port. Tests and offline tools pass the same.
 */
import type { Database, Executor } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import type { ExternalFunding, FirstFunders } from '../ledger/ledger.port.js';
import type { OwnerClusterOptions } from './wash.js';
import type { ReputationParams } from './params.js';

/**
 * What the leaderboard shows beside trust (certification level, badges), answered by the certification
 * module and handed in by app.ts; agents without an entry show null and 0.
 */
export type LeaderboardExtras = (agentIds: readonly string[]) => Promise<Map<string, { certificationLevel: string | null; badges: number }>>;

/** An active agent as the leaderboard lists it. */
export interface ListedAgent {
  id: string;
  display_name: string;
  region: string;
  categories: string[];
}

/** What the same-owner detector compares between accounts, with the time of the last change. */
export interface AgentAccount {
  id: string;
  display_name: string;
  type: string;
  country: string;
  region: string;
  categories: string[];
  public_key: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The agents module's reads that reputation uses (AgentsService answers them). */
export interface AgentAccounts {
  exists(agentId: string): Promise<boolean>;
  /** Active agents, optionally of one category and region. */
  active(f: { category?: string | undefined; region?: string | undefined }): Promise<ListedAgent[]>;
  /** Account attributes of the agents changed since `since` and of `ids` (every agent without `opts`). */
  accountAttributes(opts?: { since: Date | null; ids: readonly string[] }): Promise<AgentAccount[]>;
  /** Registered public keys of these agents, in the caller's transaction when `tx` is given. */
  publicKeys(ids: readonly string[], tx?: Executor): Promise<{ id: string; public_key: string | null }[]>;
}

/** An agent whose evidence is discounted now, and the intervention(s) that say so. */
export interface DiscountedAgent {
  agentId: string;
  interventionId: string;
  since: Date;
}

/**
 * The agents under a risk `discount_evidence` intervention in force now (not lifted, not expired): the
 * risk module answers it, app.ts hands it in. Read by the `reputation.discounts` job (and every rebuild).
 */
export interface EvidenceDiscounts {
  discountedAgents(): Promise<DiscountedAgent[]>;
}

export interface ReputationDeps {
  database: Database;
  clock: Clock;
  agents: AgentAccounts;
  /** Where ratings are announced to the rated agent (same transaction); none in offline tools. */
  outbox?: EventOutbox;
  /** the ledger's answer to who first funded a wallet (same-owner detection) */
  funders: FirstFunders;
  /** the ledger's answer to how much value each wallet brought in from outside (the trust seed); the ledger port's by default */
  funding?: ExternalFunding;
  /**
   * Overrides of the scoring parameters (tests, simulations). `preTrusted` comes from the probes table;
   * `verifierIds` (the platform's verifier agents) are pre-trusted too.
   */
  params?: Partial<Omit<ReputationParams, 'preTrusted'>>;
  /** How often the background job runs a trust epoch when evidence changed (default one hour; 0: daily epochs only). */
  epochEveryMs?: number;
  /** Agents whose evidence counts zero (risk interventions); none when left out (offline tools, tests of other modules). */
  evidenceDiscounts?: EvidenceDiscounts;
  /** Overrides of the same-owner detector's thresholds. */
  ownerClusters?: Partial<OwnerClusterOptions>;
  /**
   * Engine checkpoints: start from the latest stored one (true by default), and store a new one when at
   * least `every` evidence rows were applied since the last (default 50,000).
   */
  checkpoints?: { use?: boolean; every?: number };
}
