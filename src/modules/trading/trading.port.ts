/**
 * What other modules may use of trading: the ordinary trading flow as the built-in verifier drives it
 * (TradingFlow: the listings it challenges, a request, a negotiation, the agreement it funds and confirms
 * or disputes; the trading module's services answer it, handed over by app.ts) and the listing's API view
 * (what a buyer sees of a listing, its capacity left included). The market data analytics reads is in
 * trading.market-data.port.ts.
 */
import type { AgreementsService } from './agreements.service.js';
import type { MarketService } from './market.service.js';
import type { NegotiationsService } from './negotiations.service.js';

export { listingJson } from './trading.json.js';

/**
 * The calls of the trading flow the verifier makes, each with the signature and the checks of the API
 * call it stands for (the same services serve the routes).
 */
export interface TradingFlow {
  market: Pick<MarketService, 'listListings' | 'getListing' | 'createRequest' | 'cancelRequest'>;
  negotiations: Pick<NegotiationsService, 'createNegotiation' | 'getNegotiation'>;
  agreements: Pick<AgreementsService, 'fund' | 'getAgreement' | 'confirm' | 'dispute'>;
}
