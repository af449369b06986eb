/**
 * Violations of the house rules (.dependency-cruiser.cjs) that exist today and that other changes of
 * issue 12 are removing. test/architecture.test.ts fails on any violation not listed here, and on any
 * entry here that no longer occurs: delete an entry in the change that fixes it.
 *
 * Cycles are keyed by their first step (`from` -> `to`), as dependency-cruiser reports them.
 */
export interface KnownViolation {
  rule: string;
  from: string;
  to: string;
}

const LEDGER = 'src/modules/ledger/';
const TRADING = 'src/modules/trading/';
const AGENTS = 'src/modules/agents/';

export const KNOWN_VIOLATIONS: readonly KnownViolation[] = [
  // ledger.routes.ts receives every service of the app (`Services` from app.ts): routes are to get only
  // their own module's service (issue 12, "Routes hold no business logic").

  // ledger.json.ts (the API views) and the ledger's services import each other.
  { rule: 'no-circular', from: `${LEDGER}ledger.repository.ts`, to: `${LEDGER}ledger.events.ts` },
  { rule: 'no-circular', from: `${LEDGER}bridge.service.ts`, to: `${LEDGER}ledger.json.ts` },
  { rule: 'no-circular', from: `${LEDGER}bridge.service.ts`, to: `${LEDGER}ledger.service.ts` },
  { rule: 'no-circular', from: `${LEDGER}escrow.service.ts`, to: `${LEDGER}ledger.json.ts` },
  { rule: 'no-circular', from: `${LEDGER}escrow.service.ts`, to: `${LEDGER}ledger.service.ts` },

  // trading.module.ts and trading.routes.ts import each other.
  { rule: 'no-circular', from: `${TRADING}trading.module.ts`, to: `${TRADING}trading.routes.ts` },

  // Trading reaches into the ledger's services (Tx, EscrowService, EscrowView, EscrowActor,
  // DEFAULT_REVIEW_WINDOW_MS, LedgerService) instead of a ledger port (issue 12: `EscrowService.getIn(tx)`
  // behind a port).
  { rule: 'module-through-port', from: `${TRADING}agreements.service.ts`, to: `${LEDGER}escrow.service.ts` },
  { rule: 'module-through-port', from: `${TRADING}negotiations.service.ts`, to: `${LEDGER}escrow.service.ts` },
  { rule: 'module-through-port', from: `${TRADING}trading.json.ts`, to: `${LEDGER}escrow.service.ts` },
  { rule: 'module-through-port', from: `${TRADING}trading.module.ts`, to: `${LEDGER}escrow.service.ts` },

  // Trading reaches into the agents module's service (AgentsService, decodeEd25519PublicKey) instead of
  // an agents port (status, public key, registration time).
  { rule: 'module-through-port', from: `${TRADING}trading.module.ts`, to: `${AGENTS}agents.service.ts` },
  { rule: 'module-through-port', from: `${TRADING}trading.signing.ts`, to: `${AGENTS}agents.service.ts` },

  // The built-in verifier (issue 13) drives the ordinary trade flow through the other modules' services
  // and reuses the ledger's route helpers and views; each needs a port of its module (trading, ledger,
  // agents, reputation) or a dependency passed in by app.ts. Trading's request schema names the verifier's
  // workload kinds, which belong with the request (trading) instead.
  { rule: 'module-sees-no-assembly', from: 'src/modules/verifier/verifier.service.ts', to: 'src/config.ts' },
  { rule: 'module-through-port', from: `${TRADING}trading.schemas.ts`, to: 'src/modules/verifier/workloads.ts' },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.routes.ts', to: `${LEDGER}ledger.json.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.routes.ts', to: `${LEDGER}ledger.schemas.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: `${AGENTS}agents.service.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: `${LEDGER}ledger.service.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: 'src/modules/reputation/reputation.service.ts' },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: `${TRADING}trading.json.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: `${TRADING}trading.module.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.routes.ts', to: `${LEDGER}ledger.errors.ts` },
  { rule: 'module-through-port', from: 'src/modules/verifier/verifier.service.ts', to: `${LEDGER}ledger.types.ts` },
];
