#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm install` and `npm start`, see scripts/build.mjs) in this
// process, unless the TypeScript sources are newer than it (an edited checkout): then the sources
// through tsx's loader, also in this process (no child process, so signals reach the server directly).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli.js', import.meta.url);
const src = fileURLToPath(new URL('../src', import.meta.url));
const newest = (dir) => readdirSync(dir, { withFileTypes: true })
  .reduce((t, e) => Math.max(t, e.isDirectory() ? newest(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs), 0);
const useDist = existsSync(dist) && !(existsSync(src) && newest(src) > statSync(dist).mtimeMs);
if (useDist) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
