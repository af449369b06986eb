/**
 * What other modules may ask of risk: whether an agent's settlements are held for review (rewards and
 * payouts should wait too) and whether its trade evidence is to be discounted.
 */
export interface RiskPort {
  isHeld(agentId: string): Promise<boolean>;
  evidenceDiscounted(agentId: string): Promise<boolean>;
  /** Every agent under a discount_evidence intervention in force now (reputation's `evidenceDiscounts` dep). */
  discountedAgents(): Promise<{ agentId: string; interventionId: string; since: Date }[]>;
}
