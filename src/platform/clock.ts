/** Time is injected: services ask a Clock, never `new Date()` or `Date.now()` directly. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that moves only when told to. Used by tests and the simulator. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
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
