/**
 * Engine checkpoints as bytes: a JSON header (ids, explain data, the names and lengths of the numeric
 * columns) followed by the raw bytes of every typed array, 8-byte aligned. Numbers are stored exactly
 * (Infinity and -0 included) and nothing is base64-encoded or compressed: most of a checkpoint is
 * doubles, which barely compress, and the point of a checkpoint is to load faster than a replay.
 */

/** Bump when the engine's state changes shape: older checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 3;

export interface EngineCheckpoint {
  readonly format: number;
  /** the parameters the state was computed with (preTrusted included); a checkpoint only restores into the same */
  readonly paramsKey: string;
  readonly ids: string[];
  readonly tradeIds: string[];
  readonly info: unknown[];
  /** same-owner verdicts, referenced from info by index */
  readonly verdicts: unknown[];
  /** n of the current epoch's local-trust matrix (its arrays are lt* columns), or null before the first epoch */
  readonly ltN: number | null;
  readonly f64: Record<string, Float64Array>;
  readonly i32: Record<string, Int32Array>;
  readonly u8: Record<string, Uint8Array>;
}

export function f64(xs: ArrayLike<number>, length = xs.length): Float64Array {
  return xs instanceof Float64Array ? xs.slice(0, length) : Float64Array.from({ length }, (_, i) => xs[i]!);
}
export function i32(xs: ArrayLike<number>, length = xs.length): Int32Array {
  return xs instanceof Int32Array ? xs.slice(0, length) : Int32Array.from({ length }, (_, i) => xs[i]!);
}

export function paramsKey(params: unknown): string {
  return JSON.stringify([CHECKPOINT_FORMAT, params]);
}

const MAGIC = 0x4b435052; // "RPCK"
type Kind = 'f64' | 'i32' | 'u8';
const pad8 = (n: number): number => (n + 7) & ~7;

export function encodeCheckpoint(cp: EngineCheckpoint): Buffer {
  const { f64: f, i32: n, u8: b, ...rest } = cp;
  const arrays: { kind: Kind; name: string; length: number; bytes: Uint8Array }[] = [];
  for (const [kind, rec] of [['f64', f], ['i32', n], ['u8', b]] as const) {
    for (const [name, a] of Object.entries(rec)) arrays.push({ kind, name, length: a.length, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  }
  const header = Buffer.from(JSON.stringify({ ...rest, arrays: arrays.map(({ kind, name, length }) => ({ kind, name, length })) }));
  let size = pad8(8 + header.length);
  for (const a of arrays) size += pad8(a.bytes.byteLength);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  let off = pad8(8 + header.length);
  for (const a of arrays) {
    out.set(a.bytes, off);
    off += pad8(a.bytes.byteLength);
  }
  return out;
}

export function decodeCheckpoint(data: Uint8Array): EngineCheckpoint {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.readUInt32LE(0) !== MAGIC) throw new Error('not a reputation checkpoint');
  const len = buf.readUInt32LE(4);
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Omit<EngineCheckpoint, 'f64' | 'i32' | 'u8'> & { arrays: { kind: Kind; name: string; length: number }[] };
  const { arrays, ...rest } = header;
  const out = { ...rest, f64: {} as Record<string, Float64Array>, i32: {} as Record<string, Int32Array>, u8: {} as Record<string, Uint8Array> };
  let off = pad8(8 + len);
  for (const a of arrays) {
    const width = a.kind === 'f64' ? 8 : a.kind === 'i32' ? 4 : 1;
    // copy: the buffer a driver hands back need not be aligned for a typed-array view
    const bytes = new Uint8Array(a.length * width);
    bytes.set(buf.subarray(off, off + bytes.byteLength));
    if (a.kind === 'f64') out.f64[a.name] = new Float64Array(bytes.buffer);
    else if (a.kind === 'i32') out.i32[a.name] = new Int32Array(bytes.buffer);
    else out.u8[a.name] = bytes;
    off += pad8(bytes.byteLength);
  }
  return out;
}
