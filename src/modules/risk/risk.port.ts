/**
 * What other modules may ask of risk: whether an agent's settlements are held for review (rewards and
 * payouts should wait too) and whether its trade evidence is to be discounted.
 */
export interface RiskPort {
  isHeld(agentId: string): Promise<boolean>;
  /** every agent held now (isHeld of all agents in one query) */
  heldAgents(): Promise<Set<string>>;
  evidenceDiscounted(agentId: string): Promise<boolean>;
}
