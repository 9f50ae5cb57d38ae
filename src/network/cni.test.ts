import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniNetwork } from './cni.js';
import { rootOnly } from '../../test/support/root.js';

/** A fresh network + namespace for one test; `cleanup` removes everything it made. */
function fixture(prefixLen: 24 | 28) {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-cni-test-'));
  // 10.234.128.0 – 10.234.255.255 is this file's share of the test range.
  const third = randomInt(128, 256);
  const subnet = prefixLen === 24 ? `10.234.${third}.0/24` : `10.234.${third}.${16 * randomInt(0, 16)}/28`;
  const net = new CniNetwork({ name: `skiff-t${id}`, bridge: `skt${id}`, subnet, dataDir });
  const netns = `skiff-test-${id}`;
  execFileSync('ip', ['netns', 'add', netns]);
  const netnsPath = `/var/run/netns/${netns}`;
  const cleanup = async () => {
    for (const c of readdirSync(join(dataDir, 'results'))) {
      const m = /-(c[0-9a-f-]+)-eth0\.json$/.exec(c);
      if (m) await net.del(m[1]!, netnsPath).catch(() => {});
    }
    spawnSync('ip', ['netns', 'del', netns]);
    await net.teardown();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { net, netnsPath, dataDir, cleanup };
}

const ping = (ip: string) => spawnSync('/bin/busybox', ['ping', '-c', '1', '-W', '1', ip]).status === 0;

test('ADD gives the namespace a reachable address; DEL releases it', rootOnly, async () => {
  const f = fixture(24);
  try {
    const r = await f.net.add('c1', f.netnsPath, 'eth0', { args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'p' } });
    assert.match(r.ip, /^10\.234\.\d+\.\d+$/);
    assert.equal(r.gateway, f.net.gateway);
    assert.match(r.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.ok(existsSync(join(f.net.ipamStateDir, r.ip)), 'host-local recorded the allocation');
    assert.ok(ping(r.ip), `pod IP ${r.ip} answers ping from the host`);
    // lo is up inside the namespace (loopback plugin).
    const lo = execFileSync('ip', ['-n', f.netnsPath.split('/').pop()!, 'link', 'show', 'lo'], { encoding: 'utf8' });
    assert.match(lo, /UP/);
    await f.net.check('c1', f.netnsPath);
    assert.equal(f.net.cachedResult('c1')?.ip, r.ip);

    await f.net.del('c1', f.netnsPath);
    assert.equal(existsSync(join(f.net.ipamStateDir, r.ip)), false, 'address released');
    assert.equal(ping(r.ip), false, 'gone after DEL');
    await f.net.del('c1', f.netnsPath); // twice is fine
    assert.equal(f.net.cachedResult('c1'), undefined);
  } finally {
    await f.cleanup();
  }
});

test('DEL after the namespace is gone still frees the address', rootOnly, async () => {
  const f = fixture(24);
  try {
    const r = await f.net.add('c2', f.netnsPath, 'eth0', { portMappings: [{ hostPort: 40000 + randomInt(0, 20000), containerPort: 80 }] });
    execFileSync('ip', ['netns', 'del', f.netnsPath.split('/').pop()!]);
    await f.net.del('c2', f.netnsPath);
    assert.equal(existsSync(join(f.net.ipamStateDir, r.ip)), false);
  } finally {
    await f.cleanup();
  }
});

test('50 add/del cycles on a /28 leak no addresses', rootOnly, async () => {
  const f = fixture(28);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      // A /28 has 13 usable pod addresses: a leak would exhaust it well before 50 cycles.
      const r = await f.net.add(`c${i}`, f.netnsPath);
      seen.add(r.ip);
      await f.net.del(`c${i}`, f.netnsPath);
    }
    assert.ok(seen.size > 1 && seen.size <= 13);
    const left = readdirSync(f.net.ipamStateDir).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
    assert.deepEqual(left, []);
  } finally {
    await f.cleanup();
  }
});
