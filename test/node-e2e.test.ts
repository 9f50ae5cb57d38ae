/**
 * End to end on a real node (issue 4): one `skiff up` running busybox pods under runc on its
 * CNI bridge, driven with the real kubectl. Pods are created up front so their timelines run
 * in parallel; each test then checks one behaviour. Needs root, runc, CNI plugins, nftables.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import {
  bareId, condition, getPod, httpGet, importBusybox, kubectlStream, portForward, resetDataDir, runcPid, upIdentity, waitNodeReady, waitPod,
  type KubectlStream, type UpIdentity,
} from './support/e2e.js';
import { canRunAsRoot as canRun, rootOnly } from './support/root.js';

const IMG = 'busybox:e2e';
const IMG2 = 'busybox:e2e2';
/** Crash-loop back-off for this cluster: 1 s doubling to 16 s (the default starts at 10 s). */
const ENV = { SKIFF_AGENT_BACKOFF_MS: '1000,16000' };

let id: UpIdentity;
let dataDir: string;
let hostDir: string;
let c: TestCluster;
let crashWatch: KubectlStream | undefined;

const container = (name: string, command: string, extra = '') => `      - name: ${name}
        image: ${IMG}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", ${JSON.stringify(command)}]${extra}`;

const pod = (name: string, spec: string, grace = 1) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {e2e: node}
spec:
  terminationGracePeriodSeconds: ${grace}
${spec}
---
`;

function manifests(): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  greeting: hello
  app.conf: |
    mode=e2e
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
type: Opaque
stringData:
  password: s3cret
  token: abc123
---
${pod('web', `  containers:
${container('httpd', 'exec httpd -f -p 80 -h /www', `
        ports: [{containerPort: 80, name: http}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1`)}`)}
${pod('ticker', `  containers:
${container('tick', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done')}`)}
${pod('crash', `  containers:
${container('crash', 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo run $n; exit 3', `
        volumeMounts: [{name: data, mountPath: /data}]`)}
  volumes: [{name: data, emptyDir: {}}]`)}
${pod('live', `  containers:
${container('live', 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 1000', `
        livenessProbe:
          exec: {command: [test, -f, /tmp/healthy]}
          periodSeconds: 1
          failureThreshold: 1`)}`)}
${pod('ready', `  containers:
${container('ready', 'exec sleep 1000', `
        readinessProbe:
          exec: {command: [test, -f, /tmp/ready]}
          periodSeconds: 1`)}`)}
${pod('oom', `  restartPolicy: Never
  containers:
${container('hog', 'head -c 300000000 /dev/zero | tail', `
        resources: {limits: {memory: 24Mi}}`)}`)}
${pod('cfg', `  containers:
${container('app', 'exec sleep 1000', `
        env:
        - {name: GREETING, valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}}
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}
        - {name: MSG, value: "$(GREETING) world"}
        envFrom:
        - {prefix: S_, secretRef: {name: app-secret}}
        volumeMounts:
        - {name: cfg, mountPath: /etc/app}
        - {name: sec, mountPath: /etc/secret, readOnly: true}`)}
  volumes:
  - {name: cfg, configMap: {name: app-config, items: [{key: app.conf, path: conf/app.conf}]}}
  - {name: sec, secret: {secretName: app-secret, defaultMode: 0400}}`)}
${pod('init', `  initContainers:
${container('first', 'sleep 1; echo first >> /work/order', `
        volumeMounts: [{name: work, mountPath: /work}]`)}
${container('second', 'test -f /work/order && echo second >> /work/order', `
        volumeMounts: [{name: work, mountPath: /work}]`)}
  containers:
${container('main', 'echo main >> /work/order; cat /work/order; exec sleep 1000', `
        volumeMounts: [{name: work, mountPath: /work}]`)}
  volumes: [{name: work, emptyDir: {}}]`)}
${pod('graceful', `  containers:
${container('trapper', "trap 'echo TERM > /host/graceful; sleep 2; echo done >> /host/graceful; exit 0' TERM; echo up > /host/graceful; while true; do sleep 0.2; done", `
        volumeMounts: [{name: host, mountPath: /host}]`)}
  volumes: [{name: host, hostPath: {path: ${JSON.stringify(hostDir)}, type: DirectoryOrCreate}}]`, 20)}
