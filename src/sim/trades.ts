/**
 * The simulated market's trades from agreement to settlement: a buyer negotiates on a listing and funds
 * the agreement (`agreeAndFund`); each hour every open trade moves on (`moveOpenTrades`): the seller
 * delivers or does not, the buyer confirms and rates or disputes, the operator resolves disputes, the
 * escrow's timer refunds what was never delivered. Finished trades are written to the trade log.
 * Draws from the run's one generator in a fixed order (see driver.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Rng } from '../platform/rng.js';
import { formatAmount } from '../platform/money.js';
import type { Category } from '../modules/trading/trading.types.js';
import type { SimBuyer, SimProvider } from './population.js';
import type { Transport } from './transport.js';
import type { Spool } from './spool.js';
import { REGION_COUNTRY, type SimTradeRecord } from './metrics.js';

export const HOUR = 3600_000;

/** An agreement's end as the API states it: the amount released to the seller and when it last changed. */
interface Settled { released: string; updatedAt: string }

/** An amount in AITBC as the API takes it (at least one base unit). */
export const fmt8 = (x: number) => formatAmount(BigInt(Math.max(1, Math.round(x * 1e8))));

/** A provider's current list price per unit. */
export const priceOf = (p: SimProvider) => p.unitCost * (1 + p.markup);

export interface LiveProvider { spec: SimProvider; agentId: string; key: string; listingId: string; identities: number; activeDays: Set<number>; soldToday: number; joinedDay: number }
export interface LiveBuyer { spec: SimBuyer; agentId: string; key: string; activeDays: Set<number> }
export interface OpenTrade {
  id: string;
  buyer: LiveBuyer | LiveProvider;
  seller: LiveProvider;
  category: Category;
  unitPrice: number;
  amount: number;
  day: number;
  /** Virtual time of the next step. */
  dueAt: number;
  /** The agreement's delivery deadline (server time). */
  deadlineAt: number;
  step: 'deliver' | 'review' | 'resolve' | 'await_timer';
  willDeliver: boolean;
  accuracy: number;
  latencyMs: number;
  fundMs: number;
  /** Units and the agreed unit price as the API states it (decimal AITBC): the log's exact figures. */
  quantity: number;
  price: string;
  disputed: boolean;
  /** The confirmation was refused because the risk module holds settlements to the seller (risk_restricted). */
  held?: boolean;
  wash: boolean;
  badMouth: boolean;
}

/** A funded agreement, as the buyer sees it after POST /fund. */
export interface Deal {
  agreementId: string;
  amount: number;
  unitPrice: number;
  fundMs: number;
  deadlineAt: number;
  quantity: number;
  /** The agreed unit price as the API states it (decimal AITBC). */
  price: string;
}

export interface TradeDeskDeps {
  api: Transport;
  rng: Rng;
  adminKey: string;
  /** In-process runs advance virtual time, so the escrow's timers fire; against a server (--target) they do not. */
  virtualTime: boolean;
  /** Where unexpected API answers are recorded (the run's error list). */
  errors: string[];
  trades: Spool<SimTradeRecord>;
  /** The buyer's own measurements sent with a confirmation (certification runs), or none. */
  measure?: (t: OpenTrade) => { latencyMs: number; accuracy: number; accepted: boolean };
  /** Whether the seller cheats on the trades of that day (for the records). */
  isMalicious(p: SimProvider, day: number): boolean;
}

export class TradeDesk {
  /** Funded agreements still moving, in creation order. */
  readonly open: OpenTrade[] = [];
  /** The last three days' trades, for the price index. */
  private recentTrades: SimTradeRecord[] = [];
  /** Agreements funded (each settles into one trade record). */
  agreements = 0;

  constructor(private readonly d: TradeDeskDeps) {}

  /**
   * The market's price index on `day`: the median unit price by category of the last three days' trades
   * (settled, failed ones excepted, and still open). Forgets older trades.
   */
  priceIndex(day: number): Map<Category, number> {
    const dayPrices = new Map<Category, number[]>();
    const addPrice = (c: Category, v: number) => {
      const list = dayPrices.get(c);
      if (list) list.push(v);
      else dayPrices.set(c, [v]);
    };
    this.recentTrades = this.recentTrades.filter((t) => t.day > day - 3);
    for (const t of this.recentTrades) if (t.outcome !== 'failed' && t.outcome !== 'held') addPrice(t.category as Category, t.unitPrice);
    for (const t of this.open) if (t.day > day - 3) addPrice(t.category, t.unitPrice);
    return new Map([...dayPrices].map(([c, ps]) => [c, [...ps].sort((a, b) => a - b)[ps.length >> 1]!] as const));
  }

