/** What other parts may import of reports: the model and the source of market figures it is built from. */
export type { MarketSource, ReportModel, Period } from './reports.model.js';
