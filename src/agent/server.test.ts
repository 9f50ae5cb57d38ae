/**
 * pods/log through the API server's relay to a real agent server: the agent's refusals keep their
 * code and Status (kubectl prints `Error from server (BadRequest): …` and exits 1), a log streams
 * with 200, and the answers for pods without a usable node are upstream's. The relay verifies the
 * agent's certificate and presents its own: an impostor endpoint gets no request and no credential.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { badRequest } from '../api/errors.js';
import { ApiHandler } from '../apiserver/handler.js';
import { NodeProxy } from '../apiserver/node-proxy.js';
import type { ApiResponse } from '../apiserver/request.js';
import { ADMIN, memoryApi, type MemoryApi } from '../apiserver/testing/memory-api.js';
import { noLogsMessage } from './agent.js';
import { AGENT_CLIENT_USER, AgentServer, type StreamBackend } from './server.js';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createClientCert, createSelfSignedCa, createServingCert, DAY_MS, type CertKeyPem } from '../client/cert.js';

let dir: string;
let ca: CertKeyPem;
let impostor: https.Server;
let impostorRequests = 0;
const impostorAuth: string[] = [];
let api: MemoryApi;
let agent: AgentServer;
let handler: ApiHandler;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-server-'));
  const logPath = join(dir, '0.log');
  writeFileSync(logPath, '2024-01-01T00:00:01.000000000Z stdout F hello\n');
  // The backend stands in for the agent's pod lookup only; the HTTP server and log streaming are real.
  const backend: StreamBackend = {
    runtime: undefined as never,
    container: async (_ns, pod, c, previous) => {
      if (pod === 'waiting') throw badRequest(`container "${c}" in pod "waiting" is waiting to start: trying and failing to pull image`);
      if (previous) throw badRequest(`previous terminated container "${c}" in pod "${pod}" not found`);
      return { id: 'x', name: c ?? 'c', logPath, running: async () => false };
    },
    podIP: async () => '127.0.0.1',
    statsSummary: async () => ({}),
    log: () => {},
  };
  ca = await createSelfSignedCa('test-ca', DAY_MS);
  const serving = await createServingCert({ commonName: 'system:node:n1', hosts: ['n1', '127.0.0.1'], lifetimeMs: DAY_MS, issuer: ca });
  const client = await createClientCert({ commonName: AGENT_CLIENT_USER, organizations: ['system:masters'], lifetimeMs: DAY_MS, issuer: ca });
  agent = await AgentServer.start({ host: '127.0.0.1', port: 0, tls: { clientCaPem: ca.certPem, serving }, backend });
  // What an attacker runs: any TLS listener, advertised in a Node status they wrote.
  const selfSigned = await createServingCert({ commonName: 'evil', hosts: ['127.0.0.1'], lifetimeMs: DAY_MS });
  impostor = https.createServer({ cert: selfSigned.certPem, key: selfSigned.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    impostorRequests++;
    impostorAuth.push(String(req.headers.authorization ?? ''));
    res.end('stolen');
  });
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
  api = await memoryApi();
  const agentTls = { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem };
  handler = new ApiHandler({ registry: api.registry, storage: api.storage, authenticate: () => ADMIN, serverAddress: '127.0.0.1:6443', nodeProxy: new NodeProxy(api.storage, api.registry, agentTls) });
  const node = (name: string, port: number) => ({
    metadata: { name },
    status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
  });
  await api.storage.create(api.def('Node'), '', node('n1', agent.port), api.ctx);
  // A node whose agent is gone: nothing listens on port 1.
  await api.storage.create(api.def('Node'), '', node('dead', 1), api.ctx);
  await api.storage.create(api.def('Node'), '', node('evil', (impostor.address() as AddressInfo).port), api.ctx);
  const pod = (name: string, nodeName?: string) => ({ metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] } });
  for (const p of [pod('waiting', 'n1'), pod('ok', 'n1'), pod('unbound'), pod('lost', 'gone'), pod('unreachable', 'dead'), pod('victim', 'evil')]) await api.storage.create(api.def('Pod'), 'default', p, api.ctx);
});

after(async () => {
  await agent?.stop();
  impostor?.close();
  api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** GET pods/NAME/log through the handler; a streamed body is read to its end. */
async function logs(name: string, query: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const raw: ApiResponse = await handler.handle({ method: 'GET', path: `/api/v1/namespaces/default/pods/${name}/log`, query: new URLSearchParams(query), headers: {} });
  if (!raw.stream) return { status: raw.status, body: raw.body === undefined ? '' : String(raw.body) };
  let body = '';
  await new Promise<void>((resolve) => raw.stream!({ write: (c) => void (body += String(c)), end: () => resolve(), onClose: () => {} }));
  return { status: raw.status, body };
}

