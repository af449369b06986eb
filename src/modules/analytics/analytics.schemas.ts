/** TypeBox schemas of the market API. Amounts are AITBC decimal strings; rates are 0..1; times in seconds. */
import { Type, type TSchema } from 'typebox';
import { Amount, Timestamp } from '../../platform/http/schemas.js';

const Nullable = <T extends TSchema>(t: T, opts: { description?: string } = {}) => Type.Union([t, Type.Null()], opts);
const Category = Type.Union(['gpu_compute', 'inference', 'training', 'data_services', 'model_services'].map((c) => Type.Literal(c)), { description: 'Service category' });
const Region = Type.String({ minLength: 1, maxLength: 40, pattern: '^([a-z0-9-]+|\\*)$', errorMessage: 'must be a region code such as "eu-west" (or * for demand open to any region)', description: 'Region code' });
const Interval = Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], { description: 'Bucket size of the series' });
const Format = Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: the series as text/csv (also with Accept: text/csv)' });

const Filters = {
  category: Type.Optional(Category),
  region: Type.Optional(Region),
  specClass: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'GPU model (e.g. A100) or model name; * for unspecified' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (rounded down to the interval)' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End, exclusive (rounded up to the interval); default: now, the current bucket included' })),
  interval: Type.Optional(Interval),
};
export const MarketQuery = Type.Object({ ...Filters, format: Type.Optional(Format) }, { additionalProperties: false });
export const IndicatorQuery = Type.Object({
  ...Filters, format: Type.Optional(Format),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 400 })),
}, { additionalProperties: false });

const Range = { interval: Interval, from: Timestamp, to: Timestamp };
const Price = Nullable(Amount);
const TradeFigures = {
  trades: Type.Integer(), units: Type.Integer({ description: 'Units traded' }), volume: Amount,
  vwap: Nullable(Amount, { description: 'Volume-weighted average unit price' }),
  p10: Price, median: Price, p90: Price,
};

const SignalName = Type.Union([Type.Literal('surge'), Type.Literal('discount'), Type.Literal('none')], {
  description: 'Surge when open demand outruns listed supply (supply/demand below 1), discount when supply is more than twice demand (above 2), else none; from the bucket\'s latest snapshot (src/modules/analytics/signals.ts)',
});
const SignalFields = { signal: SignalName, signalReason: Type.String({ description: 'Why: the units listed and wanted and the threshold crossed' }) };

export const PriceSeries = Type.Object({ ...Range, data: Type.Array(Type.Object({ bucket: Timestamp, ...TradeFigures, ...SignalFields })) });

export const SupplyDemandSeries = Type.Object({
  ...Range,
  data: Type.Array(Type.Object({
    bucket: Timestamp, supplyUnits: Type.Integer({ description: 'Units available on active listings (latest snapshot in the bucket)' }), supplyListings: Type.Integer(),
    demandRequests: Type.Integer({ description: 'Open trade requests (latest snapshot in the bucket)' }), demandUnits: Type.Integer(),
    supplyDemandRatio: Nullable(Type.Number()), newRequests: Type.Integer(), matched: Type.Integer(), matchRate: Nullable(Type.Number()),
    ...SignalFields,
  })),
});

const Quantiles = Type.Object({ p50: Nullable(Type.Number()), p99: Nullable(Type.Number()) });
export const Overview = Type.Object({
  ...Range, ...TradeFigures,
  activeBuyers: Nullable(Type.Integer(), { description: 'Distinct buyers of settled trades (null for minute intervals)' }), activeSellers: Nullable(Type.Integer()),
  newAgents: Type.Integer(), agreements: Type.Integer(), newRequests: Type.Integer(),
  matchRate: Nullable(Type.Number()), disputeRate: Nullable(Type.Number()), failureRate: Nullable(Type.Number()), crossBorderShare: Nullable(Type.Number()),
  timeToAgreementSeconds: Type.Object(Quantiles.properties, { description: 'From the hour and day sketches: for a minute interval, over the whole hours that cover the range' }),
  timeToSettlementSeconds: Type.Object(Quantiles.properties, { description: 'As timeToAgreementSeconds' }),
  supply: Nullable(Type.Object({ at: Timestamp, units: Type.Integer(), listings: Type.Integer(), demandRequests: Type.Integer(), demandUnits: Type.Integer(), ratio: Nullable(Type.Number()) })),
});

export const Geo = Type.Object({
  ...Range,
  countries: Type.Array(Type.Object({ country: Type.String(), newAgents: Type.Integer(), bought: Amount, sold: Amount, tradesBought: Type.Integer(), tradesSold: Type.Integer() })),
  data: Type.Array(Type.Object({
    buyerCountry: Type.String(), buyerRegion: Type.String(), sellerCountry: Type.String(), sellerRegion: Type.String(), trades: Type.Integer(), volume: Amount, crossBorder: Type.Boolean(),
  }), { description: 'Flows from buyer to seller country and region' }),
});

export const PriceIndexSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('insufficient_data')]),
  index: Price, low: Price, high: Price, sampleSize: Type.Integer(),
  confidence: Type.Optional(Type.Number()), minimumSample: Type.Optional(Type.Integer()),
}, { description: 'Volume-weighted median unit price of the last 7 days\' trades (at most 1000) with its 95% interval; insufficient_data below the minimum sample' });

