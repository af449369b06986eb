import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, errors } from '../../platform/http/schemas.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { Geo, IndicatorQuery, Indicators, Insights, InsightsQuery, MarketQuery, MarketStreamQuery, Overview, PriceAdvice, PriceSeries, SupplyDemandSeries, TradesQuery, TradeTape } from './analytics.schemas.js';
import { AppError } from '../../platform/http/errors.js';
import type { TradePrint } from './analytics.tape.js';
import type { AnalyticsService } from './analytics.service.js';
import { insightRows } from './analytics.insights.js';

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const wantsCsv = (req: FastifyRequest, format: string | undefined) =>
  format === 'csv' || (format === undefined && /\btext\/csv\b/.test(String(req.headers.accept ?? '')));

/** Rows as CSV (columns from the first row's keys; nested objects as JSON). */
function sendCsv(reply: FastifyReply, name: string, rows: readonly Record<string, unknown>[], columns?: readonly string[]) {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const lines = [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))];
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`)
    .serializer((s: string) => s).send(`${lines.join('\n')}\n` as never);
}

export async function analyticsRoutes(fastify: FastifyInstance, opts: { analytics: AnalyticsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { analytics } = opts;
  const tags = ['market'];
  const filters = 'Filters: category, region, specClass (GPU model or model name); from/to (rounded to whole buckets of `interval`). ' +
    'Public: aggregates only, no agent\'s private data (docs/privacy.md). Figures are as of the analytics projection, which folds new events every second.';

  app.get('/v1/market/overview', {
    schema: {
      tags, summary: 'Market overview', querystring: MarketQuery, description: `Totals over the range: trades, volume, VWAP, unit-price quantiles, active buyers and sellers, new agents, match, dispute and failure rates, cross-border share, time to agreement and to settlement (p50/p99), and the latest supply and demand. Default: the last 24 hours. ${filters} CSV: one row.`,
      response: { 200: Overview, ...errors(400) },
    },
  }, async (req, reply) => {
    const out = await analytics.overview(req.query);
    if (wantsCsv(req, req.query.format)) return sendCsv(reply, 'market-overview', [out]);
    return out;
  });

  app.get('/v1/market/prices', {
    schema: {
      tags, summary: 'Price series', querystring: MarketQuery, description: `Per bucket: trades, units, volume, VWAP and p10/median/p90 unit price (from a log-bucket sketch, within 1%). ${filters}`,
      response: { 200: PriceSeries, ...errors(400) },
    },
  }, async (req, reply) => {
    const out = await analytics.prices(req.query);
    if (wantsCsv(req, req.query.format)) return sendCsv(reply, 'market-prices', out.data);
    return out;
  });

  app.get('/v1/market/supply-demand', {
    schema: {
      tags, summary: 'Supply and demand series', querystring: MarketQuery,
      description: `Per bucket: listed units available and open requests (the latest minute snapshot in the bucket), their ratio, new requests, matches and match rate. Requests open to any region count in every region. ${filters}`,
      response: { 200: SupplyDemandSeries, ...errors(400) },
    },
  }, async (req, reply) => {
    const out = await analytics.supplyDemand(req.query);
    if (wantsCsv(req, req.query.format)) return sendCsv(reply, 'market-supply-demand', out.data);
    return out;
  });

  app.get('/v1/market/geo', {
    schema: {
      tags, summary: 'Geography', querystring: MarketQuery,
      description: `New agents, volume bought and sold per country, and trade flows from buyer to seller country and region (hour or day buckets; default the last 30 days). CSV: the flows. ${filters}`,
      response: { 200: Geo, ...errors(400) },
    },
  }, async (req, reply) => {
    const out = await analytics.geo(req.query);
    if (wantsCsv(req, req.query.format)) return sendCsv(reply, 'market-geo', out.data);
    return out;
  });

  app.get('/v1/market/indicators', {
    schema: {
      tags, summary: 'Price index and risk indicators', querystring: IndicatorQuery,
      description: 'Per category x spec class x region traded in the range (default the last 30 days; keyset pages): the price index (volume-weighted median of the last 7 days\' trades ' +
        'with sample size and 95% interval; `insufficient_data` below 5 trades), EWMA volatility of daily VWAPs (lambda 0.94), seller concentration (HHI of volume) and the cross-region spread ' +
        `of the category x spec class. ${filters}`,
      response: { 200: Indicators, ...errors(400) },
    },
  }, async (req, reply) => {
    const after = decodeCursor(req.query.cursor, 3) as [string, string, string] | undefined;
    const { next, ...out } = await analytics.indicators({ ...req.query, limit: req.query.limit ?? 50, after });
    const nextCursor = next ? encodeCursor(next) : null;
    if (wantsCsv(req, req.query.format)) {
      if (nextCursor) reply.header('link', `</v1/market/indicators?format=csv&cursor=${nextCursor}>; rel="next"`);
      return sendCsv(reply, 'market-indicators', out.data.map((d) => ({
        category: d.category, specClass: d.specClass, region: d.region, indexStatus: d.priceIndex.status, index: d.priceIndex.index, low: d.priceIndex.low, high: d.priceIndex.high,
        sampleSize: d.priceIndex.sampleSize, volatility: d.volatility?.ewma ?? null, sellerConcentrationHhi: d.sellerConcentrationHhi, crossRegionSpread: d.crossRegionSpread?.spread ?? null,
      })));
    }
    return { ...out, nextCursor };
  });

  app.get('/v1/market/insights', {
    schema: {
      tags, summary: 'Market insights for a period', querystring: InsightsQuery,
      description: 'For a day, week or month (default: the last closed day) against the period before: trends with a significance test and p-value each ' +
        '(trades and new agents: exact test of two Poisson rates; volume and VWAP: Welch\'s t-test over hourly or daily values; match and dispute rates: two-proportion z-test), ' +
        'growth (new agents a week, retention, weekly cohorts), top movers in volume, fill rate and trust, price optimisation (listings far from the index and their fill rate) ' +
        'and risk indicators (HHI per category, volatility, dispute spikes, regional spread). A figure with too little data is `insufficient_data` with the reason. ' +
        `CSV: one table section,item,field,value. ${filters}`,
      response: { 200: Insights, ...errors(400) },
    },
  }, async (req, reply) => {
    const out = await analytics.insights({ ...req.query, period: req.query.period ?? 'day' });
    if (wantsCsv(req, req.query.format)) return sendCsv(reply, `market-insights-${out.period}`, insightRows(out));
    return out;
  });

  app.get('/v1/listings/:id/price-advice', {
    schema: {
      tags, summary: 'Recommended price for a listing', params: IdParams,
      description: 'The price index of the listing\'s category x spec class x region, adjusted +5% (surge) when open demand outruns listed supply and -5% (discount) when supply is over twice demand, with the reason in words. No number when the cell has too few recent trades.',
      response: { 200: PriceAdvice, ...errors(400, 404) },
    },
  }, async (req) => analytics.priceAdvice(req.params.id));
  app.get('/v1/market/trades', {
    schema: {
      tags, summary: 'Latest trades (public tape)', querystring: TradesQuery,
      description: 'The newest trades, newest first: category, spec class, region, unit price, quantity, volume and time of each. ' +
        'No agent, agreement or country is shown (docs/privacy.md). Live: GET /v1/market/stream.',
      response: { 200: TradeTape, ...errors(400) },
    },
  }, async (req) => ({ data: await analytics.tape.latest({ ...req.query, limit: req.query.limit ?? 50 }) }));

  app.addHook('onClose', async () => analytics.tape.close());
  app.get('/v1/market/stream', {
    schema: {
      tags, summary: 'Live public market events (server-sent events)', querystring: MarketStreamQuery,
      description: 'text/event-stream with no key: `trade` events, one per trade as GET /v1/market/trades shows it (public fields only), ' +
        'within about a second of settlement (when the analytics projection folds it). Every trade changes the market figures: a client ' +
        're-reads /v1/market/* on `trade`. Each event\'s `id` is the print id: reconnecting with `Last-Event-ID` (or `lastEventId`) ' +
        'sends the trades after it first (at most 500). A comment line is sent every 15 s to keep the connection open.',
    },
  }, async (req, reply) => {
    const header = req.headers['last-event-id'];
    const raw = typeof header === 'string' && header.trim() !== '' ? header.trim() : req.query.lastEventId;
    if (raw !== undefined && raw !== '' && !/^[0-9]{1,15}$/.test(raw)) {
      throw new AppError('validation_failed', 'Last-Event-ID must be a print id', { errors: [{ field: 'header.last-event-id', message: 'must be a non-negative integer' }] });
    }
    const after = raw === undefined || raw === '' ? undefined : Number(raw);
    reply.hijack();
    const res = reply.raw;
    let sent = after ?? 0;
    const send = (p: TradePrint) => {
      const id = Number(p.id);
      if (id <= sent) return;
      sent = id;
      res.write(`id: ${p.id}\nevent: trade\ndata: ${JSON.stringify(p)}\n\n`);
    };
    const buffer: TradePrint[] = [];
    let live = after === undefined;
    const unsubscribe = await analytics.tape.subscribe((p) => (live ? send(p) : buffer.push(p)));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': req.id, 'access-control-allow-origin': '*' });
    res.write(': connected\n\n');
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const close = () => { clearInterval(ping); unsubscribe(); };
    req.raw.on('close', close);
    res.on('close', close);
    if (after !== undefined) {
      try {
        for (const p of await analytics.tape.after(after)) send(p);
      } catch (err) {
        req.log.warn({ err }, 'market stream catch-up failed');
      }
      live = true;
      for (const p of buffer.splice(0)) send(p);
    }
  });
}
