/**
 * What other modules may ask of risk: whether an agent's settlements are held for review (rewards and
 * payouts should wait too) and whether its trade evidence is to be discounted; and what risk tells them
 * when a review is decided (ReviewDecisionHook, injected: rewards releases or forfeits held rewards).
 */
import type { Tx } from '../../database.js';

export interface RiskPort {
  isHeld(agentId: string): Promise<boolean>;
  /** every agent held now (isHeld of all agents in one query) */
  heldAgents(): Promise<Set<string>>;
  evidenceDiscounted(agentId: string): Promise<boolean>;
  /** Every agent under a discount_evidence intervention in force now (reputation's `evidenceDiscounts` dep). */
  discountedAgents(): Promise<{ agentId: string; interventionId: string; since: Date }[]>;
}

/** A review decided: confirmed (the alert stands) or dismissed (a false alarm, its interventions lifted). */
export interface ReviewDecision {
  alertId: string;
  outcome: 'confirmed' | 'dismissed';
  /** the agents the alert's hold_settlements interventions held (in force when it was decided) */
  heldAgents: string[];
  /** of those, the ones another hold_settlements intervention still holds after the decision */
  stillHeld: string[];
  note: string | null;
  actor: string;
  at: Date;
}

/** Called inside the decision's transaction: what it writes commits or rolls back with the decision. */
export type ReviewDecisionHook = (tx: Tx, d: ReviewDecision) => Promise<void>;
