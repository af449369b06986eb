import { mulberry32 } from './rng.js';

/** Time is injected: services ask a Clock, never `new Date()` or `Date.now()` directly. */
export interface Clock {
  now(): Date;
  /** Random bytes for ids minted on this clock; absent means crypto randomness. */
  readonly randomBytes?: ((n: number) => Buffer) | undefined;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that moves only when told to. Used by tests and the simulator. */
export class ManualClock implements Clock {
  #ms: number;
  /** Seeded random bytes for ids minted on this clock (simulations), when a seed is given. */
  readonly randomBytes?: (n: number) => Buffer;
  constructor(start: Date | number = Date.UTC(2026, 0, 1), opts: { seed?: number } = {}) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
    if (opts.seed !== undefined) {
      const next = mulberry32(opts.seed);
      this.randomBytes = (n) => {
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
        return b;
      };
    }
  }

  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    if (ms < 0) throw new Error('a clock cannot go backwards');
    this.#ms += ms;
  }
  set(to: Date | number): void {
    const ms = typeof to === 'number' ? to : to.getTime();
    if (ms < this.#ms) throw new Error('a clock cannot go backwards');
    this.#ms = ms;
  }
}
