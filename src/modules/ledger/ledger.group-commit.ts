/**
 * Group commit (as TigerBeetle batches): calls that arrive while earlier ones are being written are
 * committed together, in one transaction with one lock statement and one write statement for all of
 * them, each call keeping its own outcomes and its own linked (atomic) group.
 */
import type { Database } from '../../database.js';
import type { Call } from './ledger.decide.js';
import type { Outcome, Tx } from './ledger.types.js';

/** Calls written together in one group commit (at most this many transfers). */
const MAX_GROUP_TRANSFERS = 10_000;
/** Group commits in flight at once per process (overlaps one group's Node work with another's I/O). */
const MAX_FLUSHES = 2;

interface Queued extends Call {
  resolve: (o: Outcome[]) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private readonly queue: Queued[] = [];
  private flushing = 0;
  private deferred = false;
  private turned = false;

  constructor(
    private readonly database: Database,
    /** Decides and writes a group's calls inside the transaction; one outcome list per call, or the error refusing that call alone. */
    private readonly write: (tx: Tx, calls: readonly Call[]) => Promise<(Outcome[] | Error)[]>,
    /** Runs after each group commits. */
    private readonly committed: () => void,
  ) {}

  submit(call: Call): Promise<Outcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...call, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    if (this.flushing >= MAX_FLUSHES || this.queue.length === 0) return;
    if (this.database.kind === 'pglite' && !this.turned) {
      // PGlite runs in this thread: while a group is written, requests cannot reach submit(). Let the
      // event loop turn once, so the calls that are on their way join this group instead of the next.
      if (this.deferred) return;
      this.deferred = true;
      setImmediate(() => {
        this.deferred = false;
        this.turned = true;
        try {
          this.flush();
        } finally {
          this.turned = false;
        }
      });
      return;
    }
    const group: Queued[] = [];
    let n = 0;
    while (this.queue.length && (group.length === 0 || n + this.queue[0]!.inputs.length <= MAX_GROUP_TRANSFERS)) {
      const c = this.queue.shift()!;
      n += c.inputs.length;
      group.push(c);
    }
    this.flushing++;
    this.database.transaction((tx) => this.write(tx, group))
      .then((results) => {
        this.committed();
        group.forEach((c, i) => {
          const r = results[i]!;
          if (r instanceof Error) c.reject(r);
          else c.resolve(r);
        });
      }, (err) => group.forEach((c) => c.reject(err)))
      .finally(() => {
        this.flushing--;
        this.flush();
      });
  }
}
