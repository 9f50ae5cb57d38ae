/**
 * End to end (issue 11 items 2, 3, 8, 10; issue 13 item 1): identities against a real
 * `skiff server` with the real kubectl — the admin's client certificate, ServiceAccount tokens
 * bound to live objects, TokenReview, legacy token Secrets, NodeRestriction for a real node
 * certificate, the API server refusing an agent endpoint the cluster CA did not certify, and
 * (as root) an agent that joins with the node token only and goes Ready.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createClientCert, createServingCert, DAY_MS } from '../src/client/cert.js';
import { eventually, SKIFF_MAIN, startCluster, type TestCluster } from './support/cluster.js';
import { resetDataDir, upIdentity, waitNodeReady } from './support/e2e.js';
import { rootOnly } from './support/root.js';

let c: TestCluster;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'skiff-identity-'));
  c = await startCluster({ command: 'server' });
});
after(async () => {
  await c?.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** A kubeconfig for the test cluster with `user` in place of the admin's credentials. */
function kubeconfigWith(name: string, user: Record<string, string>): string {
  const doc = parse(readFileSync(c.kubeconfig, 'utf8'));
  doc.users = [{ name: doc.users[0].name, user }];
  const file = join(work, name);
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

function kubectlAs(kubeconfig: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  return c.kubectl(['--kubeconfig', kubeconfig, ...args], { input });
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

test('the admin kubeconfig holds a system:masters client certificate that works on its own; the data dir and keys are private', () => {
  const admin = parse(readFileSync(c.kubeconfig, 'utf8')).users[0].user;
  assert.ok(admin['client-certificate-data'] && admin['client-key-data']);
  const certOnly = kubeconfigWith('cert-only', { 'client-certificate-data': admin['client-certificate-data'], 'client-key-data': admin['client-key-data'] });
  const r = kubectlAs(certOnly, ['get', 'namespaces', '-o', 'name']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /namespace\/kube-system/);
  assert.equal(statSync(c.dataDir).mode & 0o777, 0o700);
  for (const f of ['kubeconfig', 'node-token', 'pki/ca.key', 'pki/admin.key', 'pki/sa.key']) assert.equal(statSync(join(c.dataDir, f)).mode & 0o777, 0o600, f);
  assert.match(readFileSync(join(c.dataDir, 'node-token'), 'utf8'), /^K10[0-9a-f]{64}::server:[a-z0-9]{6}\.[a-z0-9]{16}\n$/);
});

test('kubectl create token: the token authenticates (TokenReview names it) until its ServiceAccount or bound pod is deleted, then 401', async () => {
  c.k(['create', 'serviceaccount', 'robot']);
  c.k(['create', 'rolebinding', 'robot-view', '--clusterrole=view', '--serviceaccount=default:robot']);
  const token = c.k(['create', 'token', 'robot']).trim();
  const asToken = kubeconfigWith('robot', { token });
  assert.equal(kubectlAs(asToken, ['get', 'pods']).code, 0);

  const review = JSON.parse(c.k(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }) }));
  assert.equal(review.status.authenticated, true);
  assert.equal(review.status.user.username, 'system:serviceaccount:default:robot');
  assert.ok(review.status.user.groups.includes('system:serviceaccounts:default'));

  // A token bound to a pod carries the pod (and node) and dies with it.
  c.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'holder' }, spec: { serviceAccountName: 'robot', nodeName: 'nowhere', containers: [{ name: 'c', image: 'busybox' }] } }) });
  const bound = c.k(['create', 'token', 'robot', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder']).trim();
  const boundReview = JSON.parse(c.k(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: bound } }) }));
  assert.deepEqual(boundReview.status.user.extra['authentication.kubernetes.io/pod-name'], ['holder']);
  const asBound = kubeconfigWith('bound', { token: bound });
  assert.equal(kubectlAs(asBound, ['get', 'pods']).code, 0);
  c.k(['delete', 'pod', 'holder', '--grace-period=0', '--force']);
  await eventually(() => kubectlAs(asBound, ['get', 'pods']).code !== 0, 10_000, 'the pod-bound token is refused');
  assert.match(kubectlAs(asBound, ['get', 'pods']).stderr, /Unauthorized/);

  c.k(['delete', 'serviceaccount', 'robot']);
  await eventually(() => kubectlAs(asToken, ['get', 'pods']).code !== 0, 10_000, 'the token of a deleted ServiceAccount is refused');
  assert.match(kubectlAs(asToken, ['get', 'pods']).stderr, /Unauthorized/);
});

