/**
 * buildApp on a fresh database with a manual clock, plus factories for route tests: each test sets up the
 * agents, money, listings and agreements it needs (`newAgent`, `fundedBuyer`, `listing`, `tradeRequest`,
 * `agreement`, `tradeToAgreement`, `settle`) through the public HTTP API, so it passes alone and in any order.
 * The few reads below the API (fees collected, trade evidence, timers) are here, in one place.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { KeyObject } from 'node:crypto';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/platform/clock.js';
import { uuidFromName } from '../../src/platform/ids.js';
import { createLogger } from '../../src/platform/logger.js';
import { parseAmount } from '../../src/platform/money.js';
import { keypair } from './signing.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** Decimal AITBC ("2.5") to base units (250000000n), for exact sums of balances. */
export const units = (aitbc: string): bigint => parseAmount(aitbc);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;
type Headers = Record<string, string>;

/** An agent registered with an Ed25519 key pair (it can sign offers). */
export interface TestAgent { id: string; apiKey: string; auth: Headers; publicKey: string; key: KeyObject }

export interface AgentOptions {
  type?: 'provider' | 'consumer' | 'both';
  categories?: string[];
  country?: string;
  region?: string;
  displayName?: string;
  [field: string]: unknown;
}

export interface AgreementOptions {
  pricePerUnit?: string;
  quantity?: number;
  settlementType?: 'escrow' | 'immediate' | 'milestone';
  requestId?: string;
  reviewWindowSeconds?: number;
  deliveryDeadline?: string;
  /** fund the agreement's escrow after it is agreed */
  fund?: boolean;
}

/** The evidence trading recorded for one trade, as stored in the reputation log. */
export interface TradeEvidence { subjectId: string; producerId: string; data: Json }

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  clock: ManualClock;
  admin: Headers;
  close(): Promise<void>;
  registerAgent(overrides?: Record<string, unknown>): Promise<{ id: string; apiKey: string; auth: Headers }>;

  // HTTP
  post(url: string, who?: Headers, payload?: unknown): Promise<LightMyRequestResponse>;
  get(url: string, who?: Headers): Promise<LightMyRequestResponse>;
  patch(url: string, who: Headers, payload: unknown): Promise<LightMyRequestResponse>;
  del(url: string, who: Headers): Promise<LightMyRequestResponse>;
  /** An ISO time `ms` from the clock's now. */
  iso(ms: number): string;

  // factories
  newAgent(o?: AgentOptions): Promise<TestAgent>;
  /** A consumer holding `amount` AITBC (minted by the operator). */
  fundedBuyer(amount?: string, o?: AgentOptions): Promise<TestAgent>;
  mint(agentId: string, amount: string): Promise<Json>;
  /** An active listing of `seller` (defaults: one H100 of 80 GB in eu-west at 2.5 per GPU-hour, capacity 100, valid 30 days). */
  listing(seller: TestAgent, body?: Json): Promise<Json>;
  /** An open trade request of `buyer` (defaults: gpu_compute, min 80 GB VRAM, 10 units, budget 1.5-3, deadline in 2 hours). */
  tradeRequest(buyer: TestAgent, body?: Json): Promise<Json>;
  /** The buyer offers on the listing and the seller accepts: the agreement (pending funding, or funded with `fund`). */
  agreement(buyer: TestAgent, seller: TestAgent, listingId: string, o?: AgreementOptions): Promise<Json>;
  /** A new seller with a listing, a funded buyer with a request, and their agreement: everything a trade test starts from. */
  tradeToAgreement(o?: AgreementOptions & { listing?: Json; request?: Json; buyerFunds?: string }): Promise<{ seller: TestAgent; buyer: TestAgent; listing: Json; request: Json; agreement: Json }>;
  /** Delivers (as the seller) and confirms (as the buyer) a funded agreement: settled. */
  settle(agreement: Json, buyer: TestAgent, seller: TestAgent, delivery?: Json): Promise<Json>;

  // reads
  balance(agent: { id: string; auth: Headers }): Promise<string>;
  /** Base units the platform holds from fees: its fee account plus the reward pool (which receives a share of every fee). */
  feesCollected(): Promise<bigint>;
  /** The trade-outcome evidence recorded for a trade (undefined when none was). */
  tradeEvidence(tradeId: string): Promise<TradeEvidence | undefined>;
  /** The dispute-outcome evidence recorded for a trade, one per side, by subject id. */
  disputeEvidence(tradeId: string): Promise<TradeEvidence[]>;
  /** Runs the trading timers once (deadlines, review windows, escrow reconciliation), as the background job does. */
  runTimers(): Promise<{ negotiations: number; requests: number; cancelled: number; refunded: number; settled: number; resolved: number }>;
  /** Open GET /v1/stream connections in this process. */
  streamSubscribers(): number;
}

let counter = 0;

function expectStatus(res: LightMyRequestResponse, status: number, what: string): void {
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
}

