/** A TCP port free on 127.0.0.1 right now (the OS picks it; a server started next may take it). */
import { createServer } from 'node:net';

export const freePort = (): Promise<number> => new Promise<number>((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});
