/**
 * End to end for Services on a real node (issue 5): one `skiff up`; a 3-replica busybox httpd
 * Deployment (each replica serves its own hostname) behind ClusterIP, NodePort, LoadBalancer
 * and headless Services; cluster DNS from a client pod; the in-cluster API reached by a Go
 * program (test/incluster) with the mounted service-account token and CA.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { condition, goBuild, httpGet, importBusybox, resetDataDir, upIdentity, waitNodeReady, waitPod, type UpIdentity } from './support/e2e.js';
import { canRunAsRoot as canRun, rootOnly } from './support/root.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const haveGo = existsSync('/usr/bin/go') || existsSync('/usr/lib/go/bin/go');
const IMG = 'busybox:e2e';
const GO_IMG = 'incluster:e2e';

let id: UpIdentity;
let dataDir: string;
let buildDir: string;
let c: TestCluster;
let goReady: Promise<void> | undefined;

const manifests = () => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${IMG}
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www"]
        ports: [{containerPort: 80, name: http}]
        readinessProbe:
          exec: {command: [sh, -c, "test ! -f /tmp/unready"]}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 8080, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: ${IMG}
    imagePullPolicy: IfNotPresent
    command: [sleep, "1000"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
`;

/** Bound only in the in-cluster test, after the program has been refused without it. */
const readPodsBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-reads-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: default, namespace: default}
`;

const goPod = `apiVersion: v1
kind: Pod
metadata: {name: incluster}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: incluster
    image: ${GO_IMG}
    imagePullPolicy: IfNotPresent
    command: [sleep, "1000"]
`;

before(async () => {
  if (!canRun) return;
  id = upIdentity('se');
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-svc-e2e-'));
  buildDir = mkdtempSync(join(tmpdir(), 'skiff-svc-e2e-go-'));
  await importBusybox(dataDir, { [IMG]: 'unused\n' });
  // The Go client compiles while the cluster starts (≈ 20 s on 2 cores with a cold cache).
  if (haveGo) {
    goReady = goBuild(join(REPO, 'test', 'incluster'), join(buildDir, 'incluster')).then(async (bin) => {
      await importBusybox(dataDir, { [GO_IMG]: 'unused\n' }, [{ name: 'incluster', mode: 0o755, content: readFileSync(bin) }]);
    });
    goReady.catch(() => {});
  }
  c = await startCluster({ command: 'up', dataDir, args: id.args });
  await waitNodeReady(c, id.nodeName);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
  c.k(['apply', '-f', manifestFile(manifests())]);
});

after(async () => {
  if (!canRun) return;
  if (c && (c.proc.exitCode !== null || c.proc.signalCode !== null)) console.error(`skiff up exited early (${c.proc.exitCode ?? c.proc.signalCode}):\n${c.output().slice(-4000)}`);
  await goReady?.catch(() => {});
  await c?.destroy();
  if (dataDir) {
    const out = resetDataDir(dataDir);
    if (!/node reset done/.test(out)) console.error(`skiff reset: ${out}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** Names of the ready web pods (and their IPs). */
function webPods(): Map<string, string> {
  const items = JSON.parse(c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
  return new Map(items.filter((p: any) => !p.metadata.deletionTimestamp && condition(p, 'Ready') === 'True').map((p: any) => [p.metadata.name, p.status.podIP]));
}

/** Waits for `n` ready web pods and for the Service's EndpointSlices to list exactly their IPs as ready. */
async function waitWeb(n: number): Promise<Map<string, string>> {
  return (await eventually<Map<string, string> | undefined>(() => {
    const pods = webPods();
    const all = JSON.parse(c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
    if (pods.size !== n || all.length !== n) return undefined;
    const slices = JSON.parse(c.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])).items;
    const ready = slices.flatMap((s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready).flatMap((e: any) => e.addresses)).sort();
    return JSON.stringify(ready) === JSON.stringify([...pods.values()].sort()) ? pods : undefined;
  }, 60_000, `${n} ready web pods in the endpoints`))!;
}

