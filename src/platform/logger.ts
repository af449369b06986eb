import { pino, type LevelWithSilent, type Logger } from 'pino';

export type { Logger };

/** `level`: one of pino's levels or 'silent' (config.ts's LOG_LEVELS are these). */
export function createLogger(level: LevelWithSilent): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', 'apiKey', 'adminKey'], censor: '[redacted]' },
  });
}
