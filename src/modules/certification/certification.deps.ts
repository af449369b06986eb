/**
 * What certification needs from other modules, declared here and answered in app.ts (so this module
 * imports none of them): the registered key (agents), the verifier's challenge verdicts, buyer-measured
 * trades and same-owner clusters (reputation's evidence log), platform-measured uptime (availability).
 */
import type { BuyerMeasurement } from './requirements.js';

export interface CertificationSources {
  /** The agent's registered Ed25519 public key (null: none); undefined when there is no such agent. */
  agent(agentId: string): Promise<{ publicKey: string | null; status: string } | undefined>;
  /** Verdicts of the verifier's challenge jobs bought from this seller since `sinceMs`. */
  challengeResults(sellerId: string, sinceMs: number): Promise<{ passed: number; failed: number }>;
  /** Trades of this seller since `sinceMs` with the values its buyers measured themselves. */
  buyerMeasurements(sellerId: string, sinceMs: number): Promise<BuyerMeasurement[]>;
  /** Agents the same-owner detector clustered with this one. */
  sameOwnerPeers(agentId: string): Promise<string[]>;
  /** Platform-measured uptime over [sinceMs, untilMs): null when nothing was counted. */
  uptime(agentId: string, sinceMs: number, untilMs: number): Promise<{ uptime: number | null; countedFromMs: number | null; untilMs: number }>;
}

/** Facts badges are computed from (settled trades as seller and buyer, earnings, disputes, challenges). */
export interface BadgeSources {
  /** Settled trades where the agent sold (success or not), oldest first. */
  sellerTrades(agentId: string): Promise<{ tradeId: string; atMs: number; success: boolean; amount: bigint; disputed: boolean }[]>;
  /** Finish times of the verifier challenges this seller passed, oldest first. */
  challengesPassed(sellerId: string): Promise<number[]>;
  /** Sellers with a trade outcome recorded since `sinceMs` (the badge job's work list). */
  sellersSince(sinceMs: number): Promise<string[]>;
}
