/**
 * No control characters in input. PostgreSQL refuses NUL in text (a 500 if it got that far), and C0
 * controls and DEL in names, ids or headers are never meant. One preValidation hook checks the body,
 * the querystring, the path params and the headers used as values, and answers 400 naming each field.
 * Tab, line feed and carriage return are allowed in body free-text fields only (FREE_TEXT_FIELDS);
 * see docs/decisions.md.
 */
import type { FastifyRequest } from 'fastify';
import { validationFailed, type FieldError } from './errors.js';

/** Body fields holding free text, where \t \n \r are allowed (matched by the field's own name). */
export const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(['memo', 'description', 'reason', 'note', 'comment']);
/** Headers whose values the service stores or compares. */
export const VALUE_HEADERS = ['idempotency-key', 'last-event-id'] as const;

// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_WHITESPACE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
const safeKey = (k: string) => (ANY_CONTROL.test(k) || /[.\s]/.test(k) ? JSON.stringify(k) : k);

function check(s: string, re: RegExp, field: string, out: FieldError[], freeText: boolean): void {
  const m = re.exec(s);
  if (!m) return;
  out.push({
    field,
    message: `must not contain control characters (found ${hex(m[0])} at position ${m.index + 1})` +
      (freeText ? '' : '; tab and line breaks are allowed only in free-text fields'),
  });
}

function walk(value: unknown, field: string, key: string | undefined, inBody: boolean, out: FieldError[], depth = 0): void {
  if (out.length >= 20 || depth > 64) return;
  if (typeof value === 'string') {
    const free = inBody && key !== undefined && FREE_TEXT_FIELDS.has(key);
    check(value, free ? CONTROL_BUT_WHITESPACE : ANY_CONTROL, field, out, free);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${field}.${i}`, key, inBody, out, depth + 1));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (ANY_CONTROL.test(k)) {
        out.push({ field: `${field}.${safeKey(k)}`, message: 'field names must not contain control characters' });
        continue;
      }
      walk(v, `${field}.${safeKey(k)}`, k, inBody, out, depth + 1);
    }
  }
}

/** The fields of a request that hold control characters where none are allowed. */
export function controlCharErrors(request: Pick<FastifyRequest, 'body' | 'query' | 'params' | 'headers'>): FieldError[] {
  const out: FieldError[] = [];
  walk(request.params, 'params', undefined, false, out);
  walk(request.query, 'querystring', undefined, false, out);
  for (const h of VALUE_HEADERS) {
    const v = request.headers[h];
    if (v !== undefined) walk(v, `headers.${h}`, undefined, false, out);
  }
  walk(request.body, 'body', undefined, true, out);
  return out;
}

export async function rejectControlChars(request: FastifyRequest): Promise<void> {
  const errors = controlCharErrors(request);
  if (errors.length > 0) throw validationFailed(errors);
}
