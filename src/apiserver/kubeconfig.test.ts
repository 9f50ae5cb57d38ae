import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { mergeIntoUserKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { ensurePki } from './pki.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const opts = { server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok', contextName: 'skiff' };

test('writeKubeconfig writes a private, complete kubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kc-'));
  try {
    const path = join(dir, 'sub', 'kubeconfig');
    writeKubeconfig(path, opts);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const doc = parse(readFileSync(path, 'utf8'));
    assert.equal(doc['current-context'], 'skiff');
    assert.deepEqual(doc.clusters, [{ name: 'skiff', cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(CA).toString('base64') } }]);
    assert.deepEqual(doc.users, [{ name: 'skiff-admin', user: { token: 'tok' } }]);
    assert.deepEqual(doc.contexts, [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff-admin' } }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mergeIntoUserKubeconfig keeps other clusters and replaces its own entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kc-'));
  try {
    const path = join(dir, '.kube', 'config');
    mergeIntoUserKubeconfig(path, opts); // creates the file and directory
    assert.equal(parse(readFileSync(path, 'utf8'))['current-context'], 'skiff');

    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'preferences: {colors: true}',
      'clusters:', '- name: prod', '  cluster: {server: "https://prod:6443"}',
      '- name: skiff', '  cluster: {server: "https://old:1"}',
      'users:', '- name: me', '  user: {token: secret}',
      'contexts:', '- name: prod', '  context: {cluster: prod, user: me}',
      'current-context: prod', '',
    ].join('\n'));
    mergeIntoUserKubeconfig(path, { ...opts, token: 'new', server: 'https://127.0.0.1:7443' });
    mergeIntoUserKubeconfig(path, { ...opts, token: 'newer', server: 'https://127.0.0.1:7443' });
    const doc = parse(readFileSync(path, 'utf8'));
    assert.equal(doc['current-context'], 'skiff');
    assert.deepEqual(doc.preferences, { colors: true });
    assert.deepEqual(doc.clusters.map((c: { name: string }) => c.name), ['prod', 'skiff']);
    assert.equal(doc.clusters[1].cluster.server, 'https://127.0.0.1:7443');
    assert.deepEqual(doc.users, [{ name: 'me', user: { token: 'secret' } }, { name: 'skiff-admin', user: { token: 'newer' } }]);
    assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ['prod', 'skiff']);
    assert.equal(statSync(path).mode & 0o777, 0o600);

    writeFileSync(path, '- just\n- a list\n');
    assert.throws(() => mergeIntoUserKubeconfig(path, opts), /not a kubeconfig/);
    assert.equal(readFileSync(path, 'utf8'), '- just\n- a list\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl trusts the written kubeconfig: CA verifies the serving cert, token is sent', { skip: !existsSync('/usr/bin/kubectl') && 'no kubectl', timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kc-'));
  const pki = await ensurePki(join(dir, 'pki'), { hosts: [] });
  const auths: string[] = [];
  const server = createServer({ cert: pki.servingCertPem, key: pki.servingKeyPem }, (req, res) => {
    auths.push(String(req.headers.authorization));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const kc = join(dir, 'kubeconfig');
    writeKubeconfig(kc, { server: `https://127.0.0.1:${port}`, caPem: pki.caCertPem, token: pki.adminToken, contextName: 'skiff' });
    const out = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) => {
      execFile('/usr/bin/kubectl', ['--kubeconfig', kc, '--cache-dir', join(dir, 'cache'), 'version', '-o', 'json'],
        { env: { ...process.env, HOME: dir }, timeout: 30_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
    });
    assert.equal(out.err, null, out.stderr);
    assert.equal(JSON.parse(out.stdout).serverVersion.gitVersion, 'v1.32.0');
    assert.ok(auths.includes(`Bearer ${pki.adminToken}`), 'kubectl sent the admin token');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
