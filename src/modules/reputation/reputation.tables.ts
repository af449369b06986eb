/** Row types of the reputation module's tables (migration 0003-reputation). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ReputationTables {}
