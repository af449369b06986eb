/**
 * Configuration, parsed once from the environment. Nothing else in the code base reads process.env.
 * A bad value stops the process with a message naming every bad variable.
 */
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  port: number;
  host: string;
  /** Directory of the embedded database and the generated admin key. */
  dataDir: string;
  /** PostgreSQL connection string; undefined selects the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** Operator bearer token. In embedded mode a missing key is generated and stored in the data dir. */
  adminKey: string | undefined;
  logLevel: LogLevel;
  /** Requests per minute per API key (or per IP when anonymous). 0 disables the limiter. */
  rateLimitPerMinute: number;
  /** Largest accepted request body in bytes. */
  bodyLimitBytes: number;
  /** Size of the pg pool (PostgreSQL mode only). */
  dbPoolSize: number;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return def;
  }
  const n = Number(raw.trim());
  if (n < min || n > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    return def;
  }
  return n;
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const port = intVar(env, 'PORT', 8006, 0, 65535, problems);
  const rateLimitPerMinute = intVar(env, 'RATE_LIMIT_PER_MINUTE', 6000, 0, 100_000_000, problems);
  const bodyLimitBytes = intVar(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576, problems);
  const dbPoolSize = intVar(env, 'DB_POOL_SIZE', 20, 1, 1000, problems);

  const host = env.HOST && env.HOST !== '' ? env.HOST : '0.0.0.0';
  const dataDir = path.resolve(env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './data');

  let databaseUrl: string | undefined;
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== '') {
    try {
      const u = new URL(env.DATABASE_URL);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
        problems.push(`DATABASE_URL must be a postgres:// or postgresql:// URL (got protocol "${u.protocol}")`);
      } else {
        databaseUrl = env.DATABASE_URL;
      }
    } catch {
      problems.push('DATABASE_URL is not a valid URL');
    }
  }

  let adminKey: string | undefined;
  if (env.ADMIN_KEY !== undefined && env.ADMIN_KEY !== '') {
    if (env.ADMIN_KEY.length < 16 || /\s/.test(env.ADMIN_KEY)) {
      problems.push('ADMIN_KEY must be at least 16 characters with no whitespace');
    } else {
      adminKey = env.ADMIN_KEY;
    }
  } else if (databaseUrl !== undefined) {
    problems.push('ADMIN_KEY is required when DATABASE_URL is set (it is generated only in embedded mode)');
  }

  let logLevel: LogLevel = 'info';
  if (env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== '') {
    const l = env.LOG_LEVEL.toLowerCase() as LogLevel;
    if (LOG_LEVELS.includes(l)) logLevel = l;
    else problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { port, host, dataDir, databaseUrl, adminKey, logLevel, rateLimitPerMinute, bodyLimitBytes, dbPoolSize, ...overrides };
}
