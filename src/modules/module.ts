/** What a module may hand the server besides routes: periodic work (timers, recomputes). */
export interface BackgroundJob {
  name: string;
  /** How often the server runs it (each process; jobs must be safe to run concurrently). */
  intervalMs: number;
  run(): Promise<unknown>;
}
