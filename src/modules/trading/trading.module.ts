/**
 * The trading module as the app sees it: listings, trade requests, matching, negotiation, agreements.
 * `market` (listings, requests, matching over the in-memory index), `negotiations` and `agreements`
 * (escrow settlement) append to the platform's event outbox (GET /v1/stream) through one bus.
 */
import type { CertificationLevels } from '../certification/certification.port.js';
import type { PriceBandGuard } from './trading.price-band.port.js';
import type { SellerTierLimit } from './trading.tier-limit.port.js';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import type { AgentDirectory, ProfileSections } from '../agents/agents.port.js';
import type { TradeEscrow } from '../ledger/ledger.port.js';
import type { ReputationPort } from '../reputation/reputation.port.js';
import type { BackgroundJob } from '../module.js';
import type { EventOutbox } from '../../platform/events/outbox.js';
import type { TradingGuards } from './trading.guards.js';
import { MarketService } from './market.service.js';
import { NegotiationsService } from './negotiations.service.js';
import { AgreementsService, DEFAULT_FUNDING_WINDOW_SECONDS } from './agreements.service.js';
import { TradingEventBus } from './trading.stream.js';
import { TradingWrites } from './trading.tx.js';
import { agreementsRepository } from './agreements.repository.js';
import { tradingRoutes as routes } from './trading.routes.js';

export interface TradingDeps {
  database: Database;
  clock: Clock;
  /** Where trading's sections of the agent profile are registered. */
  agents: ProfileSections;
  /** What trading reads of agents (seller roles, public keys, registration times). */
  directory: AgentDirectory;
  /** The escrow each agreement is settled through. */
  escrow: TradeEscrow;
  reputation: ReputationPort;
  outbox: EventOutbox;
  /** Sellers' live certification levels, for requests with minCertificationLevel (none: such requests match no one). */
  certification?: CertificationLevels | undefined;
  /** Risk checks run inside trading's transactions (trading.guards.ts); none by default. */
  guards?: TradingGuards;
  /** The stabilisation band's check of manual offers and accepts (analytics; optional). */
  priceBand?: PriceBandGuard;
  /** Sellers' open-agreement limits by reward tier (rewards; none: no limit). */
  tierLimit?: SellerTierLimit;
  /** Seconds a buyer has to fund an agreement (capped by its delivery deadline; default 900). */
  fundingWindowSeconds?: number;
}

export class TradingService {
  readonly bus: TradingEventBus;
  readonly market: MarketService;
  readonly negotiations: NegotiationsService;
  readonly agreements: AgreementsService;
  readonly jobs: BackgroundJob[];

  constructor(readonly deps: TradingDeps) {
    this.bus = new TradingEventBus(deps.outbox);
    const writes = new TradingWrites(deps.database, deps.clock, this.bus);
    this.market = new MarketService(deps.database, deps.clock, deps.reputation, deps.directory, this.bus, deps.certification);
    this.agreements = new AgreementsService(deps.database, deps.clock, writes, deps.escrow, deps.reputation, deps.guards, deps.tierLimit, (deps.fundingWindowSeconds ?? DEFAULT_FUNDING_WINDOW_SECONDS) * 1000);
    this.negotiations = new NegotiationsService(deps.database, deps.clock, writes, this.agreements, deps.directory, deps.priceBand);
    this.jobs = [
      {
        name: 'trading.timers',
        intervalMs: 1000,
        run: () => this.runTimers(),
      },
      { name: 'trading.refresh-sellers', intervalMs: 30_000, scope: 'process', run: () => this.market.marketIndex.refreshSellers() },
    ];
  }

  /** Negotiation and request deadlines, agreement funding / delivery deadlines and review windows. */
  async runTimers() {
    const negotiations = await this.negotiations.expireNegotiations();
    const requests = await this.market.expireRequests();
    const agreements = await this.agreements.runTimers();
    return { negotiations, requests, ...agreements };
  }
}

export function createTradingService(deps: TradingDeps): TradingService {
  const trading = new TradingService(deps);
  deps.agents.contributors.push({ section: 'status', contribute: (agent) => trading.market.profileStatus(agent.id) });
  deps.agents.contributors.push({ section: 'economicHistory', contribute: (agent) => tradeRecord(deps.database, agent.id) });
  return trading;
}

export async function tradingRoutes(app: FastifyInstance, opts: { trading: TradingService }): Promise<void> {
  await routes(app, opts);
}

/**
 * The profile's trade record, from the agent's agreements (as buyer or seller): how many trades finished
 * (settled, refunded or resolved), the share of them that settled (paid in full), and disputes it opened,
 * won and lost. A resolved dispute is won by the side the operator decided for (release: the seller;
 * refund: the buyer); a split counts as neither.
 */
export async function tradeRecord(database: Database, agentId: string): Promise<{ transactionCount: number; successRate: number | null; disputes: { opened: number; won: number; lost: number } }> {
  const r = await agreementsRepository.tradeRecord(database.db, agentId);
  const finished = Number(r?.finished ?? 0n);
  return {
    transactionCount: finished,
    successRate: finished > 0 ? Number(r!.settled) / finished : null,
    disputes: { opened: Number(r?.opened ?? 0n), won: Number(r?.won ?? 0n), lost: Number(r?.lost ?? 0n) },
  };
}
