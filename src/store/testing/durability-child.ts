/**
 * Child process of the durability proof: writes keys to a sqlite store as fast as it can and
 * prints each key's number on stdout only after `create` has resolved (an acknowledged write).
 * Usage: durability-child DB_PATH. The parent kills it with SIGKILL at a random moment.
 */
import { writeSync } from 'node:fs';
import { SqliteStore } from '../sqlite.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes straight to fd 1 and returns only once the kernel has the bytes, where SIGKILL
 * cannot lose them. process.stdout would queue in user space whenever the pipe is full, and
 * the pipe from the parent is non-blocking, so a full pipe is waited out here (EAGAIN).
 */
function ack(line: string): void {
  let buf = Buffer.from(line);
  const deadline = Date.now() + 10_000;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(1, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: durability-child DB_PATH\n');
  process.exit(2);
}
const store = SqliteStore.open(path);
ack('ready\n');
// Bounded: the parent kills us long before this, and we stop on our own if it does not.
for (let n = 0; n < 5_000_000; n++) {
  await store.create(`/durability/k-${n}`, JSON.stringify({ n }));
  ack(`${n}\n`);
}
await store.close();
