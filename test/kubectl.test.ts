/** End-to-end: the real kubectl 1.32 against `skiff server`. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { manifestFile, startCluster, type TestCluster } from './support/cluster.js';

let c: TestCluster;

before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.destroy();
});

const deployment = (name: string, image: string, replicas = 2) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: ${image}
        ports:
        - containerPort: 80
`;

describe('discovery and metadata', () => {
  test('version reports 1.32 and api-resources lists the core kinds', () => {
    const v = JSON.parse(c.k(['version', '-o', 'json']));
    assert.equal(v.serverVersion.minor, '32');
    const res = c.k(['api-resources', '--no-headers']);
    for (const r of ['pods', 'deployments', 'services', 'configmaps', 'horizontalpodautoscalers', 'leases', 'endpointslices', 'clusterroles']) {
      assert.match(res, new RegExp(`^${r}\\s`, 'm'), `api-resources lacks ${r}`);
    }
    assert.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/m);
  });

  test('a fresh cluster has the system namespaces and the kubernetes service', () => {
    const ns = c.k(['get', 'ns', '-o', 'name']).split('\n').filter(Boolean).sort();
    for (const n of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) assert.ok(ns.includes(`namespace/${n}`), ns.join(','));
    const svc = c.k(['get', 'svc', 'kubernetes', '--no-headers']);
    assert.match(svc, /^kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP/);
  });
});

describe('create, get, apply', () => {
  test('create generators (sent as protobuf) make the right objects', () => {
    c.k(['create', 'namespace', 'gen']);
    c.k(['-n', 'gen', 'create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3', '--port=80']);
    c.k(['-n', 'gen', 'create', 'configmap', 'cfg', '--from-literal=a=b']);
    c.k(['-n', 'gen', 'create', 'secret', 'generic', 'sec', '--from-literal=k=v']);
    c.k(['-n', 'gen', 'create', 'service', 'clusterip', 'svc', '--tcp=80:8080']);
    c.k(['-n', 'gen', 'create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi']);
    const d = JSON.parse(c.k(['-n', 'gen', 'get', 'deploy', 'web', '-o', 'json']));
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.25');
    assert.equal(d.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.metadata.generation, 1);
    assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(c.k(['-n', 'gen', 'get', 'secret', 'sec', '-o', 'jsonpath={.data.k}']), 'dg==');
    assert.equal(c.k(['-n', 'gen', 'get', 'cm', 'cfg', '-o', 'jsonpath={.data.a}']), 'b');
    const svc = JSON.parse(c.k(['-n', 'gen', 'get', 'svc', 'svc', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    assert.match(svc.spec.clusterIP, /^10\.43\./);
    const job = JSON.parse(c.k(['-n', 'gen', 'get', 'job', 'once', '-o', 'json']));
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.equal(job.spec.backoffLimit, 6);
  });

  test('apply reports created, unchanged, configured and keeps last-applied', () => {
    const f = manifestFile(deployment('applied', 'nginx:1'));
    assert.match(c.k(['apply', '-f', f]), /deployment.apps\/applied created/);
    assert.match(c.k(['apply', '-f', f]), /deployment.apps\/applied unchanged/);
    const f2 = manifestFile(deployment('applied', 'nginx:2', 4));
    assert.match(c.k(['apply', '-f', f2]), /deployment.apps\/applied configured/);
    const d = JSON.parse(c.k(['get', 'deploy', 'applied', '-o', 'json']));
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:2');
    assert.equal(d.metadata.generation, 2);
    assert.ok(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  });

  test('apply --server-side creates and then updates', () => {
    const f = manifestFile(deployment('ssa', 'nginx:1'));
    assert.match(c.k(['apply', '--server-side', '-f', f]), /deployment.apps\/ssa serverside-applied/);
    const f2 = manifestFile(deployment('ssa', 'nginx:3'));
    c.k(['apply', '--server-side', '-f', f2]);
    assert.equal(c.k(['get', 'deploy', 'ssa', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'nginx:3');
  });

  test('diff shows a pending change', () => {
    const f = manifestFile(deployment('applied', 'nginx:9', 4));
    const r = c.kubectl(['diff', '-f', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^-\s+- image: nginx:2$/m);
    assert.match(r.stdout, /^\+\s+- image: nginx:9$/m);
  });

  test('run creates a pod; get -o wide, yaml, name, jsonpath, custom-columns', () => {
    c.k(['run', 'solo', '--image=busybox', '--labels=tier=x', '--', 'sleep', '3600']);
    const wide = c.k(['get', 'pod', 'solo', '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/);
    assert.match(wide, /solo\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>/);
    assert.match(c.k(['get', 'pod', 'solo', '-o', 'yaml']), /restartPolicy: Always/);
    assert.equal(c.k(['get', 'pod', '-l', 'tier=x', '-o', 'name']).trim(), 'pod/solo');
    assert.equal(c.k(['get', 'pod', 'solo', '-o', 'jsonpath={.spec.containers[0].args}']), '["sleep","3600"]');
    assert.match(c.k(['get', 'pod', 'solo', '-o', 'custom-columns=N:.metadata.name,P:.status.phase']), /solo\s+Pending/);
  });

  test('selectors, -A and --sort-by', () => {
    c.k(['create', 'ns', 'sorting']);
    for (const n of ['c', 'a', 'b']) c.k(['-n', 'sorting', 'create', 'configmap', `cm-${n}`, `--from-literal=x=${n}`]);
    const names = c.k(['-n', 'sorting', 'get', 'cm', '--sort-by=.data.x', '-o', 'custom-columns=N:.metadata.name', '--no-headers']).trim().split('\n');
    assert.deepEqual(names.filter((x) => x.startsWith('cm-')), ['cm-a', 'cm-b', 'cm-c']);
    const all = c.k(['get', 'cm', '-A', '--field-selector', 'metadata.namespace=sorting', '--no-headers']);
    const rows = all.trim().split('\n').filter((r) => !/kube-root-ca\.crt/.test(r));
    assert.equal(rows.length, 3);
    for (const r of rows) assert.match(r, /^sorting\s+cm-[abc]\s+1\s+/);
  });
});

describe('changing objects', () => {
  test('label, annotate, patch (merge, strategic, json), set image, scale', () => {
    const f = manifestFile(deployment('edit', 'nginx:1'));
    c.k(['apply', '-f', f]);
    c.k(['label', 'deploy', 'edit', 'team=blue']);
    c.k(['annotate', 'deploy', 'edit', 'note=hello']);
    c.k(['patch', 'deploy', 'edit', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}']);
    c.k(['patch', 'deploy', 'edit', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}']);
    c.k(['patch', 'deploy', 'edit', '--type=json', '-p', '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]']);
    c.k(['set', 'image', 'deploy/edit', 'main=nginx:2']);
    assert.match(c.k(['scale', 'deploy', 'edit', '--replicas=5']), /deployment.apps\/edit scaled/);
    const d = JSON.parse(c.k(['get', 'deploy', 'edit', '-o', 'json']));
    assert.equal(d.metadata.labels.team, 'blue');
    assert.equal(d.metadata.annotations.note, 'hello');
    assert.equal(d.spec.minReadySeconds, 5);
    assert.deepEqual(d.spec.template.spec.containers.map((x: any) => `${x.name}=${x.image}`), ['main=nginx:2', 'side=busybox']);
    assert.equal(d.spec.revisionHistoryLimit, 3);
    assert.equal(d.spec.replicas, 5);
  });

  test('replace with a stale resourceVersion is a conflict with the upstream message', () => {
    c.k(['create', 'configmap', 'stale', '--from-literal=a=1']);
    const old = c.k(['get', 'cm', 'stale', '-o', 'yaml']);
    c.k(['patch', 'cm', 'stale', '--type=merge', '-p', '{"data":{"a":"2"}}']);
    const r = c.kubectl(['replace', '-f', '-'], { input: old });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again/);
  });

  test('invalid objects are refused with field paths', () => {
    const bad = deployment('bad', 'nginx').replace('replicas: 2', 'replicas: -1');
    const r = c.kubectl(['apply', '-f', manifestFile(bad)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The Deployment "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0/);
    const r2 = c.kubectl(['create', 'configmap', 'Bad_Name']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    const r3 = c.kubectl(['get', 'pods', 'nope']);
    assert.match(r3.stderr, /Error from server \(NotFound\): pods "nope" not found/);
  });
});

describe('hostile input (raw API through kubectl)', () => {
  test('dryRun=Maybe, a bad limit and a cluster-wide collection delete are refused and delete nothing', () => {
    c.k(['create', 'ns', 'hostile']);
    c.k(['-n', 'hostile', 'create', 'configmap', 'stays', '--from-literal=a=1']);
    const maybe = c.kubectl(['delete', '--raw', '/api/v1/namespaces/hostile/configmaps/stays?dryRun=Maybe']);
    assert.notEqual(maybe.code, 0);
    assert.match(maybe.stderr, /The DeleteOptions "" is invalid: dryRun: Unsupported value: \["Maybe"\]: supported values: "All"/);
    const limit = c.kubectl(['delete', '--raw', '/api/v1/namespaces/hostile/configmaps?limit=abc']);
    assert.notEqual(limit.code, 0);
    assert.match(limit.stderr, /strconv\.ParseInt: parsing "abc": invalid syntax/);
    const everywhere = c.kubectl(['delete', '--raw', '/api/v1/configmaps']);
    assert.notEqual(everywhere.code, 0);
    assert.match(everywhere.stderr, /the server does not allow this method on the requested resource/);
    assert.equal(c.k(['-n', 'hostile', 'get', 'cm', 'stays', '-o', 'jsonpath={.data.a}']), '1');
    assert.match(c.k(['get', 'ns', 'default', '-o', 'name']), /namespace\/default/);
  });

  test('replicas of 1e23, 2.5 and 2147483648 are refused and nothing is created', () => {
    for (const replicas of ['1e23', '2.5', '2147483648']) {
      // --raw sends the file as it is, so JSON, with the number written literally.
      const spec = { replicas: 0, selector: { matchLabels: { app: 'huge' } }, template: { metadata: { labels: { app: 'huge' } }, spec: { containers: [{ name: 'main', image: 'nginx' }] } } };
      const body = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'huge' }, spec }).replace('"replicas":0', `"replicas":${replicas}`);
      const r = c.kubectl(['-n', 'hostile', 'create', '--raw', '/apis/apps/v1/namespaces/hostile/deployments', '-f', manifestFile(body)]);
      assert.notEqual(r.code, 0, replicas);
      // Upstream's typed decoding refuses a number that is no int32 before validation runs.
      assert.match(r.stderr, /Error from server \(BadRequest\): Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number \S+ into Go struct field DeploymentSpec\.spec\.replicas of type int32/, replicas);
    }
    assert.equal(c.k(['-n', 'hostile', 'get', 'deploy,rs,pods', '-o', 'name']).trim(), '');
  });
});

describe('watching and deleting', () => {
  test('get -w streams changes', async () => {
    c.k(['create', 'configmap', 'watched', '--from-literal=v=0']);
    const proc = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'cm', 'watched', '-w', '-o', 'jsonpath={.data.v}{"\\n"}'], { env: { ...process.env, KUBECONFIG: c.kubeconfig } });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('0'), 10_000, () => out);
      c.k(['patch', 'cm', 'watched', '--type=merge', '-p', '{"data":{"v":"1"}}']);
      c.k(['patch', 'cm', 'watched', '--type=merge', '-p', '{"data":{"v":"2"}}']);
      await waitFor(() => /0\n1\n2\n/.test(out), 10_000, () => out);
    } finally {
      proc.kill();
    }
  });

  test('describe shows the object', () => {
    const out = c.k(['describe', 'deploy', 'applied']);
    assert.match(out, /Name:\s+applied/);
    assert.match(out, /Replicas:\s+4 desired/);
    assert.match(out, /StrategyType:\s+RollingUpdate/);
  });

  test('delete by name, -f, -l, --all; cascade orphan keeps finalizer semantics; wait --for=delete', () => {
    c.k(['create', 'ns', 'del']);
    for (const n of ['a', 'b', 'c', 'd']) c.k(['-n', 'del', 'create', 'configmap', n, `--from-literal=x=${n}`]);
    c.k(['-n', 'del', 'label', 'cm', 'c', 'gone=yes']);
    assert.match(c.k(['-n', 'del', 'delete', 'cm', 'a']), /configmap "a" deleted/);
    assert.match(c.k(['-n', 'del', 'delete', 'cm', '-l', 'gone=yes']), /configmap "c" deleted/);
    const f = manifestFile('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: del}\n');
    assert.match(c.k(['delete', '-f', f]), /configmap "b" deleted/);
    assert.match(c.k(['-n', 'del', 'delete', 'cm', '--all']), /configmap "d" deleted/);
    assert.doesNotMatch(c.k(['-n', 'del', 'get', 'cm', '-o', 'name']), /configmap\/[abcd]\n/);
    c.k(['apply', '-f', manifestFile(deployment('orphaned', 'nginx'))]);
    assert.match(c.k(['delete', 'deploy', 'orphaned', '--cascade=orphan']), /deleted/);
    c.k(['wait', '--for=delete', 'deploy/orphaned', '--timeout=20s']);
    c.k(['apply', '-f', manifestFile(deployment('fg', 'nginx'))]);
    assert.match(c.k(['delete', 'deploy', 'fg', '--cascade=foreground']), /deleted/);
  });
});

async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out; got: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