${pod('stubborn', `  containers:
${container('ignorer', "trap '' TERM; while true; do sleep 0.2; done")}`, 3)}
${pod('noimg', `  containers:
      - name: c
        # Nothing listens on port 1 of loopback: the pull fails at once and never leaves the host.
        image: 127.0.0.1:1/skiff-e2e/nope:1`)}
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll}
spec:
  replicas: 3
  selector: {matchLabels: {app: roll}}
  template:
    metadata: {labels: {app: roll}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
${container('httpd', 'exec httpd -f -p 80 -h /www', `
        readinessProbe:
          httpGet: {path: /, port: 80}
          periodSeconds: 1`)}
`;
}

before(async () => {
  if (!canRun) return;
  id = upIdentity('ne');
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-node-e2e-'));
  hostDir = mkdtempSync(join(tmpdir(), 'skiff-node-e2e-host-'));
  await importBusybox(dataDir, { [IMG]: 'v1\n', [IMG2]: 'v2\n' });
  c = await startCluster({ command: 'up', dataDir, args: id.args, env: ENV });
  await waitNodeReady(c, id.nodeName);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
  c.k(['apply', '-f', manifestFile(manifests())]);
  crashWatch = kubectlStream(c, ['get', 'pods', '--field-selector', 'metadata.name=crash', '-w', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}|{.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}{"\\n"}']);
});

after(async () => {
  if (!canRun) return;
  await crashWatch?.stop();
  if (c && (c.proc.exitCode !== null || c.proc.signalCode !== null)) console.error(`skiff up exited early (${c.proc.exitCode ?? c.proc.signalCode}):\n${c.output().slice(-4000)}`);
  await c?.destroy();
  if (dataDir) {
    const out = resetDataDir(dataDir);
    if (!/node reset done/.test(out)) console.error(`skiff reset: ${out}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (hostDir) rmSync(hostDir, { recursive: true, force: true });
});

const skip = rootOnly.skip;
const ready = (p: any) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';

