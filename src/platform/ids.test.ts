import { describe, expect, it } from 'vitest';

describe('ids on a seeded clock', () => {
  it('are reproducible, time-ordered and unique', async () => {
    const { ManualClock } = await import('./clock.js');
    const { uuidv7 } = await import('./ids.js');
    const mint = () => {
      const c = new ManualClock(Date.UTC(2026, 0, 1), { seed: 42 });
      return Array.from({ length: 200 }, (_, i) => { if (i % 50 === 0) c.advance(1); return uuidv7(c); });
    };
    const a = mint();
    expect(mint()).toEqual(a);
    expect(new Set(a).size).toBe(200);
    expect([...a].sort()).toEqual(a);
    expect(uuidv7(new ManualClock(Date.UTC(2026, 0, 1)))).not.toBe(uuidv7(new ManualClock(Date.UTC(2026, 0, 1))));
  });
});