  /** Negotiates on a listing (delegated both sides, falling back to the list price) and funds. */
  async agreeAndFund(buyer: { agentId: string; key: string }, seller: LiveProvider, requestId: string | null, quantity: number, maxPrice: number): Promise<Deal | null> {
    const listPrice = priceOf(seller.spec);
    const body: Record<string, unknown> = { listingId: seller.listingId, ...(requestId ? { requestId } : {}) };
    let neg = await this.d.api.call<{ status: string; agreementId: string | null }>('POST', '/v1/negotiations', {
      key: buyer.key,
      body: { ...body, delegate: { strategy: 'balanced', targetPrice: fmt8(listPrice * 0.85), reservationPrice: fmt8(Math.max(maxPrice, listPrice * 0.86)) } },
    });
    if (neg.status !== 201 || neg.body.status !== 'agreed') {
      if (listPrice > maxPrice) return null;
      neg = await this.d.api.call('POST', '/v1/negotiations', {
        key: buyer.key, body: { ...body, offer: { pricePerUnit: fmt8(listPrice), quantity, settlementType: 'escrow' } },
      });
      if (neg.status !== 201) return null;
      // The seller's side did not answer automatically: the buyer accepts nothing; give up.
      if (neg.body.status === 'open') return null;
    }
    const agreementId = neg.body.agreementId;
    if (neg.body.status !== 'agreed' || !agreementId) return null;
    const t0 = performance.now();
    const funded = await this.d.api.call<{ amount: string; terms: { pricePerUnit: string; quantity: number }; deliveryDeadline: string }>('POST', `/v1/agreements/${agreementId}/fund`, { key: buyer.key });
    const fundMs = performance.now() - t0;
    if (funded.status !== 200) return null;
    this.agreements++;
    return {
      agreementId, amount: Number(funded.body.amount), unitPrice: Number(funded.body.terms.pricePerUnit), fundMs, deadlineAt: Date.parse(funded.body.deliveryDeadline),
      quantity: funded.body.terms.quantity, price: funded.body.terms.pricePerUnit,
    };
  }

  /** Open trades move on, in creation order; finished ones leave the list. */
  async moveOpenTrades(now: number, day: number): Promise<void> {
    for (let i = 0; i < this.open.length; i++) {
      if (await this.step(this.open[i]!, now, day)) { this.open.splice(i, 1); i--; }
    }
  }

  /** Moves an open trade along when its time has come. Returns true when it is finished. */
  private async step(t: OpenTrade, now: number, day: number): Promise<boolean> {
    if (t.dueAt > now) return false;
    switch (t.step) {
      case 'deliver': return this.deliver(t, now, day);
      case 'review': return this.review(t, now);
      case 'resolve': return this.resolve(t);
      case 'await_timer': return this.awaitTimer(t, now);
    }
  }

  /** The seller delivers (or, when it will not, the buyer waits for the refund timer or disputes). */
  private async deliver(t: OpenTrade, now: number, day: number): Promise<boolean> {
    if (!t.willDeliver) {
      // In virtual time the escrow's timer refunds at the deadline: look once, an hour after it.
      if (this.d.virtualTime) { t.step = 'await_timer'; t.dueAt = Math.max(now + HOUR, t.deadlineAt + HOUR); return false; }
      // Real time (--target): nobody waits hours for the delivery deadline; the buyer disputes.
      const r = await this.d.api.call('POST', `/v1/agreements/${t.id}/dispute`, { key: t.buyer.key, body: { reason: 'not delivered' } });
      if (r.status === 200) { t.disputed = true; t.accuracy = 0; t.step = 'resolve'; t.dueAt = now; return false; }
      t.step = 'await_timer'; t.dueAt = now + HOUR; return false;
    }
    const r = await this.d.api.call('POST', `/v1/agreements/${t.id}/deliver`, {
      key: t.seller.key, body: { usage: 1, latencyMs: t.latencyMs, accuracy: t.accuracy, availability: t.accuracy > 0.5 ? 0.999 : 0.9 },
    });
    if (r.status !== 200) { t.step = 'await_timer'; t.dueAt = now + HOUR; return false; }
    t.seller.activeDays.add(day);
    t.step = 'review';
    t.dueAt = now + HOUR * (1 + Math.floor(this.d.rng() * 3));
    return false;
  }

