import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Spool } from './spool.js';

const dirs = () => new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('ae-sim-')));

describe('spool', () => {
  it('reads back every record in order, across flushes, and leaves no file behind', () => {
    const before = dirs();
    const s = new Spool<{ i: number; x: number }>('t');
    for (let i = 0; i < 1300; i++) s.write({ i, x: i / 7 });
    expect(s.count).toBe(1300);
    const out = s.readAll();
    expect(out).toHaveLength(1300);
    expect(out.every((r, i) => r.i === i && r.x === i / 7)).toBe(true); // numbers round-trip exactly
    expect([...dirs()].filter((d) => !before.has(d))).toEqual([]);
    expect(() => s.write({ i: 0, x: 0 })).toThrow(/already read/);
  });

  it('discards its file when a run fails', () => {
    const before = dirs();
    const s = new Spool<number>('t');
    s.write(1);
    const created = [...dirs()].filter((d) => !before.has(d));
    expect(created).toHaveLength(1);
    s.discard();
    expect(existsSync(`${tmpdir()}/${created[0]}`)).toBe(false);
  });
});
