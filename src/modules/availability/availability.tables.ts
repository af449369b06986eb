/** Row types of the availability module's tables (migration 0008-availability). */
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One row per agent and block of 1440 slots it sent a heartbeat in; bit i of `beats`: a heartbeat in slot i. */
export interface AvailabilityHeartbeatsTable {
  agent_id: string;
  block_start: Timestamp;
  slot_seconds: number;
  block_end: Timestamp;
  beats: Uint8Array;
  /** bit i: a heartbeat in slot i reported status 'degraded' */
  degraded: Uint8Array;
  last_at: Timestamp;
  last_status: 'ok' | 'degraded';
  last_capacity: number | null;
}

export interface AvailabilityMaintenanceWindowsTable {
  id: string;
  agent_id: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  declared_at: Timestamp;
  reason: string | null;
}

export interface AvailabilityReportedDaysTable {
  day_start: Timestamp;
  agents: number;
  reported_at: Timestamp;
}

export interface AvailabilityTables {
  availability_heartbeats: AvailabilityHeartbeatsTable;
  availability_maintenance_windows: AvailabilityMaintenanceWindowsTable;
  availability_reported_days: AvailabilityReportedDaysTable;
}
