/** Opaque keyset cursors: base64url of a JSON array of the last row's sort key. */
import { AppError } from './errors.js';

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): unknown[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity) return v;
  } catch {
    /* fall through */
  }
  throw new AppError('validation_failed', 'cursor is not valid', { errors: [{ field: 'querystring.cursor', message: 'is not a cursor returned by this API' }] });
}
