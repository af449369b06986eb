/** Row types of the reports module's table (migration 0016-reports). */
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface ReportsTable {
  id: string;
  period: 'day' | 'week' | 'month';
  period_start: Timestamp;
  period_end: Timestamp;
  created_at: Timestamp;
  /** The report model (reports.model.ts): every format is rendered from it. */
  model: ColumnType<unknown, string, string>;
}

export interface ReportsTables {
  reports: ReportsTable;
}
