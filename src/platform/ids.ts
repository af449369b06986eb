import { randomBytes, randomUUID, createHash } from 'node:crypto';
import type { Clock } from './clock.js';

/**
 * UUIDv7 (RFC 9562): 48-bit unix ms timestamp, then random bits. Ids sort by creation time, which
 * keeps B-tree inserts local and makes the id itself a stable pagination cursor.
 * Monotonic within one process: ids minted in the same millisecond still increase.
 */
let lastMs = 0;
let seq = 0;
export function uuidv7(clock?: Clock): string {
  let ms = clock ? clock.now().getTime() : Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    seq = (seq + 1) & 0xfff;
    if (seq === 0) ms = ++lastMs;
  } else {
    seq = randomBytes(2).readUInt16BE(0) & 0x7ff;
  }
  lastMs = ms;
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function newRequestId(): string {
  return randomUUID();
}

/** A new API key: a recognisable prefix and 256 bits of randomness. */
export function newApiKey(prefix = 'ak'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * API keys carry 256 bits of entropy, so a single SHA-256 is a sufficient one-way hash (a slow KDF
 * protects low-entropy passwords, not random keys) and lets us look a key up by its hash in one query.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * A deterministic UUID (version 8 layout) derived from a name, e.g. `expire:<pending id>`. Used for
 * transfers whose id must be the same in every process and on every retry, so that running the same
 * work twice is a no-op.
 */
export function uuidFromName(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
