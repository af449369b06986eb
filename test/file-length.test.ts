/**
 * Files a reader can hold in their head (issue 12): a source file in src/ (tests aside) over MAX_LINES
 * lines says why at its top, in a line of its first comment block that starts with "Length:". Split a
 * long file where it has a natural seam; where it has none, write the reason there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
export const MAX_LINES = 400;

/** The first comment block of a source (a leading `/** ... *\/` or run of `//` lines), or '' if it opens with code. */
export function headerOf(source: string): string {
  const s = source.replace(/^#!.*\n/, '').trimStart();
  if (s.startsWith('/*')) return s.slice(0, s.indexOf('*/') + 2);
  const m = /^(?:\/\/.*\n)+/.exec(s);
  return m ? m[0] : '';
}

/** Whether the header gives a reason for the length: a line starting "Length:" (after the comment marks). */
export const hasLengthReason = (source: string) => /^[ \t]*(?:\/\/|\*|\/\*\*?)?[ \t]*Length:[ \t]*\S/m.test(headerOf(source));

const lines = (source: string) => source.split('\n').length - (source.endsWith('\n') ? 1 : 0);

describe('file length', () => {
  it('reads a reason only from the first comment block', () => {
    expect(hasLengthReason('/**\n * A module.\n * Length: one state machine.\n */\nexport {};\n')).toBe(true);
    expect(hasLengthReason('// A module.\n// Length: one state machine.\nexport {};\n')).toBe(true);
    expect(hasLengthReason('/**\n * A module.\n */\n/** Length: too late. */\nexport {};\n')).toBe(false);
    expect(hasLengthReason('export {};\n/**\n * Length: not a header.\n */\n')).toBe(false);
    expect(hasLengthReason('/**\n * Length:\n */\n')).toBe(false);
  });

  it(`every file in src/ over ${MAX_LINES} lines says why at its top ("Length: ...")`, () => {
    const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => join('src', f));
    expect(files).toContain(join('src', 'app.ts'));
    const long = files.map((f) => ({ f, source: readFileSync(join(ROOT, f), 'utf8') })).filter(({ source }) => lines(source) > MAX_LINES);
    expect(long.filter(({ source }) => !hasLengthReason(source)).map(({ f, source }) => `${f}: ${lines(source)} lines`)).toEqual([]);
  });
});
