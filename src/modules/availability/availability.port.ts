/**
 * What the availability module offers other modules (uptime of agents over a time range) and the one thing
 * it needs from reputation (a place to record measured reliability). Reputation's service satisfies
 * ReliabilitySink; nothing here reads another module's tables.
 */
import type { Tx } from '../ledger/ledger.port.js';
import type { PeriodStats } from './availability.model.js';

export type { PeriodStats };

export interface AvailabilityPort {
  /**
   * Uptime of each agent over [sinceMs, untilMs) (until is cut at the start of the current slot). Agents
   * that never sent a heartbeat have `countedFromMs` null and `uptime` null.
   */
  uptimeOf(agentIds: readonly string[], sinceMs: number, untilMs: number): Promise<Map<string, PeriodStats>>;
}

/** Reliability measured by the platform: one value per agent, kind and UTC day. */
export interface MeasuredReliability {
  agentId: string;
  kind: 'uptime' | 'maintenance';
  /** 0..1 */
  value: number;
  /** start of the UTC day measured */
  day: Date;
  /** the measurement behind the value (seconds up, down, excused), stored with the evidence */
  detail: Record<string, unknown>;
  at: Date;
}

export interface ReliabilitySink {
  /** Records one measurement in the caller's transaction; false when that agent, kind and day was already recorded. */
  recordMeasuredReliability(tx: Tx, e: MeasuredReliability): Promise<boolean>;
}
