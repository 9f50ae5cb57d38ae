/**
 * Durability of acknowledged writes in the sqlite store: 20 trials of a writer killed with
 * SIGKILL at a random moment; every key it acknowledged must be there after reopening.
 * Prints {"bench":"store-durability","trials":20,"acked":N,"lost":0,...}; exits 1 on any loss.
 */
import { runDurabilityTrial } from '../src/store/testing/durability.js';

const trials = Number(process.argv[2] ?? 20);
let acked = 0;
let lost = 0;
let unacked = 0;
const killedAfterMs: number[] = [];
const t0 = performance.now();
for (let i = 0; i < trials; i++) {
  const r = await runDurabilityTrial({ minDelayMs: 20, maxDelayMs: 1000 });
  acked += r.acked;
  lost += r.lost;
  unacked += r.unacked;
  killedAfterMs.push(r.killedAfterMs);
}
console.log(
  JSON.stringify({
    bench: 'store-durability',
    trials,
    acked,
    lost,
    committedButUnacked: unacked,
    killAfterMs: { min: Math.min(...killedAfterMs), max: Math.max(...killedAfterMs) },
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  }),
);
process.exit(lost === 0 ? 0 : 1);
