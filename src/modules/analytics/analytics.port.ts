/** What other modules may import of analytics: the reporting periods (UTC days, weeks from Monday, calendar months). */
export { periodOf, PERIODS, type Period } from './analytics.insights.js';
