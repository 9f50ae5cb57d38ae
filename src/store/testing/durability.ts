/**
 * The durability proof for the sqlite store, shared by the test and the benchmark: a child
 * process writes and acknowledges keys, gets killed with SIGKILL at a random moment, and
 * every key it acknowledged must be in the store when it is opened again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../sqlite.js';

export interface DurabilityTrial {
  /** Keys the child acknowledged before it died. */
  acked: number;
  /** Acknowledged keys missing (or with a wrong value) after reopening. */
  lost: number;
  /** Keys found beyond the acknowledged ones (committed, not yet printed). */
  unacked: number;
  /** How long the child wrote before the kill, in ms. */
  killedAfterMs: number;
}

/** Runs one trial; the kill lands uniformly in [minDelayMs, maxDelayMs] after the child is ready. */
export async function runDurabilityTrial(opts: { minDelayMs?: number; maxDelayMs?: number } = {}): Promise<DurabilityTrial> {
  const minDelay = opts.minDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 400;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-durability-'));
  const db = join(dir, 'state.db');
  try {
    const { lines, killedAfterMs } = await runChild(db, minDelay + Math.random() * (maxDelay - minDelay));
    if (lines[0] !== 'ready') throw new Error(`durability child did not start: ${lines.slice(0, 3).join(' | ')}`);
    const acked = lines.slice(1).map((l) => Number(l));
    const store = SqliteStore.open(db);
    try {
      let lost = 0;
      for (const n of acked) {
        const kv = await store.get(`/durability/k-${n}`);
        if (!kv || JSON.parse(kv.value).n !== n) lost++;
      }
      const total = await store.count('/durability/');
      return { acked: acked.length, lost, unacked: total - (acked.length - lost), killedAfterMs };
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Locates the child beside this module, as .ts under tsx or as .js under dist/. */
function childCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return ['--import', 'tsx', self.replace(/durability\.ts$/, 'durability-child.ts')];
  return [self.replace(/durability\.js$/, 'durability-child.js')];
}

function runChild(db: string, delayMs: number): Promise<{ lines: string[]; killedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childCommand(), db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyAt = 0;
    let killedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    // Should the child hang before printing "ready", do not wait forever.
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!readyAt && out.startsWith('ready\n')) {
        readyAt = performance.now();
        timer = setTimeout(() => {
          killedAt = performance.now();
          child.kill('SIGKILL');
        }, delayMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL' || !killedAt) {
        reject(new Error(`durability child ended with code ${code} signal ${signal} before the kill: ${err.trim()}`));
        return;
      }
      // The last line may be cut off mid-write; only complete lines were acknowledged.
      const lines = out.split('\n');
      lines.pop();
      resolve({ lines, killedAfterMs: Math.round(killedAt - readyAt) });
    });
  });
}