  /** The buyer confirms and rates, or disputes a poor delivery (by its dispute rate). */
  private async review(t: OpenTrade, now: number): Promise<boolean> {
    const good = t.accuracy >= 0.8 || t.wash;
    const buyerSpec = 'requestsPerDay' in t.buyer.spec ? t.buyer.spec : null;
    if (!good && this.d.rng() < (buyerSpec?.disputeRate ?? 0.5)) {
      const r = await this.d.api.call('POST', `/v1/agreements/${t.id}/dispute`, { key: t.buyer.key, body: { reason: `accuracy ${t.accuracy.toFixed(2)} below the SLA` } });
      if (r.status === 200) { t.disputed = true; t.step = 'resolve'; t.dueAt = now + 12 * HOUR; return false; }
    }
    const t0 = performance.now();
    const r = await this.d.api.call<Settled>('POST', `/v1/agreements/${t.id}/confirm`, { key: t.buyer.key, ...(this.d.measure ? { body: { measurements: this.d.measure(t) } } : {}) });
    const ms = performance.now() - t0;
    if (r.status === 409 && (r.body as { code?: string } | null)?.code === 'risk_restricted') {
      // the seller's settlements are held for review: the money stays in escrow; the buyer looks again hourly
      t.held = true; t.step = 'await_timer'; t.dueAt = now + HOUR; return false;
    }
    if (r.status !== 200) this.d.errors.push(`confirm: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
    this.finish(t, 'released', ms, r.status === 200 ? r.body : null);
    await this.rate(t, this.stars(t));
    return true;
  }

  private stars(t: OpenTrade): number {
    return t.badMouth ? 1 : t.wash ? 5 : Math.max(1, Math.min(5, Math.round(1 + 4 * t.accuracy)));
  }

  /** Trades still held for review when the run ends: recorded as held (nothing released). */
  finishHeld(): void {
    for (let i = 0; i < this.open.length; i++) {
      const t = this.open[i]!;
      if (!t.held) continue;
      this.finish(t, 'held', 0, null);
      this.open.splice(i, 1);
      i--;
    }
  }

  /** The operator resolves a dispute: a refund below 50% accuracy, else a split by accuracy. */
  private async resolve(t: OpenTrade): Promise<boolean> {
    const outcome = t.accuracy < 0.5 ? 'refund' : 'split';
    const body: Record<string, unknown> = { outcome };
    if (outcome === 'split') body.sellerAmount = fmt8(t.amount * t.accuracy);
    const t0 = performance.now();
    const r = await this.d.api.call<Settled>('POST', `/v1/agreements/${t.id}/resolve`, { key: this.d.adminKey, body });
    if (r.status !== 200) this.d.errors.push(`resolve: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    this.finish(t, outcome === 'refund' ? 'refunded' : 'split', performance.now() - t0, r.status === 200 ? r.body : null);
    await this.rate(t, outcome === 'refund' ? 1 : 2);
    return true;
  }

  /** Undelivered: the delivery deadline refunds the buyer through the escrow's timer. */
  private async awaitTimer(t: OpenTrade, now: number): Promise<boolean> {
    const r = await this.d.api.call<Settled & { state: string }>('GET', `/v1/agreements/${t.id}`, { key: t.buyer.key });
    if (r.status === 200 && ['refunded', 'cancelled', 'settled', 'resolved'].includes(r.body.state)) {
      this.finish(t, r.body.state === 'settled' ? 'released' : 'failed', 0, r.body);
      await this.rate(t, t.held && r.body.state === 'settled' ? this.stars(t) : 1);
      return true;
    }
    t.dueAt = now + HOUR;
    return false;
  }

  /** `settled`: the agreement as the API answered at its end (what was released, and when). */
  private finish(t: OpenTrade, outcome: SimTradeRecord['outcome'], settleMs: number, settled: Settled | null): void {
    const rec: SimTradeRecord = {
      id: t.id, day: t.day, buyerId: t.buyer.agentId, sellerId: t.seller.agentId, region: t.seller.spec.region, category: t.category,
      unitPrice: t.unitPrice, amount: t.amount, outcome, settlementMs: t.fundMs + settleMs, sellerMalicious: this.d.isMalicious(t.seller.spec, t.day), sellerKind: t.seller.spec.kind,
      routed: !t.wash && !t.badMouth, buyerCountry: REGION_COUNTRY[t.buyer.spec.region], sellerCountry: REGION_COUNTRY[t.seller.spec.region],
      quantity: t.quantity, price: t.price, released: settled?.released ?? '0', settledAt: settled ? Date.parse(settled.updatedAt) : null,
    };
    this.d.trades.write(rec);
    this.recentTrades.push(rec);
  }

  private async rate(t: OpenTrade, stars: number): Promise<void> {
    const r = await this.d.api.call('POST', '/v1/ratings', { key: t.buyer.key, body: { tradeId: t.id, stars } });
    if (r.status !== 201 && r.status !== 200) this.d.errors.push(`rating: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
  }

}
