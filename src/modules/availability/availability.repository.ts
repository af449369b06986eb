/** SQL of the availability module (its own tables only). */
import { sql, type Selectable, type Transaction } from 'kysely';
import { PREPARE } from '../../database.js';
import type { DB, Executor } from '../../database.js';
import { BLOCK_BYTES, type HeartbeatBlock, type WindowRecord } from './availability.model.js';
import type { AvailabilityHeartbeatsTable, AvailabilityMaintenanceWindowsTable } from './availability.tables.js';

export type { Executor };
export type HeartbeatRow = Selectable<AvailabilityHeartbeatsTable>;
export type WindowRow = Selectable<AvailabilityMaintenanceWindowsTable>;

export interface Beat {
  agentId: string;
  slotSeconds: number;
  blockStart: Date;
  blockEnd: Date;
  bit: number;
  degraded: boolean;
  at: Date;
  status: 'ok' | 'degraded';
  capacity: number | null;
  /** seen by the platform (an open stream), not sent: keeps the last reported status and capacity */
  presence: boolean;
}

const toBlock = (r: Pick<HeartbeatRow, 'slot_seconds' | 'block_start' | 'beats' | 'degraded'>): HeartbeatBlock => ({
  slotSeconds: r.slot_seconds, startMs: r.block_start.getTime(), beats: r.beats, degraded: r.degraded,
});
export const toWindow = (r: WindowRow): WindowRecord => ({ startMs: r.starts_at.getTime(), endMs: r.ends_at.getTime(), declaredAtMs: r.declared_at.getTime() });