test('a kubernetes.io/service-account-token Secret gets token, ca.crt and namespace, and the token works', async () => {
  c.k(['create', 'serviceaccount', 'legacy']);
  c.k(['create', 'rolebinding', 'legacy-view', '--clusterrole=view', '--serviceaccount=default:legacy']);
  c.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy-token', annotations: { 'kubernetes.io/service-account.name': 'legacy' } }, type: 'kubernetes.io/service-account-token' }) });
  let data: Record<string, string> = {};
  await eventually(() => {
    data = JSON.parse(c.k(['get', 'secret', 'legacy-token', '-o', 'json'])).data ?? {};
    return !!data.token;
  }, 15_000, 'the tokens controller fills the Secret');
  assert.equal(Buffer.from(data.namespace, 'base64').toString(), 'default');
  assert.equal(Buffer.from(data['ca.crt'], 'base64').toString(), readFileSync(join(c.dataDir, 'pki/ca.crt'), 'utf8'));
  const asLegacy = kubeconfigWith('legacy', { token: Buffer.from(data.token, 'base64').toString() });
  assert.equal(kubectlAs(asLegacy, ['get', 'pods']).code, 0);
});

test('a node certificate changes only its own Node; a ServiceAccount may not advertise an agent endpoint', async () => {
  const ca = { certPem: readFileSync(join(c.dataDir, 'pki/ca.crt'), 'utf8'), keyPem: readFileSync(join(c.dataDir, 'pki/ca.key'), 'utf8') };
  const cert = await createClientCert({ commonName: 'system:node:id-n1', organizations: ['system:nodes'], lifetimeMs: DAY_MS, issuer: ca });
  const asNode = kubeconfigWith('node', { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) });
  const node = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
  assert.equal(kubectlAs(asNode, ['create', '-f', '-'], node('id-n1')).code, 0);
  c.k(['create', '-f', '-'], { input: node('id-n2') });
  const other = kubectlAs(asNode, ['label', 'node', 'id-n2', 'stolen=yes']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /nodes "id-n2" is forbidden: node "id-n1" is not allowed to modify node "id-n2"/);
  const restricted = kubectlAs(asNode, ['label', 'node', 'id-n1', 'node-restriction.kubernetes.io/secure=true']);
  assert.match(restricted.stderr, /is not allowed to modify labels: node-restriction.kubernetes.io\/secure/);
  assert.equal(kubectlAs(asNode, ['label', 'node', 'id-n1', 'team=blue']).code, 0);
  // A node reads only the Secrets its own pods use: id-n1 runs none.
  c.k(['create', 'secret', 'generic', 'not-for-nodes', '--from-literal=k=v']);
  const secret = kubectlAs(asNode, ['get', 'secret', 'not-for-nodes']);
  assert.notEqual(secret.code, 0);
  assert.match(secret.stderr, /secrets "not-for-nodes" is forbidden: User "system:node:id-n1" cannot get resource "secrets" in API group "" in the namespace "default"/);

  // The default ServiceAccount may not create Nodes at all (RBAC)…
  const saToken = c.k(['create', 'token', 'default']).trim();
  const asSa = kubeconfigWith('sa', { token: saToken });
  const evil = JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'id-evil' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: 1 } } } });
  const r = kubectlAs(asSa, ['create', '-f', '-'], evil);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nodes is forbidden: User "system:serviceaccount:default:default" cannot create resource "nodes"/);
  // …and one that RBAC lets create Nodes still may not advertise an agent endpoint (NodeRestriction).
  c.k(['create', 'serviceaccount', 'node-maker']);
  c.k(['create', 'clusterrole', 'node-maker', '--verb=create', '--resource=nodes']);
  c.k(['create', 'clusterrolebinding', 'node-maker', '--clusterrole=node-maker', '--serviceaccount=default:node-maker']);
  const asMaker = kubeconfigWith('maker', { token: c.k(['create', 'token', 'node-maker']).trim() });
  const r2 = kubectlAs(asMaker, ['create', '-f', '-'], evil);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /is not allowed to set status.addresses or status.daemonEndpoints/);
});