export async function buildTestApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' }, overrides);
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const app = await buildApp({ config, database: db.database, clock, logger: createLogger('silent'), adminKey: ADMIN_KEY });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  const post = (url: string, who: Headers = {}, payload: unknown = {}) => app.inject({ method: 'POST', url, headers: who, payload: payload as object });
  const get = (url: string, who: Headers = {}) => app.inject({ method: 'GET', url, headers: who });
  const patch = (url: string, who: Headers, payload: unknown) => app.inject({ method: 'PATCH', url, headers: who, payload: payload as object });
  const del = (url: string, who: Headers) => app.inject({ method: 'DELETE', url, headers: who });
  const iso = (ms: number) => new Date(clock.now().getTime() + ms).toISOString();

  async function register(o: Record<string, unknown>) {
    counter++;
    const res = await post('/v1/agents', {}, { displayName: `agent-${counter}`, type: 'both', country: 'DE', region: 'eu-west', categories: ['gpu_compute'], ...o });
    expectStatus(res, 201, 'registration');
    const body = res.json() as { agent: { id: string }; apiKey: string };
    return { id: body.agent.id, apiKey: body.apiKey, auth: { authorization: `Bearer ${body.apiKey}` } };
  }

  const t: TestApp = {
    app, db, clock, admin, post, get, patch, del, iso,
    async close() {
      await app.close();
      await db.cleanup();
    },
    registerAgent: (o = {}) => register(o),

    async newAgent(o = {}) {
      const kp = keypair();
      const a = await register({ publicKey: kp.publicKey, ...o });
      return { ...a, publicKey: kp.publicKey, key: kp.privateKey };
    },
    async fundedBuyer(amount = '1000', o = {}) {
      const b = await t.newAgent({ type: 'consumer', ...o });
      await t.mint(b.id, amount);
      return b;
    },
    async mint(agentId, amount) {
      const r = await post('/v1/admin/mint', admin, { agentId, amount });
      expectStatus(r, 201, 'mint');
      return r.json();
    },
    async listing(seller, body = {}) {
      const r = await post('/v1/listings', seller.auth, {
        category: 'gpu_compute', unit: 'gpu_hour', spec: { gpuModel: 'H100', vramGb: 80, gpuCount: 1 }, pricePerUnit: '2.5', capacity: 100,
        region: 'eu-west', sla: { availability: 0.99, maxLatencyMs: 200 }, validUntil: iso(30 * DAY), ...body,
      });
      expectStatus(r, 201, 'listing');
      return r.json();
    },
    async tradeRequest(buyer, body = {}) {
      const r = await post('/v1/trade-requests', buyer.auth, {
        category: 'gpu_compute', spec: { minVramGb: 80 }, quantity: 10, budget: { min: '1.5', max: '3' }, deadline: iso(2 * HOUR), ...body,
      });
      expectStatus(r, 201, 'trade request');
      return r.json();
    },
    async agreement(buyer, seller, listingId, o = {}) {
      const n = await post('/v1/negotiations', buyer.auth, {
        listingId, ...(o.requestId ? { requestId: o.requestId } : {}),
        ...(o.reviewWindowSeconds !== undefined ? { reviewWindowSeconds: o.reviewWindowSeconds } : {}),
        ...(o.deliveryDeadline ? { deliveryDeadline: o.deliveryDeadline } : {}),
        offer: { pricePerUnit: o.pricePerUnit ?? '2', quantity: o.quantity ?? 10, settlementType: o.settlementType ?? 'escrow' },
      });
      expectStatus(n, 201, 'negotiation');
      const acc = await post(`/v1/negotiations/${n.json().id}/accept`, seller.auth);
      expectStatus(acc, 200, 'accept');
      let agreement = acc.json().agreement as Json;
      if (o.fund) {
        const f = await post(`/v1/agreements/${agreement.id}/fund`, buyer.auth);
        expectStatus(f, 200, 'fund');
        agreement = f.json();
      }
      return agreement;
    },
    async tradeToAgreement(o = {}) {
      const seller = await t.newAgent({ type: 'provider' });
      const buyer = await t.fundedBuyer(o.buyerFunds ?? '1000');
      const listing = await t.listing(seller, o.listing);
      const request = await t.tradeRequest(buyer, { quantity: o.quantity ?? 10, ...o.request });
      const agreement = await t.agreement(buyer, seller, listing.id, { requestId: request.id, ...o });
      return { seller, buyer, listing, request, agreement };
    },
    async settle(agreement, buyer, seller, delivery = {}) {
      const d = await post(`/v1/agreements/${agreement.id}/deliver`, seller.auth, delivery);
      expectStatus(d, 200, 'deliver');
      const c = await post(`/v1/agreements/${agreement.id}/confirm`, buyer.auth);
      expectStatus(c, 200, 'confirm');
      return c.json();
    },

    async balance(a) {
      const r = await get(`/v1/agents/${a.id}/balance`, a.auth);
      expectStatus(r, 200, 'balance');
      return r.json().balance;
    },
    async feesCollected() {
      const rows = await db.database.db.selectFrom('ledger_accounts').select(['credits_posted', 'debits_posted'])
        .where('id', 'in', [uuidFromName('account:system:fees'), uuidFromName('account:system:rewards')]).execute();
      return rows.reduce((s, a) => s + BigInt(a.credits_posted) - BigInt(a.debits_posted), 0n);
    },
    async tradeEvidence(tradeId) {
      const r = await db.database.db.selectFrom('reputation_evidence').select(['subject_id', 'producer_id', 'data'])
        .where('trade_id', '=', tradeId).where('type', '=', 'trade').executeTakeFirst();
      return r ? { subjectId: r.subject_id as string, producerId: r.producer_id as string, data: r.data as Json } : undefined;
    },
    async disputeEvidence(tradeId) {
      const rows = await db.database.db.selectFrom('reputation_evidence').select(['subject_id', 'producer_id', 'data'])
        .where('trade_id', '=', tradeId).where('type', '=', 'dispute').orderBy('subject_id').execute();
      return rows.map((r) => ({ subjectId: r.subject_id as string, producerId: r.producer_id as string, data: r.data as Json }));
    },
    runTimers: () => app.services.trading.runTimers(),
    streamSubscribers: () => app.services.outbox.subscribers,
  };
  return t;
}

export function problem(res: LightMyRequestResponse): { code: string; status: number; errors?: { field: string; message: string }[]; requestId: string; detail: string; reason?: string } {
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers['content-type']}: ${res.body}`);
  }
  return res.json();
}