export const Indicators = Type.Object({
  from: Timestamp, to: Timestamp, minimumSample: Type.Integer(),
  data: Type.Array(Type.Object({
    category: Type.String(), specClass: Type.String(), region: Type.String(), priceIndex: PriceIndexSchema,
    volatility: Nullable(Type.Object({ ewma: Type.Number(), returns: Type.Integer(), interval: Type.Literal('day') })),
    sellerConcentrationHhi: Nullable(Type.Number()),
    crossRegionSpread: Nullable(Type.Object({ spread: Type.Number(), low: Type.Object({ region: Type.String(), index: Amount }), high: Type.Object({ region: Type.String(), index: Amount }) })),
  })),
  nextCursor: Nullable(Type.String()),
});

export const PriceAdvice = Type.Object({
  listingId: Type.String(), currentPrice: Amount, recommendedPrice: Price, priceIndex: PriceIndexSchema,
  supplyDemandRatio: Nullable(Type.Number()), ...SignalFields,
  fillRates: Type.Optional(Type.Object({
    window: Type.Object({ from: Timestamp, to: Timestamp }), band: Type.Number({ description: 'levels: below / at / above the index by more than this share' }),
    minimumListings: Type.Integer(),
    levels: Type.Array(Type.Object({
      level: Type.Union([Type.Literal('below'), Type.Literal('at'), Type.Literal('above')]), listings: Type.Integer(), sellers: Type.Integer(), withAgreement: Nullable(Type.Integer({ description: 'null when the level has fewer than 3 sellers' })),
      fillRate: Nullable(Type.Number()), meanPriceRatio: Nullable(Type.Number()),
      expectedRevenue: Nullable(Type.Number({ description: 'fillRate x meanPriceRatio; null below minimumListings' })),
    })),
    listingAgreements: Type.Integer({ description: "this listing's agreements in the window" }),
    recommendedLevel: Type.Union([Type.Literal('below'), Type.Literal('at'), Type.Literal('above')]),
  }, { description: "Fill rate of similar sellers (other sellers' listings of the cell live in the last 30 days, real agreements) at each price level against the index" })),
  reason: Type.String(),
});

export const InsightsQuery = Type.Object({
  period: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day', description: 'The period (UTC; weeks start on Monday). Default day' })),
  at: Type.Optional(Type.String({ format: 'date-time', description: 'A time inside the period; default: the last closed period' })),
  category: Filters.category, region: Filters.region, specClass: Filters.specClass, format: Type.Optional(Format),
}, { additionalProperties: false });

const Test = Type.Object({
  name: Type.String(), statistic: Nullable(Type.Number()), pValue: Nullable(Type.Number()),
  significant: Nullable(Type.Boolean(), { description: 'pValue below significanceLevel; null when the test could not be computed (see note)' }), note: Type.Optional(Type.String()),
});
const Figure = Nullable(Type.Union([Type.String(), Type.Number()]));
export const Insights = Type.Object({
  period: Type.String(), from: Timestamp, to: Timestamp, previousFrom: Timestamp, previousTo: Timestamp,
  filters: Type.Object({ category: Nullable(Type.String()), region: Nullable(Type.String()), specClass: Nullable(Type.String()) }),
  significanceLevel: Type.Number(),
  trends: Type.Array(Type.Object({ metric: Type.String(), unit: Type.String(), current: Figure, previous: Figure, change: Nullable(Type.Number({ description: 'relative change (current - previous) / previous' })), test: Test })),
  growth: Type.Unknown({ description: 'newAgentsPerWeek (8 rolling weeks to the period end), retention (of the agents that traded in the previous period, the share that traded in this one), cohorts (by week of first trade, share active in each later week)' }),
  agentPerformance: Type.Unknown({ description: 'Top movers: volume (seller volume, AITBC), fillRate (share of a seller\'s ended agreements that settled, sellers with at least 3 ended in both periods), trust (score change between the snapshots at the period start and end)' }),
  priceOptimisation: Type.Unknown({ description: 'Listings live in the period by distance from their cell\'s price index (below/at/above, +-10%), the fill rate of each band, the difference to the at-index band with a two-proportion z-test, and the listings furthest from the index' }),
  risk: Type.Unknown({ description: 'concentration (seller HHI of volume per category: >0.25 high, 0.15-0.25 moderate), volatility (EWMA of daily VWAP returns per traded cell), disputeSpikes (days whose disputes are unlikely, p < 0.01, under the previous 28 days\' rate), regionalSpread (cross-region spread of the price index per category x spec class; target < 5%)' }),
});

export const TradePrintSchema = Type.Object({
  id: Type.String({ description: 'Print id (increasing); pass the last one seen as Last-Event-ID to the stream' }),
  at: Timestamp, category: Type.String(), specClass: Type.String(), region: Type.String(),
  quantity: Type.Integer(), pricePerUnit: Amount, volume: Amount,
}, { description: 'One trade as the public sees it: cell, unit price, quantity, volume and time; no agent, agreement or country' });
export const TradesQuery = Type.Object({
  category: Type.Optional(Category), region: Type.Optional(Region),
  specClass: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'GPU model (e.g. A100) or model name' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
}, { additionalProperties: false });
export const TradeTape = Type.Object({ data: Type.Array(TradePrintSchema) });
export const MarketStreamQuery = Type.Object({
  lastEventId: Type.Optional(Type.String({ maxLength: 20, description: 'Resume after this print id, for clients that cannot set the Last-Event-ID header' })),
}, { additionalProperties: false });
