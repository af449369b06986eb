/** Shared TypeBox schemas: problem responses, amounts, pagination, ids. */
import { Type, type TSchema } from 'typebox';
import { AMOUNT_PATTERN } from '../money.js';

/** The human message for a malformed amount (read by the problem renderer instead of the raw pattern). */
export const AMOUNT_MESSAGE = 'must be a decimal string with at most 8 decimals and at most 10 integer digits, e.g. "12.5"';

export const Uuid = Type.String({ format: 'uuid', description: 'UUIDv7 identifier' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const Amount = Type.String({
  pattern: AMOUNT_PATTERN,
  errorMessage: AMOUNT_MESSAGE,
  description: 'AITBC amount as a decimal string, up to 8 decimals, e.g. "12.5"',
  examples: ['12.5'],
});
export const SignedAmount = Type.String({ pattern: '^-?(0|[1-9][0-9]*)(\\.[0-9]{1,8})?$', errorMessage: 'must be a decimal string with an optional minus sign and at most 8 decimals, e.g. "-12.5"', description: 'AITBC amount, may be negative' });

export const Timestamp = Type.String({ format: 'date-time' });

export const FieldErrorSchema = Type.Object({ field: Type.String(), message: Type.String() });
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.String(),
    requestId: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);
const ProblemRef = Type.Unsafe<typeof ProblemSchema>(Type.Ref('Problem'));

/** Error responses to document on a route, by status. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = ProblemRef;
  return out;
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size (1-200)' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'Opaque cursor from the previous page\'s nextCursor' })),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
  });
}

export const AuthHeader = [{ bearerAuth: [] }];

/** The header every mutating route documents (the idempotency plugin honours it on all of them). */
export const IdemHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ maxLength: 255, description: 'Makes the request safe to retry' })),
});
