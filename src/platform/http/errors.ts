/**
 * Domain errors with stable codes, one table from code to HTTP status, and one renderer of
 * application/problem+json (RFC 9457). Services throw AppError; only this file knows HTTP.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

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
  internal_error: 500,
  service_unavailable: 503,
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
  internal_error: 'Internal server error',
  service_unavailable: 'Service unavailable',
};

export interface FieldError {
  field: string;
  message: string;
}

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

interface ValidationItem {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

type Schema = Record<string, unknown>;

/**
 * A schema may carry `errorMessage`: what a value must look like, written for a user (it replaces
 * the raw pattern in messages), e.g. 'must be a decimal string with at most 8 decimals ...'.
 */
export interface HumanMessage {
  errorMessage?: string;
}

const decode = (seg: string) => seg.replace(/~1/g, '/').replace(/~0/g, '~');

function segmentsOf(pointer: string | undefined): string[] {
  if (!pointer) return [];
  return pointer.replace(/^#/, '').split('/').filter((x) => x !== '').map(decode);
}

function resolve(root: unknown, segs: string[]): Schema | undefined {
  let cur: unknown = root;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur !== null && typeof cur === 'object' ? (cur as Schema) : undefined;
}

/** How many instance-path segments the schema path `segs` walks through (properties/x, items, ...). */
function instanceDepth(segs: string[]): number {
  let n = 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === 'properties' || s === 'patternProperties' || s === 'dependentSchemas') { n++; i++; }
    else if (s === 'items' || s === 'additionalProperties' || s === 'additionalItems' || s === 'contains') {
      if (s === 'items' && /^\d+$/.test(segs[i + 1] ?? '')) i++;
      n++;
    } else if (s === 'anyOf' || s === 'oneOf' || s === 'allOf') i++;
  }
  return n;
}

