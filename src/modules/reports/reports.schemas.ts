/** TypeBox schemas of the reports API. */
import { Type } from 'typebox';
import { PageQuery, Page, Timestamp } from '../../platform/http/schemas.js';
import { CSV_TABLES } from './reports.render.js';

const PeriodT = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { description: 'UTC day, week (from Monday) or calendar month' });
const FormatT = Type.Union([Type.Literal('json'), Type.Literal('html'), Type.Literal('pdf'), Type.Literal('csv')], {
  description: 'json (the model), html (self-contained: inline CSS and SVG charts), pdf, or csv (every table in one file, each line led by its table name; with `table`, that table alone). Also by Accept: application/json, text/html, application/pdf, text/csv',
});
const TableT = Type.Union(CSV_TABLES.map((t) => Type.Literal(t)), { description: 'csv only: one table' });

export const ReportListQuery = Type.Object({ period: Type.Optional(PeriodT), ...PageQuery }, { additionalProperties: false });
export const ReportQuery = Type.Object({ format: Type.Optional(FormatT), table: Type.Optional(TableT) }, { additionalProperties: false });
export const GenerateQuery = Type.Object({
  period: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day', description: 'Default day' })),
  at: Type.Optional(Type.String({ format: 'date-time', description: 'A time inside the period; default: the last closed period' })),
  format: Type.Optional(FormatT), table: Type.Optional(TableT),
}, { additionalProperties: false });

export const ReportSummary = Type.Object({
  id: Type.String({ format: 'uuid' }), period: PeriodT, from: Timestamp, to: Timestamp, createdAt: Timestamp,
  links: Type.Record(Type.String(), Type.String(), { description: 'Where to download each format' }),
});
export const ReportList = Page(ReportSummary);
export const ReportBody = Type.Unknown({
  description: 'The report model: title, period bounds, empty (no trades settled), notes, kpis (current, previous, relative change), targets (the plan\'s success metrics: met / missed / not_measured with the reason), ' +
    'charts (the data of each chart), insights (GET /v1/market/insights for the period). Other formats (html, pdf, csv) are rendered from it.',
});
