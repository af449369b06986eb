#!/usr/bin/env node
/**
 * Compiles the CLI (src/cli.ts and everything it imports) to dist/ with esbuild, so `npm start` runs
 * JavaScript instead of compiling TypeScript at every start. Packages are bundled too (resolving and
 * compiling ~600 files of node_modules one by one took 0.7 s of every start), except the few that read
 * files next to their own code at run time (see `external`).
 * `--if-stale`: do nothing when dist/cli.js is newer than every file in src/ and package.json.
 * The dashboard (web/) is built with Vite into dist/web (gzipped twins beside each file, which the server
 * sends to browsers that accept gzip), again only when a file in web/ is newer than dist/web/index.html.
 * `--web-only`: build only the dashboard (the browser tests and bench:dashboard call it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'cli.js');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * dist/pglite-template.tar.gz: a freshly initialised PGlite data dir, made once per PGlite version, so a
 * first start unpacks it instead of running initdb in WASM (src/platform/db/database.ts).
 */
async function template() {
  const file = path.join(root, 'dist', 'pglite-template.tar.gz');
  const stamp = path.join(root, 'dist', 'pglite-template.json');
  let version;
  try {
    version = JSON.parse(readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')).version;
  } catch {
    return;
  }
  if (existsSync(file) && existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).version === version) return;
  const started = Date.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = new PGlite();
  await pg.waitReady;
  const dump = await pg.dumpDataDir('gzip');
  await pg.close();
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  writeFileSync(stamp, `${JSON.stringify({ version })}\n`);
  process.stderr.write(`build: PGlite ${version} data dir template in ${Date.now() - started} ms\n`);
}

/** Builds web/ into dist/web when stale (or always with `force`). Without Vite installed it says so and skips. */
async function web(force) {
  const webDir = path.join(root, 'web');
  const index = path.join(root, 'dist', 'web', 'index.html');
  if (!existsSync(webDir)) return;
  if (!force && existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(webDir), statSync(path.join(root, 'package.json')).mtimeMs)) return;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    process.stderr.write('build: vite is not installed; the dashboard is not built (/ explains how to build it)\n');
    return;
  }
  const started = Date.now();
  await vite.build({ configFile: path.join(webDir, 'vite.config.mjs'), logLevel: 'warn' });
  const { gzipSync, constants } = await import('node:zlib');
  const gz = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) gz(p);
      else if (/\.(js|css|html|svg|json)$/.test(e.name)) writeFileSync(`${p}.gz`, gzipSync(readFileSync(p), { level: constants.Z_BEST_COMPRESSION }));
    }
  };
  gz(path.join(root, 'dist', 'web'));
  process.stderr.write(`build: dist/web (the dashboard) in ${Date.now() - started} ms\n`);
}

if (process.argv.includes('--web-only')) {
  await web(!process.argv.includes('--if-stale'));
  process.exit(0);
}

if (process.argv.includes('--if-stale') && existsSync(out)) {
  const src = Math.max(newest(path.join(root, 'src')), statSync(path.join(root, 'package.json')).mtimeMs);
  if (statSync(out).mtimeMs >= src) {
    await template();
    await web(false);
    process.exit(0);
  }
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // Without esbuild (e.g. a production install without tsx) the bin falls back to tsx or fails clearly.
  process.stderr.write('build: esbuild is not installed; skipping (agent-economy runs the TypeScript sources)\n');
  process.exit(0);
}
const started = Date.now();
// Chunk names carry content hashes: remove the previous build's so dist/ holds one build.
const distDir = path.join(root, 'dist');
if (existsSync(distDir)) {
  for (const f of readdirSync(distDir)) if (/\.js(\.map)?$/.test(f)) rmSync(path.join(distDir, f));
}
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true, // the simulator stays a lazily loaded chunk
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // PGlite loads its WASM and data files, swagger-ui serves its static files, from their package dirs;
  // pg-native is pg's optional native binding; tsx and esbuild are development tools.
  external: ['@electric-sql/pglite', '@fastify/swagger-ui', 'pg-native', 'tsx', 'esbuild', 'pdfkit'], // pdfkit reads its font metrics next to its code
  // Bundled CommonJS packages call require() and read __dirname; ES modules have neither.
  banner: {
    js: [
      "import { createRequire as __bundleCreateRequire } from 'node:module';",
      "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
      "import { dirname as __bundleDirname } from 'node:path';",
      'const require = __bundleCreateRequire(import.meta.url);',
      'const __filename = __bundleFileURLToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join(' '),
  },
  sourcemap: true,
  logLevel: 'warning',
});
process.stderr.write(`build: dist/cli.js in ${Date.now() - started} ms\n`);
await template();
await web(!process.argv.includes('--if-stale'));
