/** What a module may hand the server besides routes: periodic work (timers, recomputes). */
export interface BackgroundJob {
  name: string;
  /** How often the server runs it. */
  intervalMs: number;
  /**
   * Where it runs when several processes share one PostgreSQL: `cluster` (the default) in one process at
   * a time, the leader of that job (an advisory lock, src/platform/jobs/leadership.ts); `process` in every
   * process, for work on the process's own memory (folding the evidence log into its engine, refreshing its
   * listing index). docs/architecture.md, "Background jobs", says why each job is where it is.
   */
  scope?: 'cluster' | 'process';
  run(): Promise<unknown>;
}
