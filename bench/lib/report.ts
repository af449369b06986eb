/**
 * Benchmark reporting shared by every bench: the machine, date and commit, percentiles, and writing a
 * benchmark's own section of docs/benchmarks.md (replaced in place, other sections untouched).
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function commit(): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    // The benchmarks' own output file does not count as a change to what was measured.
    const dirty = execSync("git status --porcelain --untracked-files=no -- . ':!docs/benchmarks.md'", { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

/** When, where and what was measured; the load average says whether the machine was busy. */
export function runStamp(): string {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, commit ${commit()}, load average ${load} at the end.`;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const DOC = path.resolve('docs/benchmarks.md');
const INTRO = `# Benchmarks

Each benchmark measures a naive baseline in the same run on the same machine and reports the ratio.
Run them all with \`npm run bench\`, or one with \`npm run bench:<name>\`; each rewrites its own section below.
`;

/** Replaces (or appends) the section `## <title>` of docs/benchmarks.md with `body`. */
export function writeSection(title: string, body: string): void {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : INTRO;
  const heading = `## ${title}`;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  const section = [heading, '', body.trim(), ''];
  let out: string[];
  if (start === -1) {
    out = [...lines, ...(lines.at(-1) === '' ? [] : ['']), ...section];
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end === -1) end = lines.length;
    out = [...lines.slice(0, start), ...section, ...lines.slice(end)];
  }
  writeFileSync(DOC, `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`);
}
