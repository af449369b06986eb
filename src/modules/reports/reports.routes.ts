import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, errors } from '../../platform/http/schemas.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import { GenerateQuery, ReportBody, ReportList, ReportListQuery, ReportQuery } from './reports.schemas.js';
import type { Format, ReportsService } from './reports.service.js';
import type { ReportModel } from './reports.model.js';

/** ?format= first, else the Accept header, else JSON. */
function formatOf(req: FastifyRequest, format: Format | undefined): Format {
  if (format) return format;
  const accept = String(req.headers.accept ?? '');
  if (/\btext\/html\b/.test(accept)) return 'html';
  if (/\bapplication\/pdf\b/.test(accept)) return 'pdf';
  if (/\btext\/csv\b/.test(accept)) return 'csv';
  return 'json';
}

async function send(reports: ReportsService, req: FastifyRequest, reply: FastifyReply, m: ReportModel, q: { format?: Format | undefined; table?: string | undefined }) {
  const format = formatOf(req, q.format);
  if (format === 'json') return m;
  const r = await reports.render(m, format, q.table);
  const name = `agent-economy-${m.period}-${m.from.slice(0, 10)}${q.table ? `-${q.table}` : ''}.${r.extension}`;
  return reply.type(r.contentType).header('content-disposition', `${format === 'html' ? 'inline' : 'attachment'}; filename="${name}"`)
    .serializer((s: unknown) => s as string).send(r.body as never);
}

export async function reportsRoutes(fastify: FastifyInstance, opts: { reports: ReportsService }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { reports } = opts;
  const tags = ['reports'];
  const formats = 'Formats by ?format= or Accept: JSON (the model), HTML (self-contained), PDF, CSV (one file, each line led by its table\'s name; ?table= for one table). Public: market aggregates and the agents\' public volume only.';

  app.get('/v1/reports', {
    schema: {
      tags, summary: 'Stored economic reports', querystring: ReportListQuery,
      description: 'The reports the daily job stored for each closed day, week and month (5 minutes after the period ends), newest period first; keyset pages.',
      response: { 200: ReportList, ...errors(400) },
    },
  }, async (req) => {
    const after = decodeCursor(req.query.cursor, 2) as [string, string] | undefined;
    const { data, next } = await reports.list({ period: req.query.period, after, limit: req.query.limit ?? 50 });
    return { data, nextCursor: next ? encodeCursor(next) : null };
  });

  app.get('/v1/reports/:id', {
    schema: {
      tags, summary: 'One stored report', params: IdParams, querystring: ReportQuery, description: `A stored report as it was generated. ${formats}`,
      response: { 200: ReportBody, ...errors(400, 404) },
    },
  }, async (req, reply) => send(reports, req, reply, await reports.get(req.params.id), req.query));

  app.get('/v1/market/report', {
    schema: {
      tags, summary: 'A report generated now', querystring: GenerateQuery,
      description: `The report of the period \`at\` falls in (default: the last closed day, week or month), generated on request and not stored (what \`agent-economy report\` asks a running server for). ${formats}`,
      response: { 200: ReportBody, ...errors(400) },
    },
  }, async (req, reply) => send(reports, req, reply, await reports.generate(req.query.period ?? 'day', req.query.at), req.query));
}
