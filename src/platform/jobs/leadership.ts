/**
 * Who runs a background job when several API processes share one PostgreSQL: one leader per job, elected
 * with a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of its own, outside the
 * pool (a pooled connection would carry the lock to whoever borrows it next). The leader keeps the lock
 * until it stops (`close` unlocks all and ends the session) or its session dies (PostgreSQL releases the
 * locks of a closed session); the other processes try again at each tick and one of them takes over.
 *
 * Every `lead` is one round trip on that session: a process that does not lead a job tries its lock; one
 * that leads confirms the session is alive (a lost session means every lock of it is lost). So a leader
 * whose connection broke stops running its jobs at the next tick. The window between PostgreSQL dropping
 * the session and the process noticing remains: each job is also written so that two runs at once do each
 * due item once (state-guarded updates, deterministic ids; docs/architecture.md, "Background jobs").
 *
 * PGlite is one process: it leads everything (`soleLeadership`).
 */
import pg from 'pg';

export interface Leadership {
  /** Whether this process leads `job` now (taking the lead when it is free). Never throws. */
  lead(job: string): Promise<boolean>;
  /** The jobs this process leads. */
  readonly held: ReadonlySet<string>;
  /** Gives up every lead (other processes take over at their next tick). */
  close(): Promise<void>;
}

/** One process over its own database: it leads every job. */
export function soleLeadership(): Leadership {
  const held = new Set<string>();
  return {
    held,
    async lead(job) { held.add(job); return true; },
    async close() { held.clear(); },
  };
}

/**
 * The advisory lock key of a job: a 64-bit hash of a namespaced name, computed by PostgreSQL. Advisory locks
 * are per database, not per schema, so the key names the session's schema too: two deployments in schemas of
 * one database (the test suite's private schemas, or staging beside production) each elect their own leader,
 * where one shared key let one deployment's leader hold the lock while the other's jobs never ran.
 */
export const JOB_LOCK_KEY = `hashtextextended('agent-economy.job:' || coalesce(current_schema(), '') || ':' || $1::text, 0)`;
const KEY = JOB_LOCK_KEY;

export interface PostgresLeadershipOptions {
  url: string;
  /** Told when a session is lost (the leads it held are gone). */
  onLost?: (err: unknown, jobs: string[]) => void;
}

export class PostgresLeadership implements Leadership {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly leads = new Set<string>();
  private closed = false;

  constructor(private readonly opts: PostgresLeadershipOptions) {}

  get held(): ReadonlySet<string> {
    return this.leads;
  }

  private session(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const c = new pg.Client({ connectionString: this.opts.url, keepAlive: true, application_name: 'agent-economy jobs' });
      const lost = (err: unknown) => this.lose(c, err);
      c.on('error', lost);
      c.on('end', () => lost(new Error('leadership session ended')));
      try {
        await c.connect();
      } catch (err) {
        c.removeAllListeners();
        await c.end().catch(() => undefined);
        throw err;
      }
      this.client = c;
      return c;
    })().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  /** The session `c` is gone: so is every lead taken on it. */
  private lose(c: pg.Client, err: unknown): void {
    if (this.client !== c) return;
    this.client = null;
    const jobs = [...this.leads];
    this.leads.clear();
    c.end().catch(() => undefined);
    if (!this.closed && jobs.length) this.opts.onLost?.(err, jobs);
  }

  /** One query at a time on the session (pg deprecates queueing on a client). */
  private queue: Promise<unknown> = Promise.resolve();

  lead(job: string): Promise<boolean> {
    const p = this.queue.then(() => this.leadNow(job));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async leadNow(job: string): Promise<boolean> {
    if (this.closed) return false;
    let c: pg.Client | undefined;
    try {
      c = await this.session();
      if (this.leads.has(job)) {
        await c.query('SELECT 1');
        return this.client === c && this.leads.has(job);
      }
      const r = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${KEY}) AS ok`, [job]);
      if (r.rows[0]?.ok !== true) return false;
      if (this.client !== c || this.closed) return false; // lost meanwhile: the lock went with the session
      this.leads.add(job);
      return true;
    } catch (err) {
      if (c) this.lose(c, err);
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    this.leads.clear();
    if (!c) return;
    c.removeAllListeners('end');
    try {
      await c.query('SELECT pg_advisory_unlock_all()');
    } catch {
      /* the session is gone, and its locks with it */
    }
    await c.end().catch(() => undefined);
  }
}
