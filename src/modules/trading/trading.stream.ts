/**
 * The live event bus behind GET /v1/stream. In-process: each API process delivers the events its own
 * requests produced (see docs/decisions.md, "Trading: live stream is per process").
 * Events are published only after their transaction committed.
 */
export interface TradingEvent {
  /** e.g. trade_request.created, negotiation.offer, agreement.funded */
  type: string;
  /** Agents the event concerns; the operator sees every event. */
  agentIds: readonly string[];
  data: Record<string, unknown>;
  at: string;
}

export type Subscriber = (e: TradingEvent) => void;

export class TradingEventBus {
  private readonly subs = new Set<{ agentId: string | null; fn: Subscriber }>();
  private seq = 0;

  /** Subscribes an agent (or the operator, agentId null, who sees everything). Returns the unsubscribe function. */
  subscribe(agentId: string | null, fn: Subscriber): () => void {
    const s = { agentId, fn };
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  get subscribers(): number {
    return this.subs.size;
  }

  nextId(): number {
    return ++this.seq;
  }

  publish(e: TradingEvent): void {
    for (const s of this.subs) {
      if (s.agentId === null || e.agentIds.includes(s.agentId)) {
        try {
          s.fn(e);
        } catch {
          /* a broken subscriber must not break the publisher */
        }
      }
    }
  }
}
