/**
 * Test support: the Debian `docker-registry` (CNCF distribution) on a random loopback port
 * with temp storage, to test the registry client and server against the reference implementation.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/ports.js';


export interface DebianRegistry {
  port: number;
  address: string;
  stop(): Promise<void>;
}

/**
 * Starts /usr/bin/docker-registry on 127.0.0.1:<random>; resolves when /v2/ answers. With
 * `htpasswd`, the registry requires that user (Basic auth; the bcrypt hash comes from python3's crypt).
 */
export async function startDebianRegistry(opts: { htpasswd?: { username: string; password: string } } = {}): Promise<DebianRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-reg-'));
  let auth = '';
  if (opts.htpasswd) {
    const hash = execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', opts.htpasswd.password]).toString().trim();
    writeFileSync(join(dir, 'htpasswd'), `${opts.htpasswd.username}:${hash}\n`);
    auth = `auth: {htpasswd: {realm: skiff-test, path: ${dir}/htpasswd}}\n`;
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n${auth}`);
    const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    let exited = false;
    child.on('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !exited) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`);
        if (r.status === 200 || (opts.htpasswd && r.status === 401)) {
          return {
            port,
            address: `127.0.0.1:${port}`,
            async stop() {
              child.kill('SIGTERM');
              await new Promise((r2) => (child.exitCode !== null ? r2(null) : child.once('exit', r2)));
              rmSync(dir, { recursive: true, force: true });
            },
          };
        }
      } catch {
        /* not yet */
      }
      await new Promise((r2) => setTimeout(r2, 50));
    }
    child.kill('SIGKILL');
    if (attempt >= 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${err.trim().slice(-500)}`);
    }
  }
}
