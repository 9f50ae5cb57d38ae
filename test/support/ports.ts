/**
 * A free TCP port on 127.0.0.1 for a program a test starts (etcd, a registry, a cluster): the
 * kernel hands one out and it is closed again at once, so another process could take it in
 * between — rare enough on a test machine, and the program then fails loudly at bind.
 */
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
