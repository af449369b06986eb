/**
 * How the simulator talks to the market: the public HTTP API, either in-process (Fastify's inject: the
 * same routes, validation, services and database code, no sockets) or against a running server.
 * Every call's latency is recorded, so the report can state the API's response times.
 */
import type { FastifyInstance } from 'fastify';
import { performance } from 'node:perf_hooks';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export interface Transport {
  call<T = any>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts?: { key?: string; body?: unknown }): Promise<ApiResponse<T>>;
  /** Latencies (ms) of every call so far. */
  readonly latencies: number[];
  /** Calls per status class, e.g. { '2xx': 1000, '4xx': 3 }. */
  readonly statuses: Record<string, number>;
  /** Calls and total milliseconds per route ("POST /v1/agreements/:id/fund"): where the API time went. */
  readonly byRoute: Map<string, { calls: number; ms: number }>;
}

const ID_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|\d+)$/i;

/** The route of a call: its path without the query, ids replaced by `:id`. */
export function routeOf(method: string, path: string): string {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  return `${method} ${bare.split('/').map((seg) => (ID_SEGMENT.test(seg) ? ':id' : seg)).join('/')}`;
}

abstract class Recording implements Transport {
  readonly latencies: number[] = [];
  readonly statuses: Record<string, number> = {};
  readonly byRoute = new Map<string, { calls: number; ms: number }>();
  abstract send(method: string, path: string, headers: Record<string, string>, payload: string | undefined): Promise<{ status: number; text: string }>;

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: { key?: string; body?: unknown } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    const t0 = performance.now();
    const res = await this.send(method, path, headers, payload);
    const ms = performance.now() - t0;
    this.latencies.push(ms);
    const route = routeOf(method, path);
    const r = this.byRoute.get(route);
    if (r) { r.calls++; r.ms += ms; } else this.byRoute.set(route, { calls: 1, ms });
    const cls = `${Math.floor(res.status / 100)}xx`;
    this.statuses[cls] = (this.statuses[cls] ?? 0) + 1;
    let body: unknown = res.text;
    try { body = res.text ? JSON.parse(res.text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: body as T };
  }
}

export class InjectTransport extends Recording {
  constructor(private readonly app: FastifyInstance) { super(); }
  async send(method: string, path: string, headers: Record<string, string>, payload: string | undefined) {
    const res = await this.app.inject({ method: method as 'GET', url: path, headers, ...(payload !== undefined ? { payload } : {}) });
    return { status: res.statusCode, text: res.body };
  }
}

export class HttpTransport extends Recording {
  constructor(private readonly baseUrl: string) { super(); }
  async send(method: string, path: string, headers: Record<string, string>, payload: string | undefined) {
    const res = await fetch(new URL(path, this.baseUrl), { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    return { status: res.status, text: await res.text() };
  }
}

/** Throws with the problem's code and detail unless the status is one of `ok`. */
export function expectStatus<T>(res: ApiResponse<T>, what: string, ...ok: number[]): T {
  if (!ok.includes(res.status)) {
    const b = res.body as { code?: string; detail?: string } | string;
    const why = typeof b === 'string' ? b.slice(0, 200) : `${b?.code ?? ''} ${b?.detail ?? ''}`;
    throw new Error(`${what}: HTTP ${res.status} ${why}`);
  }
  return res.body;
}
