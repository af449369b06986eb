/**
 * Encoding of engine checkpoints: typed arrays as base64 of their bytes (exact, Infinity and -0
 * included), everything else plain JSON. The whole checkpoint is gzipped for storage.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

/** Bump when the engine's state changes shape: older checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 1;

export interface EngineCheckpoint {
  readonly format: number;
  /** the parameters the state was computed with (preTrusted included); a checkpoint only restores into the same */
  readonly paramsKey: string;
  /** lastAt, graphVersion, epochDay, epochVersion, tau, epochsComputed */
  readonly scalars: string;
  readonly ids: string[];
  readonly f64: Record<string, string>;
  readonly i32: Record<string, string>;
  readonly u8: Record<string, string>;
  readonly tradeIds: string[];
  readonly info: unknown[];
  /** same-owner verdicts, referenced from info by index */
  readonly verdicts: unknown[];
  readonly payments: ({ to: number[]; amount: number[]; at: number[] } | null)[];
  readonly lt: { n: number; rowStart: string; col: string; weight: string; dangling: string } | null;
}

export function f64(xs: ArrayLike<number>, length = xs.length): string {
  const a = xs instanceof Float64Array ? xs.subarray(0, length) : Float64Array.from({ length }, (_, i) => xs[i]!);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}
export function i32(xs: ArrayLike<number>, length = xs.length): string {
  const a = xs instanceof Int32Array ? xs.subarray(0, length) : Int32Array.from({ length }, (_, i) => xs[i]!);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}
export function u8(xs: Uint8Array): string {
  return Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength).toString('base64');
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'base64');
}
export function readF64(s: string): Float64Array {
  const b = bytes(s);
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}
export function readI32(s: string): Int32Array {
  const b = bytes(s);
  const out = new Int32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
export function readU8(s: string): Uint8Array {
  return new Uint8Array(bytes(s));
}

export function paramsKey(params: unknown): string {
  return JSON.stringify([CHECKPOINT_FORMAT, params]);
}

export function encodeCheckpoint(cp: EngineCheckpoint): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(cp)), { level: 1 });
}

export function decodeCheckpoint(buf: Uint8Array): EngineCheckpoint {
  return JSON.parse(gunzipSync(buf).toString('utf8')) as EngineCheckpoint;
}