test('kubectl logs through a Node that advertises a listener without a CA-issued certificate: refused, and the listener gets no request', async () => {
  const selfSigned = await createServingCert({ commonName: 'evil', hosts: ['127.0.0.1'], lifetimeMs: DAY_MS });
  const seen: string[] = [];
  const listener = https.createServer({ cert: selfSigned.certPem, key: selfSigned.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    seen.push(`${req.url} ${req.headers.authorization ?? ''}`);
    res.end('fake log');
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  try {
    const port = (listener.address() as AddressInfo).port;
    c.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'id-fake' } }) });
    // An admin may write any status; the API server still checks whom it connects to.
    c.k(['patch', 'node', 'id-fake', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } })]);
    c.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lured' }, spec: { nodeName: 'id-fake', containers: [{ name: 'c', image: 'busybox' }] } }) });
    // kubectl runs asynchronously: the listener lives in this process and must keep answering.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = c.spawnKubectl(['logs', 'lured']);
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      p.on('exit', (code) => resolve({ code, stderr }));
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach the node agent of pod lured at 127\.0\.0\.1:\d+: self.signed certificate/);
    assert.deepEqual(seen, []);
  } finally {
    listener.close();
  }
});

describe('joining with the node token', { ...rootOnly, timeout: 240_000 }, () => {
  let agent: ChildProcess | undefined;
  let agentOut = '';
  let agentDir: string;
  const id = upIdentity('idj');

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    if (agentDir) {
      resetDataDir(agentDir);
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  test('an agent given only --server and --token-file obtains its certificates by CSR, registers and goes Ready; the API server reaches it', async () => {
    agentDir = mkdtempSync(join(tmpdir(), 'skiff-join-'));
    chmodSync(agentDir, 0o755); // as a data dir made by hand would be; the agent tightens it
    agent = spawn(process.execPath, [
      '--enable-source-maps', SKIFF_MAIN, 'agent', '--server', c.url, '--token-file', join(c.dataDir, 'node-token'),
      '--name', id.nodeName, '--data-dir', agentDir, '--name-prefix', id.name, '--bridge', `${id.name.slice(0, 13)}0`, '--pod-cidr', id.podCidr,
      '--service-cidr', id.serviceCidr, '--port', '0', '--no-dns', '--node-ip', '127.0.0.1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d) => (agentOut += d));
    agent.stderr!.on('data', (d) => (agentOut += d));
    try {
      await waitNodeReady(c, id.nodeName, 120_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent output:\n${agentOut.slice(-3000)}`);
    }
    const csrs = JSON.parse(c.k(['get', 'csr', '-o', 'json'])).items as { spec: { username: string; signerName: string }; status: { conditions?: { type: string }[]; certificate?: string } }[];
    const client = csrs.find((x) => x.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && x.spec.username.startsWith('system:bootstrap:'));
    assert.ok(client?.status.certificate, 'the bootstrap CSR was issued');
    const serving = csrs.find((x) => x.spec.signerName === 'kubernetes.io/kubelet-serving' && x.spec.username === `system:node:${id.nodeName}`);
    assert.ok(serving?.status.certificate, 'the node asked for its serving certificate as itself');
    // The agent keeps its own certificates, not the token.
    for (const f of ['ca.crt', 'node-client.crt', 'node-serving.crt']) assert.ok(existsSync(join(agentDir, 'agent-pki', f)), f);
    assert.equal(statSync(join(agentDir, 'agent-pki', 'node-client.key')).mode & 0o777, 0o600);
    assert.equal(statSync(agentDir).mode & 0o777, 0o700);
    // The API server verifies the agent's serving certificate and presents its own: a scrape succeeds.
    await eventually(() => c.kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/nodes/${id.nodeName}`]).code === 0, 30_000, 'node metrics through the verified agent connection');
  });
});
