/** A server-sent-events reader for stream tests: collects every event (id, type, parsed data) until closed. */
export interface SseEvent { id: string | undefined; event: string; data: Record<string, unknown> }

export function readSse(res: Response, ctrl: AbortController): { received: SseEvent[]; close(): Promise<void> } {
  const reader = res.body!.getReader();
  let text = '';
  const received: SseEvent[] = [];
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        let i: number;
        while ((i = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, i);
          text = text.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          const id = /^id: (.*)$/m.exec(block)?.[1];
          if (ev && data) received.push({ id, event: ev, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch { /* aborted */ }
  })();
  return { received, close: async () => { ctrl.abort(); await pump; } };
}
