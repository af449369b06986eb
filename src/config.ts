/**
 * Configuration, parsed once from the environment by one schema (`ENV`). Nothing else in the code base
 * reads process.env. A bad value stops the process with a message naming every bad variable, what it got
 * and what is allowed; the README's configuration table lists the same variables (a test compares them).
 */
import path from 'node:path';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { AMOUNT_PATTERN, parseAmount } from './platform/money.js';
import type { VerifierDefaults } from './modules/verifier/verifier.module.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const int = (minimum: number, maximum: number, def: number, description: string) =>
  Type.Integer({ minimum, maximum, default: def, description });

/** Every environment variable the service reads, with its default and what it allows. */
export const ENV = Type.Object({
  PORT: int(0, 65535, 8006, 'HTTP port'),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Interface to listen on' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'Embedded database and generated admin key' }),
  DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://', allowed: 'a postgres:// or postgresql:// URL',
    description: '`postgres://` URL: use a PostgreSQL server instead (same migrations)',
  })),
  ADMIN_KEY: Type.Optional(Type.String({
    minLength: 16, pattern: '^\\S+$', allowed: 'at least 16 characters with no whitespace',
    description: 'Operator bearer token; required with `DATABASE_URL`',
  })),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info', description: 'Log level' }),
  RATE_LIMIT_PER_MINUTE: int(0, 100_000_000, 6000, 'Requests per minute per API key (per IP when anonymous); 0 disables'),
  BODY_LIMIT_BYTES: int(1024, 100 * 1_048_576, 1_048_576, 'Largest accepted request body'),
  DB_POOL_SIZE: int(1, 1000, 20, 'PostgreSQL connections per process'),
  MAX_IN_FLIGHT_REQUESTS: int(0, 1_000_000, 1024, 'API requests served at once per process; past it a request gets 503 `overloaded` with Retry-After; 0 disables'),
  STREAM_CLIENT_BUFFER_BYTES: int(65_536, 64 * 1_048_576, 262_144, 'Most bytes held for one stream client its socket has not taken; past it the client is caught up from the outbox table at the pace it reads'),
  STREAM_CLIENT_STALL_SECONDS: int(1, 86_400, 60, 'A stream client past STREAM_CLIENT_BUFFER_BYTES whose socket takes nothing for this long is disconnected (it resumes with Last-Event-ID)'),
  HEARTBEAT_INTERVAL_SECONDS: int(10, 3600, 60, 'Availability slot: an agent is up for a slot of this many seconds if a heartbeat arrived in it (send one every half slot)'),
  FUNDING_WINDOW_SECONDS: int(10, 30 * 86_400, 900, 'Time a buyer has to fund an agreement after it is made (never past its delivery deadline); an unfunded agreement is then cancelled and its listing units return'),
  VERIFIER_INTERVAL_SECONDS: int(0, 86_400, 300, 'How often the built-in verifier runs (each process; runs are serialised); `0` disables the background run'),
  VERIFIER_CHALLENGES_PER_RUN: int(0, 1000, 3, 'Challenge jobs the verifier starts per run at most'),
  VERIFIER_MAX_PRICE: Type.String({
    pattern: AMOUNT_PATTERN, default: '1', allowed: 'an AITBC amount such as "1" or "0.5"',
    description: 'Most the verifier pays for one challenge (AITBC); dearer listings are not probed',
  }),
  VERIFIER_DAILY_BUDGET: Type.String({
    pattern: AMOUNT_PATTERN, default: '10', allowed: 'an AITBC amount such as "10"',
    description: 'Most the verifier commits to challenges in any 24 hours (AITBC), and never more than its wallet holds',
  }),
  VERIFIER_FEE_SHARE_BPS: int(0, 10_000, 0, 'Share of platform fees swept into the verifier\'s budget, in basis points'),
  VERIFIER_COOLDOWN_HOURS: int(0, 8760, 24, 'Least time between two challenges of the same seller'),
});
type EnvValues = Static<typeof ENV>;

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
  /** API requests served at once (per process) before new ones are shed with 503; 0: no limit. */
  maxInFlightRequests: number;
  /** Most bytes the server holds for one GET /v1/stream client before it catches the client up from the table instead. */
  streamClientBufferBytes: number;
  /** Seconds a stream client past its buffer may take nothing before it is disconnected. */
  streamClientStallSeconds: number;
  /** Length of an availability slot in seconds: up for a slot when a heartbeat arrived in it. */
  heartbeatIntervalSeconds: number;
  /** Seconds a buyer has to fund an agreement after it is made (capped by the delivery deadline). */
  fundingWindowSeconds: number;
  /** The built-in verifier's defaults (the operator overrides them with PUT /v1/admin/verifier). */
  verifier: VerifierDefaults;
}