const quote = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function joinOr(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function constValues(s: Schema): unknown[] | undefined {
  if ('const' in s) return [s.const];
  if (Array.isArray(s.enum)) return s.enum as unknown[];
  if (Array.isArray(s.anyOf)) {
    const all: unknown[] = [];
    for (const b of s.anyOf as Schema[]) {
      const v = constValues(b);
      if (!v) return undefined;
      all.push(...v);
    }
    return all;
  }
  return undefined;
}

function range(s: Schema, unit = ''): string {
  const min = (s.minimum ?? s.exclusiveMinimum) as number | undefined;
  const max = (s.maximum ?? s.exclusiveMaximum) as number | undefined;
  const lo = s.exclusiveMinimum !== undefined ? `greater than ${min}` : `at least ${min}`;
  const hi = s.exclusiveMaximum !== undefined ? `less than ${max}` : `at most ${max}`;
  if (min !== undefined && max !== undefined) {
    return s.exclusiveMinimum === undefined && s.exclusiveMaximum === undefined ? `from ${min} to ${max}${unit}` : `${lo} and ${hi}${unit}`;
  }
  if (min !== undefined) return `${lo}${unit}`;
  if (max !== undefined) return `${hi}${unit}`;
  return '';
}

const FORMATS: Record<string, string> = {
  uuid: 'a UUID, e.g. "0190c7e2-5b7a-7cc1-8d3e-6f1a2b3c4d5e"',
  'date-time': 'an RFC 3339 date-time, e.g. "2026-11-01T12:00:00Z"',
  date: 'a date, e.g. "2026-11-01"',
  uri: 'an absolute URI',
  email: 'an email address',
};

/** What a schema allows, as a noun phrase: "a UUID", "one of a, b, c", "an integer from 1 to 200", "null". */
function describe(s: Schema | undefined): string {
  if (!s) return 'a valid value';
  if (typeof s.errorMessage === 'string') return s.errorMessage.replace(/^must be /, '');
  const consts = constValues(s);
  if (consts) return consts.length === 1 ? quote(consts[0]) : `one of ${consts.map(quote).join(', ')}`;
  if (Array.isArray(s.anyOf)) {
    const branches = s.anyOf as Schema[];
    const literals = branches.flatMap((b) => constValues(b) ?? []);
    const others = branches.filter((b) => !constValues(b)).map(describe);
    const parts = literals.length > 0 ? [`one of ${literals.map(quote).join(', ')}`, ...others] : others;
    return joinOr(parts);
  }
  switch (s.type) {
    case 'null': return 'null';
    case 'boolean': return 'true or false';
    case 'integer': { const r = range(s); return `an integer${r ? ` ${r}` : ''}`; }
    case 'number': { const r = range(s); return `a number${r ? ` ${r}` : ''}`; }
    case 'array': return 'an array';
    case 'object': return 'an object';
    case 'string': {
      if (typeof s.format === 'string') return FORMATS[s.format] ?? `a valid ${s.format}`;
      const lim = lengthRange(s);
      return `a string${lim ? ` of ${lim}` : ''}`;
    }
  }
  return 'a valid value';
}

function lengthRange(s: Schema): string {
  const min = s.minLength as number | undefined;
  const max = s.maxLength as number | undefined;
  if (min !== undefined && max !== undefined) return `${min} to ${max} characters`;
  if (min !== undefined) return `at least ${min} characters`;
  if (max !== undefined) return `at most ${max} characters`;
  return '';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false',
  object: 'an object', array: 'an array', null: 'null',
};

function fieldName(context: string | undefined, pointerSegs: string[]): string {
  return [context ?? 'body', ...pointerSegs].join('.');
}

/** One plain (not inside a union) validation error, in words. */
function plain(context: string | undefined, root: unknown, v: ValidationItem, out: FieldError[]): void {
  const inst = segmentsOf(v.instancePath);
  const schemaSegs = segmentsOf(v.schemaPath);
  const s = resolve(root, schemaSegs);
  const p = v.params ?? {};
  const field = fieldName(context, inst);
  const push = (f: string, message: string) => out.push({ field: f, message });
  switch (v.keyword) {
    case 'required': {
      const names = Array.isArray(p.requiredProperties) ? p.requiredProperties.map(String)
        : p.missingProperty !== undefined ? [String(p.missingProperty)] : [];
      for (const n of names) push(fieldName(context, [...inst, n]), 'is required');
      return;
    }
    case 'additionalProperties': {
      const names = Array.isArray(p.additionalProperties) ? p.additionalProperties.map(String)
        : p.additionalProperty !== undefined ? [String(p.additionalProperty)] : [];
      const allowed = Object.keys((s?.properties as object | undefined) ?? {});
      for (const n of names) {
        push(fieldName(context, [...inst, n]), `unknown field ${n}; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`);
      }
      return;
    }
    case 'boolean': {
      // `additionalProperties: false` reported at the extra property itself.
      if (schemaSegs[schemaSegs.length - 1] === 'additionalProperties') {
        const parent = resolve(root, schemaSegs.slice(0, -1));
        const allowed = Object.keys((parent?.properties as object | undefined) ?? {});
        push(field, `unknown field ${inst[inst.length - 1] ?? ''}; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`);
      } else push(field, 'is not allowed');
      return;
    }
    case 'type': {
      const t = Array.isArray(p.type) ? p.type.map(String) : [String(p.type ?? s?.type ?? '')];
      push(field, `must be ${joinOr(t.map((x) => TYPE_NAMES[x] ?? x))}`);
      return;
    }
    case 'const':
    case 'enum':
      push(field, `must be ${describe(s)}`);
      return;
    case 'pattern':
      push(field, typeof s?.errorMessage === 'string' ? s.errorMessage : `must match the pattern ${String(p.pattern ?? s?.pattern)}`);
      return;
    case 'format': {
      const f = String(p.format ?? s?.format);
      push(field, typeof s?.errorMessage === 'string' ? s.errorMessage : `must be ${FORMATS[f] ?? `a valid ${f}`}`);
      return;
    }
    case 'minLength':
    case 'maxLength': {
      if (typeof s?.errorMessage === 'string') { push(field, s.errorMessage); return; }
      if (v.keyword === 'minLength' && Number(p.limit) === 1) { push(field, `must not be empty${s?.maxLength !== undefined ? ` (at most ${String(s.maxLength)} characters)` : ''}`); return; }
      push(field, `must be ${s ? lengthRange(s) : `${v.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters`} long`);
      return;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      push(field, `must be ${s ? describe(s) : `${String(p.comparison ?? '')} ${String(p.limit)}`}`);
      return;
    case 'minItems':
      push(field, `must have at least ${String(p.limit)} item${Number(p.limit) === 1 ? '' : 's'}`);
      return;
    case 'maxItems':
      push(field, `must have at most ${String(p.limit)} item${Number(p.limit) === 1 ? '' : 's'}`);
      return;
    case 'uniqueItems':
      push(field, 'must not contain duplicates');
      return;
    case 'minProperties': {
      const names = Object.keys((s?.properties as object | undefined) ?? {});
      push(field, Number(p.limit) === 1 && names.length
        ? `must contain at least one of ${names.join(', ')}`
        : `must have at least ${String(p.limit)} fields`);
      return;
    }
    case 'maxProperties':
      push(field, `must have at most ${String(p.limit)} fields`);
      return;
    case 'multipleOf':
      push(field, `must be a multiple of ${String(p.multipleOf ?? s?.multipleOf)}`);
      return;
  }
  push(field, v.message ?? 'is invalid');
}

/**
 * Validation errors (from TypeBox's compiler, ajv-shaped) in words a caller can act on: one entry per
 * real problem, naming the field, what is wrong and what is allowed. Errors inside a union (anyOf) are
 * collapsed into one "must be one of ..." unless the value matched a branch's shape, in which case the
 * errors inside that branch are reported. `root` is the schema that was validated (for metadata).
 */
export function fieldErrors(context: string | undefined, items: ValidationItem[], root?: unknown): FieldError[] {
  const out: FieldError[] = [];
  collapse(context, root, items, 0, out);
  const seen = new Set<string>();
  return out.filter((e) => {
    const k = `${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function collapse(context: string | undefined, root: unknown, items: ValidationItem[], from: number, out: FieldError[]): void {
  // Group by the first union at or after schema-path segment `from`.
  const groups = new Map<string, { unionSegs: string[]; base: string[]; items: ValidationItem[] }>();
  for (const v of items) {
    const segs = segmentsOf(v.schemaPath);
    let at = -1;
    for (let i = from; i < segs.length; i++) if ((segs[i] === 'anyOf' || segs[i] === 'oneOf') && /^\d+$/.test(segs[i + 1] ?? '')) { at = i; break; }
    if (at < 0 && v.keyword !== 'anyOf' && v.keyword !== 'oneOf') { plain(context, root, v, out); continue; }
    const unionSegs = at < 0 ? segs : segs.slice(0, at);
    const base = segmentsOf(v.instancePath).slice(0, instanceDepth(unionSegs));
    const key = `${unionSegs.join('/')}|${base.join('/')}`;
    let g = groups.get(key);
    if (!g) { g = { unionSegs, base, items: [] }; groups.set(key, g); }
    g.items.push(v);
  }
  for (const g of groups.values()) {
    const deeper = g.items.filter((v) => segmentsOf(v.instancePath).length > g.base.length);
    if (deeper.length > 0) { collapse(context, root, deeper, g.unionSegs.length + 2, out); continue; }
    const union = resolve(root, g.unionSegs);
    out.push({ field: fieldName(context, g.base), message: `must be ${describe(union)}` });
  }
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