export const availabilityRepository = {
  /**
   * The heartbeat: one UPSERT setting the bit of its slot (order-free and idempotent, so concurrent and
   * repeated heartbeats need no lock). The last status and capacity are those of the latest heartbeat.
   */
  async beat(db: Executor, b: Beat): Promise<void> {
    // presence counts only for an agent that sent a heartbeat of its own (within the retention): watching
    // the stream does not enrol an agent in being measured
    await sql`${sql.raw(PREPARE)}INSERT INTO availability_heartbeats AS h
        (agent_id, block_start, slot_seconds, block_end, beats, degraded, last_at, last_status, last_capacity)
      SELECT ${b.agentId}::uuid, ${b.blockStart}::timestamptz, ${b.slotSeconds}::int, ${b.blockEnd}::timestamptz,
        set_bit(decode(repeat('00', ${BLOCK_BYTES}::int), 'hex'), ${b.bit}::int, 1),
        set_bit(decode(repeat('00', ${BLOCK_BYTES}::int), 'hex'), ${b.bit}::int, ${b.degraded ? 1 : 0}::int),
        ${b.at}::timestamptz, ${b.status}::text, ${b.capacity}::int
      WHERE NOT ${b.presence}::boolean OR EXISTS (SELECT 1 FROM availability_heartbeats WHERE agent_id = ${b.agentId}::uuid)
      ON CONFLICT (agent_id, block_start, slot_seconds) DO UPDATE SET
        beats = set_bit(h.beats, ${b.bit}::int, 1),
        degraded = CASE WHEN ${b.degraded}::boolean THEN set_bit(h.degraded, ${b.bit}::int, 1) ELSE h.degraded END,
        last_status = CASE WHEN NOT ${b.presence}::boolean AND EXCLUDED.last_at >= h.last_at THEN EXCLUDED.last_status ELSE h.last_status END,
        last_capacity = CASE WHEN NOT ${b.presence}::boolean AND EXCLUDED.last_at >= h.last_at THEN EXCLUDED.last_capacity ELSE h.last_capacity END,
        last_at = GREATEST(h.last_at, EXCLUDED.last_at)`.execute(db);
  },

  /** Blocks of these agents overlapping [from, until), by agent. */
  async blocks(db: Executor, agentIds: readonly string[] | null, from: Date, until: Date): Promise<Map<string, HeartbeatBlock[]>> {
    let q = db.selectFrom('availability_heartbeats').select(['agent_id', 'slot_seconds', 'block_start', 'beats', 'degraded'])
      .where('block_start', '<', until).where('block_end', '>', from);
    if (agentIds !== null) q = q.where(sql<boolean>`agent_id = ANY(${[...agentIds]}::uuid[])`);
    const out = new Map<string, HeartbeatBlock[]>();
    for (const r of await q.execute()) {
      const list = out.get(r.agent_id) ?? [];
      list.push(toBlock(r));
      out.set(r.agent_id, list);
    }
    return out;
  },

  /** Each agent's oldest stored block (its first heartbeat within the retention), all agents when ids is null. */
  async firstBlocks(db: Executor, agentIds: readonly string[] | null): Promise<Map<string, HeartbeatBlock>> {
    const where = agentIds === null ? sql`` : sql`WHERE agent_id = ANY(${[...agentIds]}::uuid[])`;
    const rows = (await sql<HeartbeatRow>`SELECT DISTINCT ON (agent_id) agent_id, slot_seconds, block_start, beats, degraded
      FROM availability_heartbeats ${where} ORDER BY agent_id, block_start, slot_seconds`.execute(db)).rows;
    return new Map(rows.map((r) => [r.agent_id, toBlock(r)]));
  },

  /** The latest heartbeat's time, status and capacity. */
  latest(db: Executor, agentId: string) {
    return db.selectFrom('availability_heartbeats').select(['last_at', 'last_status', 'last_capacity']).where('agent_id', '=', agentId)
      .orderBy('last_at', 'desc').limit(1).executeTakeFirst();
  },

  /** Windows of these agents overlapping [from, until). */
  windows(db: Executor, agentIds: readonly string[] | null, from: Date, until: Date): Promise<WindowRow[]> {
    let q = db.selectFrom('availability_maintenance_windows').selectAll().where('starts_at', '<', until).where('ends_at', '>', from);
    if (agentIds !== null) q = q.where(sql<boolean>`agent_id = ANY(${[...agentIds]}::uuid[])`);
    return q.orderBy('agent_id').orderBy('starts_at').execute();
  },

  /** The agent's windows ending after `after`, by start. */
  windowsOf(db: Executor, agentId: string, after: Date): Promise<WindowRow[]> {
    return db.selectFrom('availability_maintenance_windows').selectAll().where('agent_id', '=', agentId).where('ends_at', '>', after)
      .orderBy('starts_at').execute();
  },

  /** Serialises declarations of one agent (PostgreSQL; PGlite transactions never interleave). */
  async lockAgent(tx: Transaction<DB>, agentId: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`availability:${agentId}`}, 0))`.execute(tx);
  },

  async deleteUpcoming(tx: Transaction<DB>, agentId: string, now: Date): Promise<void> {
    await tx.deleteFrom('availability_maintenance_windows').where('agent_id', '=', agentId).where('starts_at', '>', now).execute();
  },

  async insertWindows(tx: Transaction<DB>, rows: WindowRow[]): Promise<void> {
    if (rows.length > 0) await tx.insertInto('availability_maintenance_windows').values(rows).execute();
  },

  /** Start of the oldest stored block, or null when there are none. */
  async earliestBlock(db: Executor): Promise<Date | null> {
    const r = await db.selectFrom('availability_heartbeats').select((eb) => eb.fn.min('block_start').as('d')).executeTakeFirst();
    return r?.d ? new Date(r.d) : null;
  },

  async lastReportedDay(db: Executor): Promise<Date | null> {
    const r = await db.selectFrom('availability_reported_days').select((eb) => eb.fn.max('day_start').as('d')).executeTakeFirst();
    return r?.d ? new Date(r.d) : null;
  },

  async markReported(tx: Transaction<DB>, day: Date, agents: number, at: Date): Promise<void> {
    await tx.insertInto('availability_reported_days').values({ day_start: day, agents, reported_at: at }).onConflict((oc) => oc.doNothing()).execute();
  },

  /** Deletes what is older than `before`; returns the rows deleted. */
  async prune(db: Executor, before: Date): Promise<number> {
    const a = await db.deleteFrom('availability_heartbeats').where('block_end', '<', before).executeTakeFirst();
    const b = await db.deleteFrom('availability_maintenance_windows').where('ends_at', '<', before).executeTakeFirst();
    const c = await db.deleteFrom('availability_reported_days').where('day_start', '<', before).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows) + Number(c.numDeletedRows);
  },
};
