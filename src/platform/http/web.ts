/**
 * Serves the dashboard (web/, built by scripts/build.mjs into dist/web) at `/`: hashed files under
 * /assets/ are immutable (cached a year), index.html is revalidated on every load, and any other GET
 * that is not API (/v1/), /docs or /openapi.json answers index.html so client-side routes survive a
 * reload. A `.gz` twin written by the build is sent to clients that accept gzip.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8', '.map': 'application/json; charset=utf-8',
};

/** dist/web next to the compiled server (dist/cli.js), or the repository's dist/web when running the sources. */
export function findWebDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'web'), path.resolve(here, '../../../dist/web')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return null;
}

const NOT_BUILT = '<!doctype html><meta charset="utf-8"><title>agent-economy</title><body style="font:16px system-ui;margin:3rem">' +
  '<h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (it runs on <code>npm install</code> and before <code>npm start</code>), then reload. ' +
  'The API is at <a href="/docs">/docs</a>.</p></body>';

export function isWebPath(url: string): boolean {
  const p = url.split('?')[0]!;
  return !(p.startsWith('/v1/') || p === '/v1' || p.startsWith('/docs') || p === '/openapi.json' || p === '/healthz' || p === '/readyz' || p === '/metrics');
}

export function webRoutes(app: FastifyInstance, opts: { dir: string | null }): (req: FastifyRequest, reply: FastifyReply) => FastifyReply | null {
  const dir = opts.dir;
  // read once and kept, again when the file changed (a rebuild while the server runs)
  const cache = new Map<string, { body: Buffer; gz: Buffer | null; type: string; mtime: number }>();
  const load = (file: string) => {
    const mtime = statSync(file).mtimeMs;
    let hit = cache.get(file);
    if (!hit || hit.mtime !== mtime) {
      const gzFile = `${file}.gz`;
      hit = { body: readFileSync(file), gz: existsSync(gzFile) ? readFileSync(gzFile) : null, type: TYPES[path.extname(file)] ?? 'application/octet-stream', mtime };
      cache.set(file, hit);
    }
    return hit;
  };
  const send = (req: FastifyRequest, reply: FastifyReply, file: string, cacheControl: string) => {
    const f = load(file);
    reply.header('content-type', f.type).header('cache-control', cacheControl).header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff');
    const body = f.gz && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? (reply.header('content-encoding', 'gzip'), f.gz) : f.body;
    return reply.code(200).send(body);
  };
  const index = (req: FastifyRequest, reply: FastifyReply) => {
    if (!dir) return reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    return send(req, reply, path.join(dir, 'index.html'), 'no-cache');
  };

  app.get('/', { schema: { hide: true }, config: { rateLimit: false } }, (req, reply) => index(req, reply));
  app.get('/assets/*', { schema: { hide: true }, config: { rateLimit: false } }, (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const file = dir ? path.resolve(dir, 'assets', rel) : null;
    if (!file || !file.startsWith(path.join(dir!, 'assets') + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('not found');
    }
    return send(req, reply, file, 'public, max-age=31536000, immutable');
  });

  /** For the not-found handler: a GET of a client-side route answers index.html (null: not the web's). */
  return (req, reply) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !isWebPath(req.url)) return null;
    const p = req.url.split('?')[0]!;
    // a top-level file of the build (favicon.svg, robots.txt)
    if (dir && /^\/[\w.-]+\.\w+$/.test(p)) {
      const file = path.join(dir, p.slice(1));
      if (existsSync(file) && statSync(file).isFile()) return send(req, reply, file, 'public, max-age=3600');
      return null;
    }
    return index(req, reply);
  };
}
