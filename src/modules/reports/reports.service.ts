/**
 * Economic reports: built on request from the market figures (reports.model.ts), and stored once per
 * closed period by a background job (day, week and month, GRACE_MS after the period ends so the
 * analytics projection has folded its last events). Stored reports keep their JSON model; the other
 * formats are rendered from it when asked for.
 */
import type { BackgroundJob } from '../module.js';
import type { Database } from '../../database.js';
import type { Clock } from '../../platform/clock.js';
import { uuidv7 } from '../../platform/ids.js';
import { notFound } from '../../platform/http/errors.js';
import { periodOf, PERIODS, type Period } from '../analytics/analytics.port.js';
import { buildReport, type MarketSource, type ReportModel } from './reports.model.js';
import { renderCsv, renderHtml, renderPdf } from './reports.render.js';
import { reportsRepository as repo } from './reports.repository.js';

export const GRACE_MS = 5 * 60_000;
export type Format = 'json' | 'html' | 'pdf' | 'csv';

export interface ReportsDeps {
  database: Database;
  clock: Clock;
  market: MarketSource;
}

export interface Rendered { contentType: string; body: string | Buffer; extension: string }

export class ReportsService {
  readonly jobs: BackgroundJob[];

  constructor(private readonly deps: ReportsDeps) {
    this.jobs = [{ name: 'reports.store-closed', intervalMs: 60_000, run: () => this.storeClosed() }];
  }

  private get db() {
    return this.deps.database.db;
  }

  /** A report for the period `at` falls in (default: the last closed one), not stored. */
  generate(period: Period, at?: string): Promise<ReportModel> {
    return buildReport(this.deps.market, period, at, this.deps.clock.now());
  }

  /**
   * Stores the report of each period (day, week, month) that closed at least GRACE_MS ago and has none
   * yet. Safe in several processes: the (period, start) key makes a second insert a no-op. Returns the
   * periods stored.
   */
  async storeClosed(): Promise<{ period: Period; from: string }[]> {
    const now = this.deps.clock.now();
    const stored: { period: Period; from: string }[] = [];
    for (const period of PERIODS) {
      const last = periodOf(period, new Date(now.getTime() - GRACE_MS - 1));
      const closed = last.to.getTime() <= now.getTime() - GRACE_MS ? last : periodOf(period, new Date(last.from.getTime() - 1));
      if (await repo.exists(this.db, period, closed.from)) continue;
      const model = await this.generate(period, closed.from.toISOString());
      const inserted = await repo.insert(this.db, { id: uuidv7(this.deps.clock), period, period_start: closed.from, period_end: closed.to, created_at: now, model });
      if (inserted) stored.push({ period, from: closed.from.toISOString() });
    }
    return stored;
  }

  async list(o: { period?: Period | undefined; after?: [string, string] | undefined; limit: number }) {
    const rows = await repo.list(this.db, { ...o, limit: o.limit + 1 });
    const page = rows.slice(0, o.limit);
    const last = page.at(-1);
    return {
      data: page.map((r) => ({
        id: r.id, period: r.period, from: r.period_start.toISOString(), to: r.period_end.toISOString(), createdAt: r.created_at.toISOString(),
        links: Object.fromEntries((['json', 'html', 'pdf', 'csv'] as const).map((f) => [f, `/v1/reports/${r.id}?format=${f}`])),
      })),
      next: rows.length > o.limit && last ? [last.period_start.toISOString(), last.id] as [string, string] : null,
    };
  }

  async get(id: string): Promise<ReportModel> {
    const r = await repo.get(this.db, id);
    if (!r) throw notFound('report', id);
    return r.model as ReportModel;
  }

  async render(m: ReportModel, format: Format, table?: string): Promise<Rendered> {
    switch (format) {
      case 'html': return { contentType: 'text/html; charset=utf-8', body: await renderHtml(m), extension: 'html' };
      case 'pdf': return { contentType: 'application/pdf', body: await renderPdf(m), extension: 'pdf' };
      case 'csv': return { contentType: 'text/csv; charset=utf-8', body: renderCsv(m, table), extension: 'csv' };
      default: return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(m), extension: 'json' };
    }
  }
}
