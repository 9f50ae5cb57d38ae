/**
 * Real Docker clients against a test cluster's engine socket: the docker CLI, docker-py,
 * docker-compose, and raw requests on the unix socket for what no client sends (bad bodies,
 * dropped hijacked connections).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketRequest } from '../../src/docker/testing/socket-request.js';

export interface DockerClients {
  socket: string;
  env: Record<string, string>;
  /** Runs the docker CLI; never throws. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number; cwd?: string }): { code: number; stdout: string; stderr: string };
  /** Runs the docker CLI and throws with its output when it fails. */
  d(args: string[], opts?: { input?: string; timeoutMs?: number }): string;
  /** Runs docker-compose in `cwd`. */
  compose(cwd: string, args: string[], timeoutMs?: number): { code: number; stdout: string; stderr: string };
  /** Runs a docker-py script (python3 -c). */
  python(script: string, timeoutMs?: number): { code: number; stdout: string; stderr: string };
  /** One request on the socket; resolves with status and body. */
  request(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** Opens a hijacked (Upgrade: tcp) connection; resolves once the 101 arrived. */
  hijack(path: string): Promise<net.Socket>;
}

export function dockerClients(socket: string): DockerClients {
  const config = mkdtempSync(join(tmpdir(), 'skiff-docker-config-'));
  process.on('exit', () => rmSync(config, { recursive: true, force: true }));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '0' } as Record<string, string>;
  const run = (cmd: string, args: string[], o: { input?: string; timeoutMs?: number; cwd?: string } = {}) => {
    // SIGKILL on timeout: the docker CLI relays a SIGTERM to the container and keeps waiting.
    const r = spawnSync(cmd, args, { input: o.input, encoding: 'utf8', timeout: o.timeoutMs ?? 90_000, killSignal: 'SIGKILL', env, cwd: o.cwd });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  return {
    socket,
    env,
    docker: (args, o) => run('docker', args, o),
    d(args, o) {
      const r = run('docker', args, o);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    compose: (cwd, args, timeoutMs = 120_000) => run('docker-compose', args, { cwd, timeoutMs }),
    python: (script, timeoutMs = 90_000) => run('/usr/bin/python3', ['-c', script], { timeoutMs }),
    request: (method, path, body, headers) => socketRequest(socket, method, path, body, headers),
    hijack: (path) =>
      new Promise((resolve, reject) => {
        const sock = net.connect(socket);
        let got = '';
        sock.on('error', reject);
        sock.on('connect', () => sock.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`));
        const onData = (d: Buffer) => {
          got += d.toString('latin1');
          if (got.includes('\r\n\r\n')) {
            sock.off('data', onData);
            if (got.startsWith('HTTP/1.1 101')) resolve(sock);
            else reject(new Error(`no 101: ${got}`));
          }
        };
        sock.on('data', onData);
      }),
  };
}