/** The shape is the verifier's (it reads them); parsed here from the environment. */
export type { VerifierDefaults };

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** What a variable allows, in words, from its schema. */
function allowed(s: TSchema & Record<string, unknown>): string {
  if (s.type === 'integer') return `an integer between ${String(s.minimum)} and ${String(s.maximum)}`;
  if (Array.isArray(s.anyOf)) return `one of ${(s.anyOf as { const: string }[]).map((x) => x.const).join(', ')}`;
  return String(s.allowed ?? s.description);
}

/** The variables as the schema reads them: unset and empty are the default, integers from digits only. */
function envValues(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(ENV.properties) as unknown as [string, TSchema & Record<string, unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (schema.type === 'integer') out[name] = /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    else out[name] = name === 'LOG_LEVEL' ? raw.toLowerCase() : raw;
  }
  return Value.Default(ENV, out) as Record<string, unknown>;
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const values = envValues(env);
  const problems: string[] = [];
  const bad = new Set<string>();
  for (const [name, schema] of Object.entries(ENV.properties) as unknown as [string, TSchema & Record<string, unknown>][]) {
    if (values[name] === undefined || Value.Check(schema, values[name])) continue;
    bad.add(name);
    // the key is a secret: never echo it
    problems.push(`${name} must be ${allowed(schema)}${name === 'ADMIN_KEY' ? '' : ` (got "${env[name]}")`}`);
  }
  const v = values as EnvValues;
  if (v.DATABASE_URL !== undefined && !bad.has('DATABASE_URL')) {
    try {
      new URL(v.DATABASE_URL);
    } catch {
      problems.push('DATABASE_URL is not a valid URL');
    }
  }
  if (v.DATABASE_URL !== undefined && v.ADMIN_KEY === undefined) {
    problems.push('ADMIN_KEY is required when DATABASE_URL is set (it is generated only in embedded mode)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: v.PORT, host: v.HOST, dataDir: path.resolve(v.DATA_DIR), databaseUrl: v.DATABASE_URL, adminKey: v.ADMIN_KEY,
    logLevel: v.LOG_LEVEL, rateLimitPerMinute: v.RATE_LIMIT_PER_MINUTE, bodyLimitBytes: v.BODY_LIMIT_BYTES, dbPoolSize: v.DB_POOL_SIZE, maxInFlightRequests: v.MAX_IN_FLIGHT_REQUESTS,
    streamClientBufferBytes: v.STREAM_CLIENT_BUFFER_BYTES, streamClientStallSeconds: v.STREAM_CLIENT_STALL_SECONDS,
    heartbeatIntervalSeconds: v.HEARTBEAT_INTERVAL_SECONDS, fundingWindowSeconds: v.FUNDING_WINDOW_SECONDS,
    verifier: {
      intervalSeconds: v.VERIFIER_INTERVAL_SECONDS, challengesPerRun: v.VERIFIER_CHALLENGES_PER_RUN, maxPrice: parseAmount(v.VERIFIER_MAX_PRICE),
      dailyBudget: parseAmount(v.VERIFIER_DAILY_BUDGET), feeShareBps: v.VERIFIER_FEE_SHARE_BPS, cooldownHours: v.VERIFIER_COOLDOWN_HOURS,
    },
    ...overrides,
  };
}
