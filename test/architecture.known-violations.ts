/**
 * Violations of the house rules (.dependency-cruiser.cjs) that exist and that a change in flight is
 * removing (keep this list empty: fix a violation with a port or a dependency passed in by src/app.ts). test/architecture.test.ts fails on any violation not listed here, and on any
 * entry here that no longer occurs: delete an entry in the change that fixes it.
 *
 * Cycles are keyed by their first step (`from` -> `to`), as dependency-cruiser reports them.
 */
export interface KnownViolation {
  rule: string;
  from: string;
  to: string;
}

export const KNOWN_VIOLATIONS: readonly KnownViolation[] = [
  // none: issue 12 removed the last ones (trading and the verifier reach the ledger, agents, reputation and
  // trading through their ports; the ledger's views and trading's routes no longer form cycles).
];
