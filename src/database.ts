/**
 * The whole database, as the assembled app sees it: the platform's tables and every module's, each module
 * declaring its own in `<module>.tables.ts`. This is the one place that names them all (beside app.ts,
 * which assembles the modules); the platform is generic over it and knows none of them.
 *
 * Modules, the app, the CLI and the simulator take `Database`, `Tx` and `Executor` from here, not from
 * src/platform/db/database.ts (the architecture test checks it).
 */
import type { Kysely, Transaction } from 'kysely';
import {
  createDatabase as createPlatformDatabase,
  type Database as PlatformDatabase,
  type DatabaseOptions,
} from './platform/db/database.js';
import type { PlatformTables } from './platform/db/schema.js';
import type { AgentsTables } from './modules/agents/agents.tables.js';
import type { AnalyticsTables } from './modules/analytics/analytics.tables.js';
import type { CertificationTables } from './modules/certification/certification.tables.js';
import type { RiskTables } from './modules/risk/risk.tables.js';
import type { AvailabilityTables } from './modules/availability/availability.tables.js';
import type { LedgerTables } from './modules/ledger/ledger.tables.js';
import type { ReputationTables } from './modules/reputation/reputation.tables.js';
import type { ReportsTables } from './modules/reports/reports.tables.js';
import type { RewardsTables } from './modules/rewards/rewards.tables.js';
import type { TradingTables } from './modules/trading/trading.tables.js';
import type { VerifierTables } from './modules/verifier/verifier.tables.js';

export { PREPARE, type DatabaseOptions, type DbKind, type TxOptions } from './platform/db/database.js';

/** Every table of the database. */
export interface DB extends PlatformTables, AgentsTables, AnalyticsTables, AvailabilityTables, CertificationTables, LedgerTables, ReportsTables, ReputationTables, RewardsTables, RiskTables, TradingTables, VerifierTables {}

export type Database = PlatformDatabase<DB>;
/** A transaction of the whole database, as modules hand it to each other (the ledger's, reputation's). */
export type Tx = Transaction<DB>;
/** The database or a transaction of it: what a repository runs its statements on. */
export type Executor = Kysely<DB> | Transaction<DB>;

export function createDatabase(opts: DatabaseOptions): Promise<Database> {
  return createPlatformDatabase<DB>(opts);
}