describe('skiff up: pods on a real node', { skip, timeout: 170_000 }, () => {
  test('a busybox httpd pod reaches Ready and answers on its pod IP from the host', async () => {
    const p = await waitPod(c, 'web', ready, 30_000, 'Running and Ready');
    const ip: string = p.status.podIP;
    const prefix = id.podCidr.split('.').slice(0, 3).join('.') + '.';
    assert.ok(ip.startsWith(prefix), `${ip} in ${id.podCidr}`);
    assert.equal(await httpGet(`http://${ip}/`), 'v1\n');
    const cs = p.status.containerStatuses[0];
    assert.match(cs.containerID, /^runc:\/\/[0-9a-f]{64}$/);
    assert.equal(cs.ready, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(p.spec.nodeName, id.nodeName);
    const wide = c.k(['get', 'pod', 'web', '-o', 'wide', '--no-headers']);
    assert.match(wide, new RegExp(`^web\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+${id.nodeName}\\s`));
  });

  test('kubectl logs, logs -f, exec with exit codes and stdin, port-forward', async () => {
    await waitPod(c, 'ticker', (p) => p.status?.phase === 'Running', 30_000, 'Running');
    await eventually(() => /tick 2\n/.test(c.kubectl(['logs', 'ticker']).stdout), 10_000, 'ticker logs');
    assert.match(c.k(['logs', 'ticker', '--tail', '1']), /^tick \d+\n$/);

    // -f keeps streaming new lines.
    const follow = kubectlStream(c, ['logs', '-f', 'ticker']);
    try {
      const first = Number((await follow.waitFor(/tick (\d+)\n/, 10_000))[1]);
      await follow.waitFor(new RegExp(`tick ${first + 4}\\n`), 10_000);
      assert.equal(follow.proc.exitCode, null, 'logs -f is still following');
    } finally {
      await follow.stop();
    }

    // exec: output, exit code, stdin.
    await waitPod(c, 'web', ready, 30_000, 'Ready');
    assert.equal(c.k(['exec', 'web', '--', 'cat', '/www/index.html']), 'v1\n');
    const failed = c.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo oops >&2; exit 7']);
    assert.equal(failed.code, 7, failed.stderr);
    assert.match(failed.stderr, /oops/);
    assert.equal(c.k(['exec', '-i', 'web', '--', 'sh', '-c', 'wc -c'], { input: 'twelve bytes' }).trim(), '12');
    assert.equal(c.kubectl(['exec', 'web', '-c', 'nope', '--', 'true']).code, 1);

    // port-forward to a local port.
    const pf = await portForward(c, 'pod/web', 80);
    try {
      assert.equal(await httpGet(`http://127.0.0.1:${pf.port}/`, 5000), 'v1\n');
      assert.equal(await httpGet(`http://127.0.0.1:${pf.port}/`, 5000), 'v1\n');
    } finally {
      await pf.stream.stop();
    }
  });

  test('configMap and secret env and volumes hold the right data', async () => {
    await waitPod(c, 'cfg', (p) => p.status?.phase === 'Running', 30_000, 'Running');
    const sh = (cmd: string) => c.k(['exec', 'cfg', '--', 'sh', '-c', cmd]);
    assert.equal(sh('echo "$GREETING|$PASSWORD|$MSG|$S_password|$S_token"'), 'hello|s3cret|hello world|s3cret|abc123\n');
    assert.equal(sh('cat /etc/app/conf/app.conf'), 'mode=e2e\n');
    assert.equal(sh('ls /etc/app'), 'conf\n');
    assert.equal(sh('cat /etc/secret/password; echo; cat /etc/secret/token'), 's3cret\nabc123');
    assert.equal(sh('stat -L -c %a /etc/secret/password'), '400\n');
    assert.notEqual(c.kubectl(['exec', 'cfg', '--', 'touch', '/etc/secret/x']).code, 0, 'secret volume is read-only');
  });

  test('init containers run first, in order', async () => {
    const p = await waitPod(c, 'init', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    assert.equal(c.k(['logs', 'init']), 'first\nsecond\nmain\n');
    const inits = p.status.initContainerStatuses;
    assert.deepEqual(inits.map((s: any) => [s.name, s.state?.terminated?.reason, s.state?.terminated?.exitCode]), [['first', 'Completed', 0], ['second', 'Completed', 0]]);
    assert.equal(condition(p, 'Initialized'), 'True');
    const mainStart = Date.parse(p.status.containerStatuses[0].state.running.startedAt);
    assert.ok(mainStart >= Date.parse(inits[1].state.terminated.finishedAt) - 1000, 'main started after the init containers finished');
  });

  test('a readiness probe gates Ready', async () => {
    const p = await waitPod(c, 'ready', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    // The probe has run and failed (its Unhealthy event), so Ready=False is the probe's verdict.
    await eventually(() => /Readiness probe failed/.test(c.k(['get', 'events', '--field-selector', 'involvedObject.name=ready,reason=Unhealthy', '-o', 'jsonpath={.items[*].message}'])), 20_000, 'a failed readiness probe');
    const still = getPod(c, 'ready');
    assert.equal(condition(still, 'Ready'), 'False');
    assert.equal(still.status.containerStatuses[0].ready, false);
    assert.ok(p.status.containerStatuses[0].state.running);
    c.k(['exec', 'ready', '--', 'touch', '/tmp/ready']);
    await waitPod(c, 'ready', (x) => condition(x, 'Ready') === 'True', 10_000, 'Ready after the probe passes');
    c.k(['exec', 'ready', '--', 'rm', '/tmp/ready']);
    const back = await waitPod(c, 'ready', (x) => condition(x, 'Ready') === 'False', 10_000, 'not Ready after the probe fails again');
    assert.equal(back.status.containerStatuses[0].restartCount, 0, 'readiness failures do not restart');
  });

  test('a failing liveness probe restarts the container', async () => {
    const p = await waitPod(c, 'live', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 30_000, 'restarted by liveness');
    const cs = p.status.containerStatuses[0];
    assert.ok(cs.lastState?.terminated, JSON.stringify(cs));
    const events = c.k(['get', 'events', '--field-selector', 'involvedObject.name=live', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    assert.match(events, /Unhealthy: Liveness probe failed/);
    assert.match(events, /Killing: .*failed liveness probe/i);
  });

  test('a memory hog over its limit is OOMKilled', async () => {
    const p = await waitPod(c, 'oom', (x) => x.status?.phase === 'Failed', 40_000, 'Failed');
    const t = p.status.containerStatuses[0].state.terminated;
    assert.equal(t.reason, 'OOMKilled', JSON.stringify(t));
    assert.equal(t.exitCode, 137);
    assert.match(c.k(['get', 'pod', 'oom', '--no-headers']), /^oom\s+0\/1\s+OOMKilled\s/);
  });

  test('a crashing container goes into CrashLoopBackOff with a growing back-off; logs --previous', async () => {
    // The watch started before the pod: it saw every restart.
    await eventually(() => crashWatch!.lines.some((l) => /^4\|/.test(l.line)), 40_000, `restartCount 4; saw ${crashWatch!.text().slice(-800)}`);
    const restarts = new Map<number, number>();
    const delays = new Set<string>();
    for (const { t, line } of crashWatch!.lines) {
      const [n, reason, message] = line.split('|');
      if (n && !restarts.has(Number(n))) restarts.set(Number(n), t);
      if (reason === 'CrashLoopBackOff') {
        assert.match(message!, /^back-off \d+s restarting failed container=crash pod=crash_default\(/);
        delays.add(/back-off (\d+s)/.exec(message!)![1]!);
      }
    }
    assert.ok(delays.has('1s') && delays.has('2s') && delays.has('4s'), `back-off messages: ${[...delays].join(', ')}`);
    // The back-offs between restarts 1→4 are 1 s, 2 s and 4 s: at least 7 s in all, against ~3 s
    // if the back-off did not grow. A restart is seen when its status write arrives, which a busy
    // machine delays (never advances), so only the whole span is compared, with room for that.
    const gap = (a: number, b: number) => (restarts.get(b)! - restarts.get(a)!) / 1000;
    assert.ok(gap(1, 4) >= 5.5, `restart gaps ${gap(1, 2)} ${gap(2, 3)} ${gap(3, 4)} s`);

    const p = getPod(c, 'crash');
    const cs = p.status.containerStatuses[0];
    assert.equal(p.status.phase, 'Running');
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.match(c.k(['get', 'pod', 'crash', '--no-headers']), /^crash\s+0\/1\s+(CrashLoopBackOff|Error|Running)\s+\d+/);
    const events = c.k(['get', 'events', '--field-selector', 'involvedObject.name=crash', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    assert.match(events, /BackOff: Back-off restarting failed container crash in pod crash_default/);

    // --previous shows the instance before the latest one.
    await eventually(() => {
      const cur = /^run (\d+)\n$/.exec(c.k(['logs', 'crash']));
      const prev = /^run (\d+)\n$/.exec(c.k(['logs', 'crash', '--previous']));
      return cur && prev && Number(prev[1]) === Number(cur[1]) - 1;
    }, 10_000, 'logs --previous to show run N-1');
  });

  test('kubectl logs of a container that never started, or --previous with no previous instance, is BadRequest and exits 1', async () => {
    await waitPod(c, 'noimg', (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(x.status?.containerStatuses?.[0]?.state?.waiting?.reason), 30_000, 'ErrImagePull');
    const r = c.kubectl(['logs', 'noimg']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Error from server \(BadRequest\): container "c" in pod "noimg" is waiting to start: (trying and failing to pull image|image can't be pulled)\n$/);
    await waitPod(c, 'web', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    const prev = c.kubectl(['logs', 'web', '--previous']);
    assert.equal(prev.code, 1, prev.stdout + prev.stderr);
    assert.equal(prev.stderr, 'Error from server (BadRequest): previous terminated container "httpd" in pod "web" not found\n');
  });

  test('deletion honours the grace period: TERM is trapped, or SIGKILL after the grace period', async () => {
    await waitPod(c, 'graceful', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    await waitPod(c, 'stubborn', (x) => x.status?.phase === 'Running', 30_000, 'Running');
    await eventually(() => readFileSync(join(hostDir, 'graceful'), 'utf8') === 'up\n', 10_000, 'graceful is up');
    const t0 = Date.now();
    const del1 = kubectlStream(c, ['delete', 'pod', 'graceful', '--wait=true']);
    const del2 = kubectlStream(c, ['delete', 'pod', 'stubborn', '--wait=true']);
    const done = async (s: KubectlStream) => {
      await new Promise<void>((r) => (s.proc.exitCode !== null ? r() : s.proc.once('exit', () => r())));
      return Date.now() - t0;
    };
    const [t1, t2] = await Promise.all([done(del1), done(del2)]);
    // graceful: handler sleeps 2 s then exits 0, well within its 20 s.
    assert.equal(readFileSync(join(hostDir, 'graceful'), 'utf8'), 'TERM\ndone\n');
    assert.ok(t1 >= 1900 && t1 < 10_000, `graceful deletion took ${t1} ms`);
    // stubborn ignores TERM: killed once its 3 s are up.
    assert.ok(t2 >= 2900 && t2 < 12_000, `stubborn deletion took ${t2} ms`);
    assert.equal(c.kubectl(['get', 'pod', 'graceful']).code, 1);
  });

  test('a 3-replica Deployment rolls out a new image tag with kubectl set image', async () => {
    c.k(['rollout', 'status', 'deployment/roll', '--timeout=60s'], { timeoutMs: 70_000 });
    const before = JSON.parse(c.k(['get', 'pods', '-l', 'app=roll', '-o', 'json'])).items;
    assert.equal(before.length, 3);
    for (const p of before) assert.equal(await httpGet(`http://${p.status.podIP}/`), 'v1\n');
    c.k(['set', 'image', 'deployment/roll', `httpd=${IMG2}`]);
    c.k(['rollout', 'status', 'deployment/roll', '--timeout=90s'], { timeoutMs: 100_000 });
    const pods = await eventually(() => {
      const items = JSON.parse(c.k(['get', 'pods', '-l', 'app=roll', '-o', 'json'])).items;
      return items.length === 3 && items.every((p: any) => !p.metadata.deletionTimestamp && ready(p)) ? items : undefined;
    }, 30_000, 'exactly 3 new pods');
    for (const p of pods) {
      assert.equal(p.spec.containers[0].image, IMG2);
      assert.equal(await httpGet(`http://${p.status.podIP}/`), 'v2\n');
      assert.ok(!before.some((b: any) => b.metadata.uid === p.metadata.uid), 'a new pod');
    }
    const rs = JSON.parse(c.k(['get', 'rs', '-l', 'app=roll', '-o', 'json'])).items;
    assert.equal(rs.length, 2);
    assert.deepEqual(rs.map((r: any) => r.status.replicas).sort(), [0, 3]);
    assert.match(c.k(['rollout', 'history', 'deployment/roll']), /^2\s/m);
  });

  test('SIGKILL of skiff up and a restart on the same data dir leave running containers untouched', async () => {
    // Keep only pods that run steadily; crash loops and probe restarts would muddle the check.
    c.k(['delete', 'pod', 'crash', 'live', '--wait=false']);
    await eventually(() => c.kubectl(['get', 'pod', 'crash']).code === 1 && c.kubectl(['get', 'pod', 'live']).code === 1, 20_000, 'crash and live gone');
    const snapshot = () => {
      const items = JSON.parse(c.k(['get', 'pods', '-o', 'json'])).items.filter((p: any) => p.status?.phase === 'Running');
      return new Map<string, { id: string; restarts: number; ip: string }>(items.map((p: any) => [p.metadata.name, { id: bareId(p.status.containerStatuses[0].containerID), restarts: p.status.containerStatuses[0].restartCount, ip: p.status.podIP }]));
    };
    const before = snapshot();
    assert.ok(before.size >= 6, [...before.keys()].join(','));
    const pids = new Map([...before].map(([n, s]) => [n, runcPid(dataDir, s.id)]));
    for (const [n, pid] of pids) assert.ok(pid, `pid of ${n}`);

    await c.stop('SIGKILL');
    const port = c.port;
    // Pods keep serving while skiff is down.
    assert.equal(await httpGet(`http://${before.get('web')!.ip}/`), 'v1\n');
    const old = c;
    c = await startCluster({ command: 'up', dataDir, port, args: id.args, env: ENV });
    await old.destroy();
    await waitNodeReady(c, id.nodeName);
    // Give the agent time to relist, sync every pod and write status.
    await new Promise((r) => setTimeout(r, 4000));
    await waitPod(c, 'web', ready, 20_000, 'Ready after the restart');
    const now = snapshot();
    for (const [name, s] of before) {
      const n = now.get(name);
      assert.ok(n, `${name} still running`);
      assert.equal(n.id, s.id, `${name}: same container`);
      assert.equal(n.restarts, s.restarts, `${name}: restartCount unchanged`);
      assert.equal(n.ip, s.ip, `${name}: same IP`);
      assert.equal(runcPid(dataDir, n.id), pids.get(name), `${name}: same pid`);
      assert.ok(existsSync(`/proc/${pids.get(name)}`), `${name}: process alive`);
    }
    assert.equal(before.get('web')!.restarts, 0);
    assert.equal(await httpGet(`http://${now.get('web')!.ip}/`), 'v1\n');
    assert.equal(c.k(['exec', 'cfg', '--', 'sh', '-c', 'echo $GREETING']), 'hello\n');
  });

  test('a second skiff up with another name and pod CIDR runs pods at the same time', async () => {
    // Same service CIDR on purpose (as two `skiff up` with the default one): each cluster's pods
    // must still get their own cluster's ClusterIPs, DNS at <cidr>.10 included.
    const id2 = upIdentity('nf');
    id2.args[id2.args.indexOf('--service-cidr') + 1] = id.serviceCidr;
    const dir2 = mkdtempSync(join(tmpdir(), 'skiff-node-e2e-2-'));
    let c2: TestCluster | undefined;
    try {
      await importBusybox(dir2, { [IMG]: 'other cluster\n' });
      c2 = await startCluster({ command: 'up', dataDir: dir2, args: id2.args, env: ENV });
      assert.notEqual(c2.port, c.port);
      await waitNodeReady(c2, id2.nodeName);
      await eventually(() => c2!.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
      c2.k(['apply', '-f', manifestFile(pod('web', `  containers:\n${container('httpd', 'exec httpd -f -p 80 -h /www')}`).replace(/---\n$/, ''))]);
      const p2 = await waitPod(c2, 'web', (x) => x.status?.phase === 'Running' && x.status.podIP, 30_000, 'Running in cluster 2');
      assert.ok(p2.status.podIP.startsWith(id2.podCidr.split('.').slice(0, 3).join('.') + '.'), p2.status.podIP);
      await eventually(async () => (await httpGet(`http://${p2.status.podIP}/`)) === 'other cluster\n', 10_000, 'cluster 2 pod answers');
      // Cluster 1 is unaffected.
      const p1 = getPod(c, 'web');
      assert.equal(await httpGet(`http://${p1.status.podIP}/`), 'v1\n');
      assert.equal(c.kubectl(['get', 'node', id2.nodeName]).code, 1, 'cluster 1 does not see node 2');
      assert.deepEqual(JSON.parse(c2.k(['get', 'pods', '-o', 'json'])).items.map((x: any) => x.metadata.name), ['web']);
      // DNS through the shared DNS ClusterIP answers from each pod's own cluster.
      c.k(['create', 'service', 'clusterip', 'only-one', '--tcp=80']);
      c2.k(['create', 'service', 'clusterip', 'only-two', '--tcp=80']);
      const lookup = (k: TestCluster, pod: string, name: string) => k.kubectl(['exec', pod, '--', 'nslookup', `${name}.default.svc.cluster.local`]);
      for (let i = 0; i < 3; i++) {
        assert.equal(lookup(c, 'cfg', 'only-one').code, 0, 'cluster 1 resolves its service');
        assert.match(lookup(c, 'cfg', 'only-two').stdout + lookup(c, 'cfg', 'only-two').stderr, /NXDOMAIN/, 'cluster 1 does not see cluster 2');
        assert.equal(lookup(c2, 'web', 'only-two').code, 0, 'cluster 2 resolves its service');
        assert.match(lookup(c2, 'web', 'only-one').stdout + lookup(c2, 'web', 'only-one').stderr, /NXDOMAIN/, 'cluster 2 does not see cluster 1');
      }
    } finally {
      await c2?.destroy();
      resetDataDir(dir2);
      rmSync(dir2, { recursive: true, force: true });
    }
    // Resetting cluster 2 left cluster 1 alone.
    assert.equal(await httpGet(`http://${getPod(c, 'web').status.podIP}/`), 'v1\n');
  });
});
