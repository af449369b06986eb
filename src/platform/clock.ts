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
  #state = 0;
  /** Seeded random bytes for ids minted on this clock (simulations), when a seed is given. */
  readonly randomBytes?: (n: number) => Buffer;
  constructor(start: Date | number = Date.UTC(2026, 0, 1), opts: { seed?: number } = {}) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
    if (opts.seed !== undefined) {
      this.#state = opts.seed >>> 0;
      this.randomBytes = (n) => {
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) {
          // mulberry32, one byte per step
          this.#state = (this.#state + 0x6d2b79f5) >>> 0;
          let t = this.#state;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          b[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
        }
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
