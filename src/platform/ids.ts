import { randomBytes, randomUUID, createHash } from 'node:crypto';
import type { Clock } from './clock.js';

/**
 * UUIDv7 (RFC 9562): 48-bit unix ms timestamp, then random bits. Ids sort by creation time, which
 * keeps B-tree inserts local and makes the id itself a stable pagination cursor.
 * Monotonic within one process: ids minted in the same millisecond still increase.
 */
interface MintState { lastMs: number; seq: number }
const processState: MintState = { lastMs: 0, seq: 0 };
const clockStates = new WeakMap<Clock, MintState>();

/**
 * A clock may bring its own random bytes (a seeded ManualClock in simulations): ids minted on it are
 * then reproducible, with their own monotonic state.
 */
export function uuidv7(clock?: Clock): string {
  const rnd = clock?.randomBytes ?? randomBytes;
  let st = processState;
  if (clock?.randomBytes) {
    st = clockStates.get(clock) ?? { lastMs: 0, seq: 0 };
    clockStates.set(clock, st);
  }
  let ms = clock ? clock.now().getTime() : Date.now();
  if (ms <= st.lastMs) {
    ms = st.lastMs;
    st.seq = (st.seq + 1) & 0xfff;
    if (st.seq === 0) ms = ++st.lastMs;
  } else {
    st.seq = rnd(2).readUInt16BE(0) & 0x7ff;
  }
  st.lastMs = ms;
  const b = rnd(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((st.seq >> 8) & 0x0f);
  b[7] = st.seq & 0xff;
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