test('the agent refusing a log keeps its 400 and Status through the relay', async () => {
  const r = await logs('waiting');
  assert.equal(r.status, 400);
  const st = JSON.parse(r.body);
  assert.equal(st.kind, 'Status');
  assert.equal(st.reason, 'BadRequest');
  assert.equal(st.code, 400);
  assert.equal(st.message, 'container "c" in pod "waiting" is waiting to start: trying and failing to pull image');

  const prev = await logs('ok', { previous: 'true' });
  assert.equal(prev.status, 400);
  assert.equal(JSON.parse(prev.body).message, 'previous terminated container "c" in pod "ok" not found');
});

test('a log the agent serves streams with 200', async () => {
  assert.deepEqual(await logs('ok'), { status: 200, body: 'hello\n' });
});

test('pods without a usable node: empty log when unscheduled, 404 for a missing node, 503 for an unreachable agent', async () => {
  assert.deepEqual(await logs('unbound'), { status: 200, body: '' });
  // The container is still checked first, as upstream's LogLocation does.
  assert.equal((await logs('unbound', { container: 'nope' })).status, 400);
  const lost = await logs('lost');
  assert.equal(lost.status, 404);
  assert.equal(JSON.parse(lost.body).message, 'nodes "gone" not found');
  const unreachable = await logs('unreachable');
  assert.equal(unreachable.status, 503);
  assert.match(JSON.parse(unreachable.body).message, /^cannot reach the node agent of pod unreachable at 127\.0\.0\.1:1: /);
});

test('an endpoint without a certificate from the cluster CA gets no request and no credential: the relay refuses it', async () => {
  const r = await logs('victim');
  assert.equal(r.status, 503);
  assert.match(JSON.parse(r.body).message, /cannot reach the node agent of pod victim at 127\.0\.0\.1:\d+: self.signed certificate/);
  assert.equal(impostorRequests, 0);
  assert.deepEqual(impostorAuth, []);
});

test('the agent answers only a client certificate the cluster CA issued to the API server or an admin', async () => {
  const get = (o: { cert?: string; key?: string }) =>
    new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: agent.port, path: '/healthz', ca: ca.certPem, ...o }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  assert.equal(await get({}), 401);
  const nodeCert = await createClientCert({ commonName: 'system:node:n2', organizations: ['system:nodes'], lifetimeMs: DAY_MS, issuer: ca });
  assert.equal(await get({ cert: nodeCert.certPem, key: nodeCert.keyPem }), 401, 'another node may not use this agent');
  const foreign = await createClientCert({ commonName: AGENT_CLIENT_USER, organizations: ['system:masters'], lifetimeMs: DAY_MS, issuer: await createSelfSignedCa('other', DAY_MS) });
  assert.equal(await get({ cert: foreign.certPem, key: foreign.keyPem }), 401, 'a certificate from another CA');
  const apiClient = await createClientCert({ commonName: AGENT_CLIENT_USER, lifetimeMs: DAY_MS, issuer: ca });
  assert.equal(await get({ cert: apiClient.certPem, key: apiClient.keyPem }), 200);
});

test("noLogsMessage words a container without logs as the kubelet's validateContainerLogStatus", () => {
  const pod = (waiting?: string): Pod => ({
    metadata: { name: 'p' },
    status: waiting === undefined ? {} : { containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: waiting ? { waiting: { reason: waiting } } : {} }] },
  });
  assert.equal(noLogsMessage(pod('ImagePullBackOff'), 'c', false), 'container "c" in pod "p" is waiting to start: trying and failing to pull image');
  assert.equal(noLogsMessage(pod('ErrImagePull'), 'c', false), 'container "c" in pod "p" is waiting to start: image can\'t be pulled');
  assert.equal(noLogsMessage(pod('CreateContainerConfigError'), 'c', false), 'container "c" in pod "p" is waiting to start: CreateContainerConfigError');
  assert.equal(noLogsMessage(pod(), 'c', false), 'container "c" in pod "p" is waiting to start: ContainerCreating');
  assert.equal(noLogsMessage(pod(''), 'c', false), 'container "c" in pod "p" is waiting to start - no logs yet');
  assert.equal(noLogsMessage(pod('ImagePullBackOff'), 'c', true), 'previous terminated container "c" in pod "p" not found');
});
