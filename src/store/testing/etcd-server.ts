/**
 * Starts a throwaway single-member etcd (the Debian `etcd` binary) on free 127.0.0.1 ports
 * in a temporary data directory, for tests and benchmarks of the etcd backend.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from '../../../test/support/ports.js';

export interface EtcdServer {
  /** Client URL, e.g. "http://127.0.0.1:40123". */
  endpoint: string;
  dataDir: string;
  /** Kills etcd and removes its data directory. Idempotent. */
  stop(): Promise<void>;
}


/** Starts etcd and resolves once it answers a range request (or rejects within `timeoutMs`). */
export async function startEtcd(opts: { binary?: string; timeoutMs?: number } = {}): Promise<EtcdServer> {
  const binary = opts.binary ?? '/usr/bin/etcd';
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name', 'skiff-test',
      '--data-dir', join(dataDir, 'data'),
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `skiff-test=${peer}`,
      '--log-level', 'error',
      '--logger', 'zap',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGKILL');
      await exitedP;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const client = new Etcd3({ hosts: endpoint, dialTimeout: 1000 });
    try {
      const deadline = Date.now() + timeoutMs;
      // Bounded by the deadline; etcd usually answers within a second.
      for (;;) {
        if (exited) throw new Error(`etcd exited during startup: ${stderr.trim()}`);
        try {
          await client.get('/skiff-probe');
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`etcd at ${endpoint} did not answer in ${timeoutMs} ms: ${(err as Error).message}; ${stderr.trim()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      client.close();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, dataDir, stop };
}
