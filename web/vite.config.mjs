// The dashboard's Vite config: `npm run build` (scripts/build.mjs) builds it into dist/web, which the
// server serves at /. For development: `npx vite --config web/vite.config.mjs` proxies /v1 to a running server.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default {
  root,
  base: '/',
  logLevel: 'warn',
  plugins: [preact()],
  build: { outDir: fileURLToPath(new URL('../dist/web', import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 1200, sourcemap: false },
  server: { proxy: { '/v1': process.env.API_URL ?? 'http://127.0.0.1:3000' } },
};
