/**
 * End-to-end: Secrets are encrypted at rest. A marker value written with the real kubectl is
 * nowhere in the store's files (SQLite db and WAL; etcd's data dir), the stored value carries
 * upstream's `k8s:enc:aesgcm:v1:KEY:` prefix, kubectl reads it decrypted, `skiff secrets
 * rotate-key` re-encrypts with a new key (against a running server and offline), and a
 * restarted server on the same data dir reads everything.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SKIFF_MAIN, startCluster, type TestCluster } from './support/cluster.js';
import { openStore } from '../src/store/open.js';
import { startEtcd, type EtcdServer } from '../src/store/testing/etcd-server.js';

const clusters: TestCluster[] = [];
let etcd: EtcdServer | undefined;
after(async () => {
  for (const c of clusters) await c.destroy();
  await etcd?.stop();
});

function skiff(args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [SKIFF_MAIN, ...args], { encoding: 'utf8', timeout: 90_000 });
  return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** Every file under `dir` whose bytes contain one of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const bytes = readFileSync(p);
        if (needles.some((n) => bytes.includes(Buffer.from(n)))) hits.push(p);
      }
    }
  };
  walk(dir);
  return hits;
}

async function rawValue(storeSpec: string, key: string): Promise<string | undefined> {
  const store = await openStore(storeSpec, { compactIntervalMs: 0 });
  try {
    return (await store.get(key))?.value;
  } finally {
    await store.close();
  }
}

const secretKey = (name: string) => `/registry/core/secrets/default/${name}`;

function createMarkerSecret(c: TestCluster, name: string): string {
  const marker = `MARKER-${randomBytes(8).toString('hex')}`;
  c.k(['create', 'secret', 'generic', name, `--from-literal=v=${marker}`]);
  return marker;
}

function readSecret(c: TestCluster, name: string): string {
  return Buffer.from(c.k(['get', 'secret', name, '-o', 'jsonpath={.data.v}']), 'base64').toString();
}

test('SQLite: no Secret plaintext in state.db or its WAL; rotate-key online and offline; restart reads everything', async () => {
  let c = await startCluster();
  clusters.push(c);
  const db = join(c.dataDir, 'state.db');
  const config = join(c.dataDir, 'pki', 'encryption-config.yaml');
  assert.equal(statSync(config).mode & 0o777, 0o600, 'the key file is owner-only');

  const marker = createMarkerSecret(c, 'marker');
  assert.equal(readSecret(c, 'marker'), marker, 'kubectl shows the value decrypted');
  const needles = [marker, Buffer.from(marker).toString('base64')];
  assert.deepEqual(filesContaining(c.dataDir, needles).filter((f) => f.startsWith(db)), [], 'marker in the store files');
  assert.ok(existsSync(`${db}-wal`), 'the WAL exists and was scanned');
  const raw1 = (await rawValue(db, secretKey('marker')))!;
  assert.match(raw1, /^k8s:enc:aesgcm:v1:key1:/);

  // Online rotation: the running server reloads the key file and rewrites every Secret.
  const rot = skiff(['secrets', 'rotate-key', '--data-dir', c.dataDir]);
  assert.equal(rot.code, 0, rot.out);
  assert.match(rot.out, /added encryption key key2/);
  assert.match(rot.out, /running API server re-encrypted every stored value/);
  assert.match((await rawValue(db, secretKey('marker')))!, /^k8s:enc:aesgcm:v1:key2:/);
  assert.equal(readSecret(c, 'marker'), marker, 'still readable after rotation');
  const marker2 = createMarkerSecret(c, 'after-rotation');
  assert.match((await rawValue(db, secretKey('after-rotation')))!, /^k8s:enc:aesgcm:v1:key2:/);

  // Offline: stop the server, rotate again, and put in a plaintext Secret as an older skiff would have.
  await c.stop();
  const off = skiff(['secrets', 'rotate-key', '--data-dir', c.dataDir]);
  assert.equal(off.code, 0, off.out);
  // The test's two Secrets and the bootstrap-token Secret behind DATA_DIR/node-token.
  assert.match(off.out, /re-encrypted 3 stored value\(s\) with key3 \(offline/);
  assert.match((await rawValue(db, secretKey('marker')))!, /^k8s:enc:aesgcm:v1:key3:/);
  const legacyMarker = `MARKER-${randomBytes(8).toString('hex')}`;
  {
    const store = await openStore(db, { compactIntervalMs: 0 });
    const uid = randomBytes(8).toString('hex');
    await store.create(secretKey('legacy'), JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy', namespace: 'default', uid, creationTimestamp: '2026-01-01T00:00:00Z' }, type: 'Opaque', data: { v: Buffer.from(legacyMarker).toString('base64') } }));
    await store.close();
  }

  // A restart on the same data dir reads every Secret and encrypts the plaintext one.
  c = await startCluster({ dataDir: c.dataDir });
  clusters.push(c);
  assert.equal(readSecret(c, 'marker'), marker);
  assert.equal(readSecret(c, 'after-rotation'), marker2);
  assert.equal(readSecret(c, 'legacy'), legacyMarker);
  assert.match((await rawValue(db, secretKey('legacy')))!, /^k8s:enc:aesgcm:v1:key3:/);
  assert.match(c.output(), /rewrote 1 stored value\(s\) with the current key/);
  // The plaintext row is history now; compaction removes it like any superseded revision, but
  // the live value must be ciphertext.
  const live = filesContaining(c.dataDir, [marker, Buffer.from(marker).toString('base64'), marker2]).filter((f) => f.startsWith(db));
  assert.deepEqual(live, []);
});

test('etcd: the raw value in etcd is ciphertext with the aesgcm prefix and no file of etcd holds the marker', async () => {
  etcd = await startEtcd();
  const spec = etcd.endpoint.replace(/^http:\/\//, 'etcd://');
  const c = await startCluster({ args: ['--store', spec] });
  clusters.push(c);
  const marker = createMarkerSecret(c, 'marker');
  assert.equal(readSecret(c, 'marker'), marker);
  const raw = (await rawValue(spec, secretKey('marker')))!;
  assert.match(raw, /^k8s:enc:aesgcm:v1:key1:/);
  assert.ok(!raw.includes(marker) && !raw.includes(Buffer.from(marker).toString('base64')));
  assert.deepEqual(filesContaining(etcd.dataDir, [marker, Buffer.from(marker).toString('base64')]), []);
  const rot = skiff(['secrets', 'rotate-key', '--data-dir', c.dataDir, '--store', spec]);
  assert.equal(rot.code, 0, rot.out);
  assert.match((await rawValue(spec, secretKey('marker')))!, /^k8s:enc:aesgcm:v1:key2:/);
  assert.equal(readSecret(c, 'marker'), marker);
});