/** Runs `count` wgets of `url` from the client pod; returns the answers (hostnames). */
function fromClient(url: string, count: number): string[] {
  const out = c.k(['exec', 'client', '--', 'sh', '-c', `for i in $(seq ${count}); do timeout 5 wget -qO- ${url} || echo FAIL; done`], { timeoutMs: 60_000 });
  return out.split('\n').filter(Boolean);
}

const counts = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());

describe('skiff up: Services, DNS and the in-cluster API', { ...rootOnly, timeout: 170_000 }, () => {
  test('a ClusterIP Service spreads requests from a pod over all three replicas, by DNS name', async () => {
    const pods = await waitWeb(3);
    await waitPod(c, 'client', (p) => p.status?.phase === 'Running', 30_000, 'Running');
    const answers = fromClient('http://web.default.svc.cluster.local', 30);
    assert.ok(!answers.includes('FAIL'), answers.join(','));
    assert.deepEqual([...counts(answers).keys()].sort(), [...pods.keys()].sort(), `spread: ${JSON.stringify([...counts(answers)])}`);
    // The short name through the search path, and the ClusterIP from the host, too.
    assert.ok(pods.has(fromClient('http://web', 1)[0]!));
    const ip = c.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.ok(ip.startsWith(id.serviceCidr.split('.').slice(0, 3).join('.') + '.'), `${ip} in ${id.serviceCidr}`);
    const fromHost = new Set<string>();
    for (let i = 0; i < 30; i++) fromHost.add((await httpGet(`http://${ip}/`)).trim());
    assert.deepEqual([...fromHost].sort(), [...pods.keys()].sort());
  });

  test('scaling to 1 and back to 3 updates the spread', async () => {
    c.k(['scale', 'deployment/web', '--replicas=1']);
    const one = await waitWeb(1);
    const only = [...one.keys()];
    const a1 = fromClient('http://web.default.svc.cluster.local', 10);
    assert.deepEqual([...counts(a1).keys()], only, a1.join(','));
    c.k(['scale', 'deployment/web', '--replicas=3']);
    const three = await waitWeb(3);
    const a3 = fromClient('http://web.default.svc.cluster.local', 30);
    assert.deepEqual([...counts(a3).keys()].sort(), [...three.keys()].sort(), a3.join(','));
  });

  test('a pod failing readiness gets no traffic', async () => {
    const pods = await waitWeb(3);
    const [victim, ...rest] = [...pods.keys()];
    c.k(['exec', victim!, '--', 'touch', '/tmp/unready']);
    await waitPod(c, victim!, (p) => condition(p, 'Ready') === 'False', 15_000, 'not Ready');
    await eventually(() => {
      const slices = JSON.parse(c.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])).items;
      const ready = slices.flatMap((s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready).flatMap((e: any) => e.addresses));
      return ready.length === 2 && !ready.includes(pods.get(victim!));
    }, 15_000, 'endpoints without the unready pod');
    const answers = fromClient('http://web', 30);
    assert.ok(!answers.includes(victim!), `${victim} answered: ${answers.join(',')}`);
    assert.deepEqual([...counts(answers).keys()].sort(), rest.sort());
    // The pod itself still runs and answers on its own IP.
    assert.equal((await httpGet(`http://${pods.get(victim!)}/`)).trim(), victim);
    c.k(['exec', victim!, '--', 'rm', '/tmp/unready']);
    await waitWeb(3);
  });

  test('a NodePort Service answers on 127.0.0.1:<nodePort> from the host', async () => {
    const pods = await waitWeb(3);
    const port = Number(c.k(['get', 'svc', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    assert.ok(port >= 30000 && port <= 32767, String(port));
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await httpGet(`http://127.0.0.1:${port}/`)).trim());
    assert.deepEqual([...seen].sort(), [...pods.keys()].sort());
  });

  test('a LoadBalancer Service answers on its 127.x EXTERNAL-IP', async () => {
    const pods = await waitWeb(3);
    const ip = await eventually(() => c.k(['get', 'svc', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).trim(), 20_000, 'an ingress IP');
    assert.match(ip, /^127\.\d+\.\d+\.\d+$/);
    assert.match(c.k(['get', 'svc', 'web-lb', '--no-headers']), new RegExp(`^web-lb\\s+LoadBalancer\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+8080:\\d+/TCP`));
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await eventually(() => httpGet(`http://${ip}:8080/`), 10_000, `http://${ip}:8080/`)).trim());
    assert.deepEqual([...seen].sort(), [...pods.keys()].sort());
  });

  test('a headless Service resolves to the pod IPs (nslookup from a pod)', async () => {
    const pods = await waitWeb(3);
    const want = [...pods.values()].sort();
    const podNet = id.podCidr.split('.').slice(0, 3).join('.') + '.';
    await eventually(() => {
      const r = c.kubectl(['exec', 'client', '--', 'nslookup', 'web-headless.default.svc.cluster.local']);
      const ips = [...r.stdout.matchAll(/Address:\s*(\d+\.\d+\.\d+\.\d+)(?!:|#)\s*$/gm)].map((m) => m[1]!).filter((a) => a.startsWith(podNet)).sort();
      return JSON.stringify(ips) === JSON.stringify(want);
    }, 10_000, `nslookup web-headless to give ${want.join(',')}`);
    // A ClusterIP Service resolves to its ClusterIP instead.
    const svcIp = c.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.match(c.k(['exec', 'client', '--', 'nslookup', 'web.default.svc.cluster.local']), new RegExp(`Address:\\s*${svcIp.replace(/\./g, '\\.')}\\s*$`, 'm'));
  });

  test('a Go program in a pod lists pods through https://kubernetes.default.svc with the mounted token and CA', { skip: !haveGo && 'golang-go is not installed' }, async () => {
    await goReady;
    c.k(['apply', '-f', manifestFile(goPod)]);
    await waitPod(c, 'incluster', (p) => p.status?.phase === 'Running', 30_000, 'Running');
    const run = (args: string[]) => {
      const r = c.kubectl(['exec', 'incluster', '--', '/incluster', ...args]);
      try {
        return JSON.parse(r.stdout);
      } catch {
        throw new Error(`incluster ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      }
    };
    // RBAC: the default ServiceAccount may not list pods until a Role is bound to it.
    const refused = run([]);
    assert.equal(refused.status, 403, JSON.stringify(refused));
    assert.equal(refused.reason, 'Forbidden', JSON.stringify(refused));
    c.k(['apply', '-f', manifestFile(readPodsBinding)]);
    await eventually(() => run([]).status === 200, 10_000, 'the program to list pods once the Role is bound');
    const viaEnv = run([]);
    assert.equal(viaEnv.error, undefined, JSON.stringify(viaEnv));
    assert.equal(viaEnv.url, `https://${id.serviceCidr.replace(/0\/24$/, '1')}:443`);
    assert.equal(viaEnv.status, 200, JSON.stringify(viaEnv));
    assert.equal(viaEnv.namespace, 'default');
    for (const p of ['client', 'incluster']) assert.ok(viaEnv.pods.includes(p), JSON.stringify(viaEnv));
    const viaDns = run(['-server', 'https://kubernetes.default.svc']);
    assert.equal(viaDns.status, 200, JSON.stringify(viaDns));
    assert.deepEqual(viaDns.pods.sort(), viaEnv.pods.sort());
  });

  test('a wrong or forged token is refused with 401', { skip: !haveGo && 'golang-go is not installed' }, async () => {
    await goReady;
    await waitPod(c, 'incluster', (p) => p.status?.phase === 'Running', 30_000, 'Running');
    for (const mode of ['garbage', 'forged']) {
      const r = c.kubectl(['exec', 'incluster', '--', '/incluster', '-server', 'https://kubernetes.default.svc', '-token', mode]);
      const out = JSON.parse(r.stdout);
      assert.equal(out.status, 401, `${mode}: ${r.stdout}`);
      assert.equal(out.reason, 'Unauthorized', `${mode}: ${r.stdout}`);
    }
  });
});
