import { describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { toAppError } from './errors.js';
import { fieldErrors } from './validation-messages.js';
import { Amount, Uuid } from './schemas.js';
import { controlCharErrors } from './control-chars.js';

const Body = Type.Object(
  {
    displayName: Type.String({ minLength: 1, maxLength: 120 }),
    type: Type.Union([Type.Literal('provider'), Type.Literal('consumer'), Type.Literal('both')]),
    amount: Amount,
    to: Uuid,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    maybe: Type.Optional(Type.Union([Amount, Type.Null()])),
  },
  { additionalProperties: false },
);

function errorsFor(value: unknown) {
  const validate = TypeBoxValidatorCompiler({ schema: Body } as never) as unknown as (v: unknown) => { error?: unknown[] };
  const res = validate(value);
  return fieldErrors('body', (res.error ?? []) as never, Body);
}

describe('validation messages', () => {
  it('an enum mismatch lists the allowed values once', () => {
    const errs = errorsFor({ displayName: 'a', type: 'bad', amount: '1', to: '0190c7e2-5b7a-7cc1-8d3e-6f1a2b3c4d5e' });
    expect(errs).toEqual([{ field: 'body.type', message: 'must be one of provider, consumer, both' }]);
  });

  it('names every missing field', () => {
    const errs = errorsFor({});
    expect(errs.map((e) => e.field)).toEqual(['body.displayName', 'body.type', 'body.amount', 'body.to']);
    expect(errs.every((e) => e.message === 'is required')).toBe(true);
  });

  it('a bad amount says what an amount is, not the regex', () => {
    const errs = errorsFor({ displayName: 'a', type: 'both', amount: '1e999', to: '0190c7e2-5b7a-7cc1-8d3e-6f1a2b3c4d5e', maybe: 'x' });
    expect(errs).toEqual([
      { field: 'body.amount', message: 'must be a decimal string with at most 8 decimals and at most 10 integer digits, e.g. "12.5"' },
      { field: 'body.maybe', message: 'must be a decimal string with at most 8 decimals and at most 10 integer digits, e.g. "12.5" or null' },
    ]);
  });

  it('an unknown field is named with the allowed ones, once', () => {
    const errs = errorsFor({ displayName: 'a', type: 'both', amount: '1', to: '0190c7e2-5b7a-7cc1-8d3e-6f1a2b3c4d5e', colour: 'red' });
    expect(errs).toEqual([{ field: 'body.colour', message: 'unknown field colour; allowed: displayName, type, amount, to, limit, maybe' }]);
  });

  it('lengths, formats and ranges in words', () => {
    const errs = errorsFor({ displayName: '', type: 'both', amount: '1', to: 'x', limit: 0 });
    expect(errs).toEqual([
      { field: 'body.displayName', message: 'must not be empty (at most 120 characters)' },
      { field: 'body.to', message: 'must be a UUID, e.g. "0190c7e2-5b7a-7cc1-8d3e-6f1a2b3c4d5e"' },
      { field: 'body.limit', message: 'must be an integer from 1 to 200' },
    ]);
  });

  it('detail is a readable join of the field errors', () => {
    const validate = TypeBoxValidatorCompiler({ schema: Body } as never) as unknown as (v: unknown) => { error?: unknown[] };
    const err = Object.assign(new Error('x'), { validation: validate({ displayName: 'a' }).error, validationContext: 'body' });
    const e = toAppError(err, () => Body);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toBe('body.type is required; body.amount is required; body.to is required');
  });

  it('an invalid Content-Length is a 400, not a 415', () => {
    const err = Object.assign(new Error('Request body size did not match Content-Length'), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 });
    expect(toAppError(err).statusCode).toBe(400);
    expect(toAppError(err).code).toBe('bad_request');
  });
});

describe('control characters', () => {
  const req = (body: unknown, extra: Partial<{ query: unknown; params: unknown; headers: Record<string, string> }> = {}) =>
    ({ body, query: extra.query ?? {}, params: extra.params ?? {}, headers: extra.headers ?? {} }) as never;

  it('NUL anywhere is named by field', () => {
    expect(controlCharErrors(req({ displayName: '\u0000' })).map((e) => e.field)).toEqual(['body.displayName']);
    expect(controlCharErrors(req({ a: { b: ['ok', 'x\u007f'] } })).map((e) => e.field)).toEqual(['body.a.b.1']);
    expect(controlCharErrors(req(undefined, { query: { cursor: 'a\u0001' }, params: { id: '\u0000' } })).map((e) => e.field))
      .toEqual(['params.id', 'querystring.cursor']);
    expect(controlCharErrors(req(undefined, { headers: { 'idempotency-key': 'k\u0000' } })).map((e) => e.field)).toEqual(['headers.idempotency-key']);
  });

  it('tab and line breaks only in free-text fields', () => {
    expect(controlCharErrors(req({ memo: 'line 1\r\nline 2\tend', reason: 'a\nb' }))).toEqual([]);
    expect(controlCharErrors(req({ memo: 'a\u0000' })).map((e) => e.field)).toEqual(['body.memo']);
    expect(controlCharErrors(req({ displayName: 'a\nb' })).map((e) => e.field)).toEqual(['body.displayName']);
  });
});
