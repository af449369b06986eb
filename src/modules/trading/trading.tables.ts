/** Row types of the trading module's tables (migration 0004-trading). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface TradingTables {}
