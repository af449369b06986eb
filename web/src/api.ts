/** The dashboard's only way to the server: the public API (no key), with errors people can act on. */
import { useEffect, useRef, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) { super(message); }
}

export async function api<T = any>(url: string, init?: RequestInit): Promise<T> {
  let r: Response;
  try {
    r = await fetch(url, { headers: { accept: 'application/json' }, ...init });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check that agent-economy is running, then retry.');
  }
  if (!r.ok) {
    let detail = `${r.status} ${r.statusText}`;
    let code: string | undefined;
    try { const p = await r.json(); detail = p.detail ?? detail; code = p.code; } catch { /* not problem+json */ }
    const hint = r.status === 503 ? ' The database is still starting: retry in a few seconds.' : r.status === 429 ? ' Too many requests: wait a minute.' : '';
    throw new ApiError(r.status, `${detail}.${hint}`, code);
  }
  return r.json() as Promise<T>;
}

export interface Loaded<T> { data: T | undefined; error: ApiError | undefined; loading: boolean; reload(): void }

/** Loads `fn()` whenever `deps` change (and on `reload`); keeps the last data while reloading. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, set] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    set((s) => ({ ...s, loading: true }));
    fn().then((data) => { if (live) set({ data, loading: false }); },
      (error: unknown) => { if (live) set((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(0, String(error)), loading: false })); });
    return () => { live = false; };
  }, [...deps, tick]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((t) => t + 1) };
}

export interface TradePrint { id: string; at: string; category: string; specClass: string; region: string; quantity: number; pricePerUnit: string; volume: string }

type Listener = (p: TradePrint) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
let status: 'connecting' | 'live' | 'offline' = 'connecting';
const statusListeners = new Set<(s: typeof status) => void>();

function connect() {
  if (source) return;
  source = new EventSource('/v1/market/stream');
  source.onopen = () => { status = 'live'; statusListeners.forEach((f) => f(status)); };
  source.onerror = () => { status = 'offline'; statusListeners.forEach((f) => f(status)); };
  source.addEventListener('trade', (e) => {
    const p = JSON.parse((e as MessageEvent).data) as TradePrint;
    (window as any).__lastTrade = { id: p.id, receivedAt: Date.now() };
    listeners.forEach((f) => f(p));
  });
}

/** Calls `fn` with each trade as it happens (the public market stream). */
export function useTrades(fn: Listener) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    connect();
    const l: Listener = (p) => ref.current(p);
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
}

export function useStreamStatus() {
  const [s, set] = useState(status);
  useEffect(() => { connect(); statusListeners.add(set); set(status); return () => { statusListeners.delete(set); }; }, []);
  return s;
}

/** Calls `fn` at most once per `ms` after trades arrive (to re-read aggregates). */
export function useOnTrade(fn: () => void, ms = 300) {
  const timer = useRef<number | null>(null);
  useTrades(() => {
    if (timer.current !== null) return;
    timer.current = window.setTimeout(() => { timer.current = null; fn(); }, ms);
  });
}
