/**
 * End-to-end: a real API server in process, the agent with runc on a CNI bridge, busybox pods.
 * One cluster start-up for every check; pods run concurrently to keep the file fast.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import WebSocket from 'ws';
import { ApiServer } from '../apiserver/server.js';
import { clientFromKubeconfig } from '../client/rest.js';
import { CONFIGMAPS, LEASES, NODES, PODS, SECRETS } from '../client/resources.js';
import type { Client } from '../client/types.js';
import { ImageStore } from '../image/store.js';
import { writeBusyboxRootfs } from '../image/bootstrap-rootfs.js';
import { runSync } from '../util/exec.js';
import { Agent } from './agent.js';
import { resetNode } from './reset.js';
import { canRunAsRoot, rootOnly } from '../../test/support/root.js';
import { issueNodeServingCert } from '../apiserver/pki.js';
import type { CertKeyPem } from '../client/cert.js';

const suffix = randomBytes(3).toString('hex');
const NODE = `node-${suffix}`;
const prefix = `skt${suffix}`;
const bridge = `skb${suffix}`;
const podCidr = `10.200.${randomInt(0, 256)}.0/24`;
let dir: string;
let api: ApiServer;
let client: Client;
let agent: Agent;
let serving: CertKeyPem;
/** What the API server presents to agents: verified against the cluster CA, CN kube-apiserver-kubelet-client. */
const asApiServer = () => ({ ca: api.pki.caCertPem, cert: api.pki.kubeletClientCert.certPem, key: api.pki.kubeletClientCert.keyPem });

function agentOpts() {
  return {
    client, nodeName: NODE, dataDir: join(dir, 'node'), podCidr, bridge, namePrefix: prefix, serveHost: '127.0.0.1', servePort: 0,
    tls: { clientCaPem: api.pki.caCertPem, serving }, backoff: { initialMs: 1000, maxMs: 4000 }, imageBackoff: { initialMs: 1000, maxMs: 2000 }, relistMs: 300,
    clusterDns: '10.43.0.10', log: () => {},
  };
}

