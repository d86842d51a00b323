// A TCP port that was free on 127.0.0.1 a moment ago (the kernel's pick for port 0), for a
// server a test starts as another process (nats-server, a daemon).
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
