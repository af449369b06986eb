/**
 * buildApp(deps): the one way to assemble the service. Used by the server, the CLI, the simulator and
 * the tests. It registers plugins and routes; it does no I/O of its own (migrations run before it).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { registerAjvFormats } from '@fastify/type-provider-typebox';
import { createHash } from 'node:crypto';
import { loadConfig, type Config } from './config.js';
import type { Database, DB } from './database.js';
import { narrow, type IdempotencyTables } from './platform/db/schema.js';
import type { OutboxTables } from './platform/events/outbox.tables.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { newRequestId } from './platform/ids.js';
import { AppError, sendProblem, toAppError } from './platform/http/errors.js';
import { ProblemSchema } from './platform/http/schemas.js';
import { rejectControlChars } from './platform/http/control-chars.js';
import { lazySerializerFactory, lazyValidatorCompiler } from './platform/http/lazy-compilers.js';
import authPlugin from './platform/http/auth.js';
import idempotencyPlugin from './platform/http/idempotency.js';
import metricsPlugin from './platform/http/metrics.js';
import { backupRoutes } from './platform/http/backup.routes.js';
import loadShedding from './platform/http/load-shedding.js';
import { pendingMigrations } from './platform/db/migrate.js';
import { AgentsService } from './modules/agents/agents.service.js';
import { agentsRoutes } from './modules/agents/agents.routes.js';
import { agentDirectory } from './modules/agents/agents.port.js';
import { LedgerService, SYSTEM_ACCOUNTS, walletAccountId } from './modules/ledger/ledger.service.js';
import { EscrowService } from './modules/ledger/escrow.service.js';
import { LocalBridge } from './modules/ledger/bridge.service.js';
import { ledgerRoutes } from './modules/ledger/ledger.routes.js';
import { ledgerFirstFunders } from './modules/ledger/ledger.port.js';
import { createReputationService, reputationRoutes, type ReputationService } from './modules/reputation/reputation.module.js';
import { createTradingService, tradingRoutes, type TradingService } from './modules/trading/trading.module.js';
import { createVerifierService, verifierRoutes, type VerifierService } from './modules/verifier/verifier.module.js';
import type { BackgroundJob } from './modules/module.js';
import { analyticsRoutes, createAnalyticsService, marketMetrics, type AnalyticsService } from './modules/analytics/analytics.module.js';
import { createReportsService, reportsRoutes, type ReportsService } from './modules/reports/reports.module.js';
import { addSuspensionHook, createRiskService, riskRoutes, type RiskService } from './modules/risk/risk.module.js';
import { formatAmount } from './platform/money.js';
import { EventOutbox } from './platform/events/outbox.js';
import { streamRoutes } from './platform/events/stream.routes.js';
import { findWebDir, webRoutes } from './platform/http/web.js';
import { createAvailabilityService, availabilityRoutes, type AvailabilityService } from './modules/availability/availability.module.js';
import { createRewardsService, rewardsRoutes, type RewardsService } from './modules/rewards/rewards.module.js';
import { tradingMarketData } from './modules/trading/trading.market-data.port.js';
import { agreementListingIn } from './modules/trading/trading.settlement.port.js';
import { createCertificationModule, certificationRoutes, type CertificationModule } from './modules/certification/certification.module.js';

export interface AppDeps {
  config: Config;
  database: Database;
  clock: Clock;
  logger: Logger;
  /** The operator's key (resolved by the caller: from config or the generated key file). */
  adminKey: string;
  /**
   * Resolves once the schema is migrated. Until then /healthz answers, /readyz is 503 and API
   * routes answer 503, so the port opens at once even while a first start initialises the database.
   */
  ready?: Promise<void>;
}

export interface Services {
  agents: AgentsService;
  ledger: LedgerService;
  escrow: EscrowService;
  bridge: LocalBridge;
  reputation: ReputationService;
  trading: TradingService;
  availability: AvailabilityService;
  /** The built-in verifier (the platform's probe agent). */
  verifier: VerifierService;
  analytics: AnalyticsService;
  reports: ReportsService;
  rewards: RewardsService;
  /** certification, badges and partnerships */
  certification: CertificationModule;
  risk: RiskService;
  /** The event outbox behind GET /v1/stream, which every module appends to. */
  outbox: EventOutbox;
  /** Periodic work the server runs (hold expiry, escrow timers, module jobs). */
  jobs: BackgroundJob[];
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    deps: AppDeps;
  }
}