before(async () => {
  if (!canRunAsRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-e2e-'));
  api = await ApiServer.start({ dataDir: join(dir, 'api'), port: 0 });
  client = clientFromKubeconfig(api.kubeconfigPath);
  serving = await issueNodeServingCert(api.pki, NODE, ['127.0.0.1']);
  const images = ImageStore.open(join(dir, 'node'));
  await writeBusyboxRootfs(join(dir, 'busybox.tar'));
  await images.importRootfs(join(dir, 'busybox.tar'), 'busybox', { Cmd: ['sh'] });
  agent = await Agent.start(agentOpts());
});

after(async () => {
  if (!canRunAsRoot) return;
  await agent?.stop().catch(() => {});
  await resetNode({ dataDir: join(dir, 'node'), namePrefix: prefix, bridge, log: () => {} }).catch((e) => console.error('reset', e));
  await api?.stop().catch(() => {});
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
  for (const m of mounts.reverse()) runSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>>, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', ...extra },
    spec: { nodeName: NODE, containers: [], ...spec } as NonNullable<Pod['spec']>,
  };
}

async function waitFor(name: string, pred: (p: Pod) => boolean, timeoutMs = 30_000): Promise<Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: Pod | undefined;
  while (Date.now() < deadline) {
    try {
      last = await client.get<Pod>(PODS, 'default', name);
      if (pred(last)) return last;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pod ${name} did not reach the expected state; last status: ${JSON.stringify(last?.status, null, 1)}`);
}

/** Polls `pred` until it holds (bounded). */
async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cond = (p: Pod, t: string) => p.status?.conditions?.find((c) => c.type === t)?.status;

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 2000 }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

function agentGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: agent.port, path, ...asApiServer() }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    }).on('error', reject);
  });
}

test('node registers with capacity, nodeInfo, endpoint and a lease', rootOnly, async () => {
  const node = await client.get<{ metadata: { labels: Record<string, string> }; spec: { podCIDR: string }; status: { capacity: Record<string, string>; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string }; daemonEndpoints: { kubeletEndpoint: { Port: number } }; conditions: { type: string; status: string }[] } }>(NODES, undefined, NODE);
  assert.equal(node.metadata.labels['kubernetes.io/hostname'], NODE);
  assert.equal(node.spec.podCIDR, podCidr);
  assert.equal(node.status.capacity.pods, '110');
  assert.match(node.status.nodeInfo.containerRuntimeVersion, /^runc:\/\//);
  assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, agent.port);
  assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  const lease = await client.get<{ spec: { holderIdentity: string } }>(LEASES, 'kube-node-lease', NODE);
  assert.equal(lease.spec.holderIdentity, NODE);
  const unauth = await new Promise<number>((resolve) => https.get({ host: '127.0.0.1', port: agent.port, path: '/healthz', ca: api.pki.caCertPem }, (r) => resolve(r.statusCode ?? 0)));
  assert.equal(unauth, 401);
});

test('pods: run, status, config, probes, restarts, OOM, images, streams, deletion, agent restart', rootOnly, async () => {
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { greeting: 'hello', 'app.conf': 'v1' } });
  await client.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: Buffer.from('s3cret').toString('base64') } });
  const web = pod('web', {
    initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo init-ran > /work/init.txt'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    containers: [{
      name: 'httpd', image: 'busybox', command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      ports: [{ containerPort: 8080, name: 'http' }],
      env: [
        { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
        { name: 'MSG', value: '$(GREETING) world' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ],
      volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'sec', mountPath: '/etc/sec' }, { name: 'work', mountPath: '/work' }],
      readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
    }],
    volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }, { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } }, { name: 'work', emptyDir: {} }],
  });
  const ready = pod('ready', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 } }], terminationGracePeriodSeconds: 1 });
  const crash = pod('crash', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo crashing; exit 3'] }] });
  const done = pod('done', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo bye > /dev/termination-log; exit 0'] }] });
  const fail = pod('fail', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 2'] }] });
  const live = pod('live', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 } }] });
  const oom = pod('oom', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'head -c 200000000 /dev/zero | tail'], resources: { limits: { memory: '20Mi' } } }] });
  const noimg = pod('noimg', { containers: [{ name: 'c', image: 'example.com/nope:1' }] });
  const slow = pod('slow', { terminationGracePeriodSeconds: 2, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'] }] });
  for (const p of [web, ready, crash, done, fail, live, oom, noimg, slow]) await client.create(PODS, 'default', p);

  // Running + Ready, answering on the pod IP, with the full status.
  const w = await waitFor('web', (p) => p.status?.phase === 'Running' && cond(p, 'Ready') === 'True');
  const ip = w.status!.podIP!;
  assert.ok(ip.startsWith(podCidr.split('.').slice(0, 3).join('.')), ip);
  assert.equal(await httpGet(`http://${ip}:8080/`), 'hello from skiff\n');
  const cs = w.status!.containerStatuses![0]!;
  assert.match(cs.containerID!, /^runc:\/\/[0-9a-f]{64}$/);
  assert.match(cs.imageID, /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/);
  assert.equal(cs.image, 'docker.io/library/busybox:latest');
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.ok(cs.state?.running?.startedAt);
  assert.equal(w.status!.initContainerStatuses![0]!.state?.terminated?.reason, 'Completed');
  for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'PodReadyToStartContainers']) assert.equal(cond(w, t), 'True', t);
  assert.equal(w.status!.hostIP, '127.0.0.1');
  assert.equal(w.status!.qosClass, 'BestEffort');

  // Env, volumes, init output, resolv.conf — through exec on the runtime.
  const cid = cs.containerID!.slice(7);
  const sh = async (cmd: string) => (await agent.runtime.execSync(cid, ['sh', '-c', cmd], 5)).stdout.toString();
  assert.equal(await sh('echo "$GREETING|$PASSWORD|$MSG|$POD_NAME|$POD_IP"'), `hello|s3cret|hello world|web|${ip}\n`);
  assert.equal(await sh('cat /etc/cfg/greeting /etc/sec/password /work/init.txt'), 'hellos3cretinit-ran\n');
  assert.equal(await sh('stat -L -c %a /etc/sec/password'), '400\n');
  assert.match(await sh('cat /etc/resolv.conf'), /nameserver 10\.43\.0\.10\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\noptions ndots:5/);
  assert.match(await sh('cat /etc/hosts'), new RegExp(`${ip.replace(/\./g, '\\.')}\\tweb`));
  assert.equal(await sh('hostname'), 'web\n');
  assert.match(await sh('env'), /KUBERNETES_SERVICE_HOST=/);

  // ConfigMap update propagates into the volume.
  await client.patch(CONFIGMAPS, 'default', 'cfg', 'merge', { data: { greeting: 'bonjour' } });

  // Streams: logs, exec (v5 and v4), port-forward (WebSocket and SPDY).
  // The crash container restarts every second or so: right after a restart its new log is
  // still empty, as a kubelet's is, so ask again until this instance has printed.
  let logs = await agentGet('/containerLogs/default/crash/c?tailLines=1');
  for (let i = 0; i < 50 && logs.body === ''; i++) {
    await new Promise((r) => setTimeout(r, 100));
    logs = await agentGet('/containerLogs/default/crash/c?tailLines=1');
  }
  assert.equal(logs.status, 200);
  assert.equal(logs.body, 'crashing\n');
  const ts = await agentGet('/containerLogs/default/crash/c?timestamps=true&tailLines=1');
  assert.match(ts.body, /^\d{4}-\d\d-\d\dT[\d:.]+Z crashing\n$/);
  const ex = await wsExec('/exec/default/web?command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262%3B%20exit%203&container=httpd&stdout=true&stderr=true', 'v5.channel.k8s.io');
  assert.equal(ex.stdout, 'out\n');
  assert.equal(ex.stderr, 'err\n');
  assert.equal(JSON.parse(ex.status).details.causes[0].message, '3');
  const ex4 = await wsExec('/exec/default/web?command=cat&container=httpd&stdin=true&stdout=true&stderr=true', 'v4.channel.k8s.io', 'piped', true);
  assert.equal(ex4.stdout, 'piped');
  assert.equal(JSON.parse(ex4.status).status, 'Success');
  assert.match(await wsPortForward('/portForward/default/web?ports=8080', 8080), /hello from skiff/);
  assert.match(await spdyPortForward('/portForward/default/web', 8080), /hello from skiff/);
  const stats = JSON.parse((await agentGet('/stats/summary')).body) as { node: { cpu: { usageCoreNanoSeconds: number } }; pods: { podRef: { name: string }; containers: { memory: { workingSetBytes: number } }[] }[] };
  assert.ok(stats.node.cpu.usageCoreNanoSeconds > 0);
  assert.ok(stats.pods.find((p) => p.podRef.name === 'web')?.containers[0]?.memory.workingSetBytes);

  // Readiness gates Ready.
  let r = await waitFor('ready', (p) => p.status?.phase === 'Running');
  assert.equal(cond(r, 'Ready'), 'False');
  await agent.runtime.execSync(r.status!.containerStatuses![0]!.containerID!.slice(7), ['touch', '/tmp/ready'], 5);
  r = await waitFor('ready', (p) => cond(p, 'Ready') === 'True');

  // Exit codes and termination messages.
  const d = await waitFor('done', (p) => p.status?.phase === 'Succeeded');
  assert.equal(d.status!.containerStatuses![0]!.state?.terminated?.reason, 'Completed');
  assert.equal(d.status!.containerStatuses![0]!.state?.terminated?.message, 'bye\n');
  const f = await waitFor('fail', (p) => p.status?.phase === 'Failed');
  assert.equal(f.status!.containerStatuses![0]!.state?.terminated?.exitCode, 2);
  assert.equal(f.status!.containerStatuses![0]!.state?.terminated?.reason, 'Error');
  const o = await waitFor('oom', (p) => p.status?.phase === 'Failed');
  assert.equal(o.status!.containerStatuses![0]!.state?.terminated?.reason, 'OOMKilled');

  // Crash loop with growing back-off.
  const c = await waitFor('crash', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
  const cw = c.status!.containerStatuses![0]!;
  assert.match(cw.state!.waiting!.message!, /^back-off \ds restarting failed container=c pod=crash_default/);
  assert.equal(cw.lastState?.terminated?.exitCode, 3);
  assert.equal(c.status!.phase, 'Running');
  const prev = await agentGet('/containerLogs/default/crash/c?previous=true');
  assert.equal(prev.body, 'crashing\n');

  // Liveness failure restarts the container.
  await waitFor('live', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);

  // Missing image: ErrImagePull / ImagePullBackOff with how to load it.
  const ni = await waitFor('noimg', (p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''));
  assert.ok(ni.status!.containerStatuses![0]!.imageID);
  await waitFor('noimg', (p) => /skiff image load/.test(p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '') || p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');

  // The configMap update reached the volume (refresh ≤ ~10 s).
  const deadline = Date.now() + 30_000;
  while ((await sh('cat /etc/cfg/greeting')) !== 'bonjour' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 500));
  assert.equal(await sh('cat /etc/cfg/greeting'), 'bonjour');

  // Agent restart: the running container is adopted, not restarted.
  const before1 = (await agent.runtime.containerStatus(cid))!;
  await agent.stop();
  agent = await Agent.start(agentOpts());
  // The new agent has looked at the pod (and would have restarted the container by now if it were going to).
  await until(() => agent.podSynced(w.metadata!.uid!), 'the restarted agent synced pod web');
  await agent.settle();
  const after1 = (await agent.runtime.containerStatus(cid))!;
  assert.equal(after1.state, 'running');
  assert.equal(after1.pid, before1.pid);
  const w2 = await waitFor('web', (p) => cond(p, 'Ready') === 'True');
  assert.equal(w2.status!.containerStatuses![0]!.containerID, cs.containerID);
  assert.equal(w2.status!.containerStatuses![0]!.restartCount, 0);

  // Deletion honours the grace period (sleep as PID 1 ignores SIGTERM) and the agent finishes it.
  await waitFor('slow', (p) => p.status?.phase === 'Running');
  const t0 = Date.now();
  await client.delete(PODS, 'default', 'slow');
  // The grace period is a lower bound (nothing may kill the pod sooner); how much longer the
  // agent takes depends on the machine, so the upper bound is only "it does finish".
  let goneAfter: number | undefined;
  const giveUpAt = Date.now() + 20_000;
  while (Date.now() < giveUpAt) {
    try {
      await client.get(PODS, 'default', 'slow');
    } catch {
      goneAfter = Date.now() - t0;
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(goneAfter !== undefined, 'the agent finishes a graceful deletion');
  assert.ok(goneAfter >= 1800, `deleted after ${goneAfter} ms, before its 2 s grace period ran out`);
  for (const n of ['web', 'ready', 'crash', 'done', 'fail', 'live', 'oom', 'noimg']) await client.delete(PODS, 'default', n, { gracePeriodSeconds: 1 }).catch(() => {});
});

async function wsExec(path: string, protocol: string, stdin?: string, closeStdinV4 = false): Promise<{ stdout: string; stderr: string; status: string }> {
  const ws = new WebSocket(`wss://127.0.0.1:${agent.port}${path}`, [protocol], asApiServer());
  const out = { stdout: '', stderr: '', status: '' };
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      if (stdin !== undefined) {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
        if (protocol.startsWith('v5')) ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on('message', (m: Buffer) => {
      const ch = m[0];
      const s = m.subarray(1).toString();
      if (ch === 1) out.stdout += s;
      else if (ch === 2) out.stderr += s;
      else if (ch === 3) out.status += s;
      // v4 cannot close stdin alone: hang up once the command echoed everything back.
      if (closeStdinV4 && stdin !== undefined && out.stdout === stdin) ws.close();
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
  if (closeStdinV4 && !out.status) out.status = JSON.stringify({ status: 'Success' });
  return out;
}

async function wsPortForward(path: string, port: number): Promise<string> {
  const ws = new WebSocket(`wss://127.0.0.1:${agent.port}${path}`, ['v4.channel.k8s.io'], asApiServer());
  let data = '';
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (m: Buffer) => {
      if (m[0] === 0) {
        if (seen++ === 0) {
          assert.equal(m.readUInt16LE(1), port);
          ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET / HTTP/1.0\r\n\r\n')]));
        } else data += m.subarray(1).toString();
      }
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
  return data;
}

/** A minimal kubectl-style SPDY port-forward client (spdy-transport as the client side). */
async function spdyPortForward(path: string, port: number): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const transport = require('spdy-transport');
  const tls = await import('node:tls');
  const sock = tls.connect({ host: '127.0.0.1', port: agent.port, ...asApiServer() });
  await new Promise((r) => sock.once('secureConnect', r));
  sock.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n`);
  const head = await new Promise<string>((resolve) => {
    let b = '';
    const on = (d: Buffer) => {
      b += d.toString('latin1');
      if (b.includes('\r\n\r\n')) {
        sock.off('data', on);
        resolve(b);
      }
    };
    sock.on('data', on);
  });
  assert.match(head, /^HTTP\/1.1 101/);
  const conn = transport.connection.create(sock, { protocol: 'spdy', isServer: false });
  conn.start(3.1);
  const mk = (type: string) => new Promise<import('node:stream').Duplex>((resolve, reject) => {
    conn.request({ method: 'POST', path: '/', headers: { streamtype: type, port: String(port), requestid: '0' } }, (err: Error | null, s: import('node:stream').Duplex) => (err ? reject(err) : resolve(s)));
  });
  const errStream = await mk('error');
  const data = await mk('data');
  errStream.on('data', () => {});
  let out = '';
  data.on('data', (d: Buffer) => (out += d));
  data.write('GET / HTTP/1.0\r\n\r\n');
  await new Promise<void>((r) => {
    data.on('end', () => r());
    setTimeout(r, 3000);
  });
  sock.destroy();
  void net;
  return out;
}
