/**
 * What other modules may use of trading: the service's type (the built-in verifier trades through the
 * ordinary flow: listings, requests, negotiations, agreements) and the listing's API view (what a buyer
 * sees of a listing, its capacity left included). The market data analytics reads is in
 * trading.market-data.port.ts.
 */
export type { TradingService } from './trading.module.js';
export { listingJson } from './trading.json.js';
