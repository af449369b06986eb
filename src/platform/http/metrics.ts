/** Prometheus metrics at /metrics: HTTP latency histograms per route, DB pool stats, process metrics. */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Registry, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../db/database.js';

export default fp<{ poolStats: () => PoolStats; dbKind: string }>(
  async function metrics(app: FastifyInstance, opts) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const http = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route template, method and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    for (const [name, help, pick] of [
      ['db_pool_connections_total', 'Connections open in the database pool', (s: PoolStats) => s.total],
      ['db_pool_connections_idle', 'Idle connections in the database pool', (s: PoolStats) => s.idle],
      ['db_pool_waiting', 'Queries or transactions waiting for a connection', (s: PoolStats) => s.waiting],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['backend'] as const,
        registers: [registry],
        collect() {
          this.set({ backend: opts.dbKind }, pick(opts.poolStats()));
        },
      });
    }
    app.decorate('metricsRegistry', registry);
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      http.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false } }, async (_req, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}
