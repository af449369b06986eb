/**
 * An append-only log of records spooled to a temporary file (one JSON line each), read back once at the
 * end. The simulator's own record of every request and trade would otherwise grow in the heap beside the
 * service it measures, and an endurance run judges the heap's growth.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export class Spool<T> {
  private readonly dir: string;
  private readonly file: string;
  private fd: number | null;
  private buffer: string[] = [];
  count = 0;

  constructor(name: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'ae-sim-'));
    this.file = path.join(this.dir, `${name}.ndjson`);
    this.fd = openSync(this.file, 'a');
  }

  write(record: T): void {
    if (this.fd === null) throw new Error('spool already read');
    this.buffer.push(JSON.stringify(record));
    this.count++;
    if (this.buffer.length >= 512) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0 || this.fd === null) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  /** Every record written, in order; the file is removed. */
  readAll(): T[] {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    const text = readFileSync(this.file, 'utf8');
    rmSync(this.dir, { recursive: true, force: true });
    return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as T);
  }

  /** Removes the file without reading it (a failed run). */
  discard(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
