/** The seedable PRNGs live in the platform (the clock and the benchmarks use them too). */
export * from '../../platform/rng.js';