registerAjvFormats();

export function createServices(deps: Pick<AppDeps, 'database' | 'clock'> & { config?: Config; logger?: Logger }): Services {
  const { database, clock } = deps;
  const outbox = new EventOutbox(narrow<OutboxTables, DB>(database.db), clock);
  const agents = new AgentsService(database, clock);
  const ledger = new LedgerService(database, clock, outbox);
  const directory = agentDirectory(database);
  const escrow = new EscrowService(database, clock, ledger, directory, outbox);
  const bridge = new LocalBridge(database, clock, ledger, outbox);
  agents.onCreated.push(async (tx, agent) => { await ledger.openWallet(tx, agent.id); });
  agents.contributors.push({
    section: 'economicHistory',
    contribute: async (agent, viewer) => {
      const totals = await ledger.totals(walletAccountId(agent.id));
      const pub = { totalEarnings: formatAmount(totals.earned), totalSpent: formatAmount(totals.spent), transferCount: totals.transfers };
      if (!viewer.private) return pub;
      const acct = await ledger.getAccount(walletAccountId(agent.id));
      return {
        balance: formatAmount(acct ? acct.credits_posted - acct.debits_posted : 0n),
        available: formatAmount(acct ? acct.credits_posted - acct.debits_posted - acct.debits_pending : 0n),
        ...pub,
      };
    },
  });
  const reputation = createReputationService({
    database, clock, agents, outbox, funders: ledgerFirstFunders(database),
    // risk is created below (it reads trust scores); its discount_evidence interventions are read only once jobs and reads run
    evidenceDiscounts: { discountedAgents: () => risk.discountedAgents() },
  });
  agents.contributors.push({ section: 'reputation', contribute: (agent) => reputation.profile(agent.id) });
  const risk = createRiskService({
    database, clock, outbox, accounts: agents, trust: reputation,
    // a confirmed review forfeits the held rewards its holds held, a dismissed one releases them (rewards is created below)
    reviewHooks: [(tx, d) => rewards.held.onReview(tx, d)],
  });
  escrow.settlementHold = risk.guards.settlementHeld;
  ledger.spendGuard = risk.spendGuard;
  // before trading (its matching asks certification levels); its sources are read only when it evaluates
  const certification = createCertificationModule({
    database, clock, outbox, exists: (id) => agents.exists(id),
    sources: {
      agent: async (id) => {
        const a = await agents.get(id).catch(() => undefined);
        return a ? { publicKey: a.publicKey, status: a.status } : undefined;
      },
      challengeResults: async (sellerId, sinceMs) => {
        const r = await verifier.resultsFor(sellerId, sinceMs);
        return { passed: r.filter((x) => x.state === 'passed').length, failed: r.filter((x) => x.state === 'failed').length };
      },
      buyerMeasurements: async (sellerId, sinceMs) => (await reputation.sellerRecord(sellerId, sinceMs)).map((t) => ({
        tradeId: t.tradeId, buyerId: t.buyerId, atMs: t.atMs, latencyMs: t.buyerLatencyMs, accuracy: t.buyerAccuracy, sameOwnerSuspected: t.sameOwnerSuspected,
      })),
      sameOwnerPeers: (agentId) => reputation.sameOwnerPeers(agentId),
      uptime: async (agentId, sinceMs, untilMs) => {
        const s = (await availability.uptimeOf([agentId], sinceMs, untilMs)).get(agentId);
        return { uptime: s?.uptime ?? null, countedFromMs: s?.countedFromMs ?? null, untilMs: s?.untilMs ?? untilMs };
      },
    },
    badgeSources: {
      sellerTrades: async (agentId) => (await reputation.sellerRecord(agentId, 0)).map((t) => ({ tradeId: t.tradeId, atMs: t.atMs, success: t.success, amount: t.amount, disputed: t.disputed })),
      challengesPassed: async (sellerId) => (await verifier.resultsFor(sellerId, 0)).filter((r) => r.state === 'passed').map((r) => r.finishedAtMs),
      sellersSince: (sinceMs) => reputation.sellersSince(sinceMs),
    },
  });
  agents.contributors.push({ section: 'certification', contribute: (agent) => certification.certification.profile(agent.id) });
  const trading = createTradingService({
    database, clock, agents, directory, escrow, reputation, outbox, fundingWindowSeconds: deps.config?.fundingWindowSeconds,
    certification: { certificationLevelOf: (ids) => certification.certification.levelsOf(ids) }, guards: risk.guards,
    // the stabilisation band lives in analytics (created below; called only once requests run)
    priceBand: { check: (c, db) => analytics.checkBand(c, db) },
    // the seller's open-agreement limit by reward tier (rewards is created below; called only once agreements are made)
    tierLimit: {
      openAgreementLimit: async (db, sellerId) => {
        const l = await rewards.openAgreementLimitIn(db, sellerId);
        return l.max === null ? null : { tier: l.tier, max: l.max };
      },
    },
  });
  const availability = createAvailabilityService({ database, clock, agents, reputation, slotSeconds: deps.config?.heartbeatIntervalSeconds ?? 60 });
  const verifier = createVerifierService({ database, clock, agents, ledger, trading, reputation, defaults: (deps.config ?? loadConfig({})).verifier, logger: deps.logger });
  const analytics = createAnalyticsService({ database, clock, agents, outbox, trustAt: (at) => reputation.scoresAt(at) });
  // after trading's status contributor: the price tier from the price index replaces its mean-price tier
  agents.contributors.push({ section: 'status', contribute: (agent) => analytics.priceTier(agent.id) });
  const reports = createReportsService({ database, clock, market: analytics });
  const market = tradingMarketData(database);
  const rewards = createRewardsService({
    database, clock, reputation, agents: { registeredAt: (ids) => directory.registeredAt(ids), exists: (id) => agents.exists(id) }, availability,
    ledger: {
      pay: async (transfers, batchId) => (await ledger.runBatch(transfers, { batchId })).map((o) => (o.status === 'rejected' ? { id: o.id, status: o.status, code: o.code } : { id: o.id, status: o.status })),
      payIn: async (tx, transfers, batchId) => (await ledger.runBatchIn(tx, transfers, { batchId })).map((o) => (o.status === 'rejected' ? { id: o.id, status: o.status, code: o.code } : { id: o.id, status: o.status })),
      poolBalance: async () => {
        const a = await ledger.getAccount(SYSTEM_ACCOUNTS.rewards);
        return a ? a.credits_posted - a.debits_posted : 0n;
      },
    },
    market: {
      supplyDemand: (now) => market.supplyDemand(now), agreements: (ids) => market.agreements(ids),
      listingSeller: async (id) => (await market.listing(id))?.sellerId, agreementListingIn,
    },
    // an agent under risk review is held, not paid; partnership revenue shares are paid as linked legs at settlement
    isHeld: (agentId) => risk.isHeld(agentId), heldAgents: () => risk.heldAgents(),
    splitSources: [{ sharesFor: (db, a) => certification.partnerships.sharesFor({ sellerId: a.sellerId }, db) }],
  });
  escrow.setReleaseSplitter(rewards.splitter);
  const jobs: BackgroundJob[] = [
    { name: 'ledger.expire-holds', intervalMs: 1000, run: () => ledger.expireDueHolds() },
    { name: 'escrow.timers', intervalMs: 1000, run: () => escrow.runDue() },
    ...reputation.jobs,
    ...trading.jobs,
    ...availability.jobs,
    ...verifier.jobs,
    ...analytics.jobs,
    ...reports.jobs,
    ...rewards.jobs,
    ...certification.jobs,
    ...risk.jobs,
    { name: 'events.prune', intervalMs: 60_000, run: () => outbox.prune() },
  ];
  return { agents, ledger, escrow, bridge, reputation, trading, availability, verifier, analytics, reports, rewards, certification, risk, outbox, jobs };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, clock, logger } = deps;
  const services = createServices(deps);

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // A caller's x-request-id is kept when it is printable ASCII; anything else gets a fresh id.
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[\x21-\x7e]{1,200}$/.test(h) ? h : newRequestId();
    },
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    schemaController: { compilersFactory: { buildSerializer: lazySerializerFactory() } },
  });
  app.decorate('services', services);
  app.decorate('deps', deps);
  app.setValidatorCompiler(lazyValidatorCompiler);
  app.addSchema(ProblemSchema);
  // Only JSON bodies: anything else is 415, not a string that fails validation.
  app.removeContentTypeParser(['text/plain']);

  let isReady = deps.ready === undefined;
  deps.ready?.then(() => { isReady = true; }, () => undefined);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (!isReady && request.url.startsWith('/v1/')) {
      throw new AppError('service_unavailable', 'the database is still starting; retry shortly');
    }
  });

  // A POST without a body to a route whose body is all optional means an empty object, not a 400.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });
  // No control characters in any text field, query, path param or value header (400 naming the field).
  app.addHook('preValidation', rejectControlChars);

  app.setErrorHandler((err, request, reply) => {
    const e = toAppError(err, (ctx) => (request.routeOptions.schema as Record<string, unknown> | undefined)?.[ctx]);
    // 503 during start-up is expected: one line, no stack.
    if (e.code === 'service_unavailable') request.log.debug({ code: e.code, url: request.url }, e.message);
    else if (e.statusCode >= 500) request.log.error({ err }, 'unhandled error');
    return sendProblem(request, reply, e);
  });
  // The dashboard (dist/web) at / with client-side routes; everything else unknown is a problem+json 404.
  const web = webRoutes(app as unknown as FastifyInstance, { dir: findWebDir() });
  app.setNotFoundHandler((request, reply) =>
    web(request, reply) ?? sendProblem(request, reply, new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-economy API',
        version: '0.1.0',
        description:
          'The economy of a marketplace where autonomous AI agents buy and sell AI compute for AITBC tokens. ' +
          'Amounts are decimal strings in AITBC (up to 8 decimals). Errors are application/problem+json with a stable `code`. ' +
          'Every mutating request accepts an `Idempotency-Key` header.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An agent API key or the operator ADMIN_KEY' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());

  const adminKeyHash = createHash('sha256').update(`Bearer ${deps.adminKey}`).digest('hex');
  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => {
        const h = req.headers.authorization;
        return h ? `key:${createHash('sha256').update(h).digest('hex').slice(0, 32)}` : `ip:${req.ip}`;
      },
      allowList: (req) => {
        const h = req.headers.authorization;
        return h !== undefined && createHash('sha256').update(h).digest('hex') === adminKeyHash;
      },
      errorResponseBuilder: (_req, ctx) =>
        new AppError('rate_limited', `rate limit of ${ctx.max} requests per minute exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`),
    });
  }
  await app.register(loadShedding, { maxInFlight: config.maxInFlightRequests });
  await app.register(metricsPlugin, { poolStats: () => database.stats(), dbKind: database.kind });
  await app.register(authPlugin, { adminKey: deps.adminKey, keys: { findAgentByKeyHash: (h) => services.agents.findByKeyHash(h) } });
  await app.register(idempotencyPlugin, { db: narrow<IdempotencyTables, DB>(database.db), clock });

  app.get('/healthz', { schema: { hide: true }, config: { rateLimit: false } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    if (!isReady) return reply.code(503).send({ status: 'starting', database: database.kind });
    try {
      await database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) return reply.code(503).send({ status: 'migrations_pending', database: database.kind, pending });
      return { status: 'ready', database: database.kind };
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'database_unreachable', database: database.kind });
    }
  });

  // a suspended agent finishes its agreements but starts nothing new (risk.suspension.ts)
  addSuspensionHook(app as unknown as FastifyInstance, services.risk);
  await app.register(agentsRoutes, { agents: services.agents });
  await app.register(ledgerRoutes, { ledger: services.ledger, escrow: services.escrow, bridge: services.bridge });
  await app.register(reputationRoutes, { reputation: services.reputation, extras: (ids) => services.certification.certification.leaderboardExtras(ids) });
  await app.register(tradingRoutes, { trading: services.trading });
  await app.register(analyticsRoutes, { analytics: services.analytics });
  for (const m of marketMetrics(services.analytics)) app.metricsRegistry.registerMetric(m as never);
  await app.register(reportsRoutes, { reports: services.reports });
  await app.register(riskRoutes, { risk: services.risk });
  await app.register(availabilityRoutes, { availability: services.availability });
  await app.register(rewardsRoutes, { rewards: services.rewards });
  await app.register(verifierRoutes, { verifier: services.verifier, intervalSeconds: config.verifier.intervalSeconds });
  await app.register(certificationRoutes, services.certification);
  await app.register(backupRoutes, { database });
  await app.register(streamRoutes, { outbox: services.outbox, onPresence: (agentId) => services.availability.presence(agentId), clientBufferBytes: config.streamClientBufferBytes, clientStallSeconds: config.streamClientStallSeconds });
  return app as unknown as FastifyInstance;
}
