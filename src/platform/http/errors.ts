/**
 * Domain errors with stable codes, one table from code to HTTP status, and one renderer of
 * application/problem+json (RFC 9457). Services throw AppError; only this file knows HTTP. Validation
 * errors are put in words by validation-messages.ts.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fieldErrors, type FieldError, type ValidationItem } from './validation-messages.js';

export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  invalid_transition: 409,
  idempotency_key_reused: 409,
  idempotency_in_flight: 409,
  outside_price_band: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  insufficient_funds: 422,
  unprocessable: 422,
  rate_limited: 429,
  mandate_exceeded: 409,
  risk_restricted: 409,
  tier_limit: 409,
  internal_error: 500,
  service_unavailable: 503,
  overloaded: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Request validation failed',
  invalid_json: 'Malformed JSON body',
  bad_request: 'Bad request',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  invalid_transition: 'Invalid state transition',
  idempotency_key_reused: 'Idempotency key reused with a different request',
  idempotency_in_flight: 'A request with this idempotency key is in progress',
  outside_price_band: 'Price outside the stabilisation band: confirm it',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  insufficient_funds: 'Insufficient funds',
  unprocessable: 'Request cannot be processed',
  rate_limited: 'Too many requests',
  mandate_exceeded: 'Spend mandate limit reached',
  risk_restricted: 'Restricted by a risk intervention',
  tier_limit: "The seller's tier limit of open agreements is reached",
  internal_error: 'Internal server error',
  service_unavailable: 'Service unavailable',
  overloaded: 'Over capacity: retry after the time in Retry-After',
};

export type { FieldError };

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extra: { errors?: FieldError[]; [k: string]: unknown } = {},
  ) {
    super(detail ?? TITLES[code]);
    this.name = 'AppError';
    this.statusCode = ERROR_STATUS[code];
  }
}

export const notFound = (what: string, id: string) => new AppError('not_found', `${what} ${id} does not exist`);
export const forbidden = (detail = 'this key may not act for that agent') => new AppError('forbidden', detail);
export const conflict = (detail: string) => new AppError('conflict', detail);

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  instance?: string;
  errors?: FieldError[];
  [k: string]: unknown;
}

export function problemOf(err: AppError, requestId: string, instance?: string): Problem {
  return {
    type: `https://agent-economy.dev/problems/${err.code.replace(/_/g, '-')}`,
    title: TITLES[err.code],
    status: err.statusCode,
    code: err.code,
    detail: err.message,
    requestId,
    ...(instance ? { instance } : {}),
    ...err.extra,
  };
}

/** The schema a validation context was checked against, for fieldErrors' metadata. */
export type SchemaLookup = (context: string) => unknown;

/** Turns anything thrown into an AppError. Framework errors keep their 4xx meaning. */
export function toAppError(err: unknown, schemaFor?: SchemaLookup): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
  if (e?.validation) {
    const ctx = e.validationContext ?? 'body';
    const errors = fieldErrors(ctx, e.validation, schemaFor?.(ctx));
    return validationFailed(errors);
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', e.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', e.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', e.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('bad_request', e.message);
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new AppError('invalid_json', e.message);
  }
  const status = (e as { statusCode?: number })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 429) return new AppError('rate_limited', e.message);
    if (status === 413) return new AppError('payload_too_large', e.message);
    if (status === 415) return new AppError('unsupported_media_type', e.message);
    if (status === 404) return new AppError('not_found', e.message);
    return new AppError('bad_request', e.message);
  }
  return new AppError('internal_error', 'An unexpected error occurred; quote the requestId when reporting it');
}

/** A 400 listing field errors; `detail` is their readable join. */
export function validationFailed(errors: FieldError[]): AppError {
  return new AppError('validation_failed', errors.map((x) => `${x.field} ${x.message}`).join('; '), { errors });
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: AppError) {
  const problem = problemOf(err, request.id, request.url);
  return reply.code(err.statusCode).type('application/problem+json').send(problem);
}
