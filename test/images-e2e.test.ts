/**
 * End to end for images (issue 6), the examples/go-hello flow as a user runs it: on a
 * "developer" image store, `skiff image bootstrap go` and `skiff build -t
 * localhost:<registryPort>/go-hello examples/go-hello`; `skiff push` to the built-in registry
 * of a running `skiff up`; a 3-replica Deployment with imagePullPolicy Always, so the node
 * pulls the image from that registry; the Service answers "Hello, world!" from every replica.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { condition, httpGet, importBusybox, resetDataDir, skiffCliAsync, upIdentity, waitNodeReady, type UpIdentity } from './support/e2e.js';
import { rootOnly } from './support/root.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'go-hello');
const haveGo = existsSync('/usr/lib/go/bin/go');
const skip = rootOnly.skip || (!haveGo && 'golang-go is not installed');

let id: UpIdentity;
let dataDir: string;
/** The image store `skiff build` uses: another machine's, as far as the node is concerned. */
let devDir: string;
let c: TestCluster;
let registryPort: number;
let ref: string;
const timings: Record<string, number> = {};
let bootstrap: Promise<{ code: number; stdout: string; stderr: string; ms: number }> | undefined;

before(async () => {
  if (skip) return;
  id = upIdentity('ie');
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-img-e2e-'));
  devDir = mkdtempSync(join(tmpdir(), 'skiff-img-e2e-dev-'));
  await importBusybox(dataDir, { 'busybox:e2e': 'unused\n' });
  // The bootstrap (a copy of the host's Go toolchain as an image) runs while the cluster starts.
  bootstrap = skiffCliAsync(['image', 'bootstrap', 'go', '--data-dir', devDir], { timeoutMs: 180_000 });
  c = await startCluster({ command: 'up', dataDir, args: id.args });
  // Printed right after the "ready at" line startCluster waits for.
  registryPort = Number((await eventually(() => /image registry at 127\.0\.0\.1:(\d+)/.exec(c.output()) ?? undefined, 10_000, 'the image registry line'))![1]);
  ref = `localhost:${registryPort}/go-hello`;
  await waitNodeReady(c, id.nodeName);
  await eventually(() => c.kubectl(['get', 'sa', 'default']).code === 0, 20_000, 'default service account');
});

after(async () => {
  if (skip) return;
  if (Object.keys(timings).length) console.error(`images-e2e timings (ms): ${JSON.stringify(timings)}`);
  await bootstrap;
  if (c && (c.proc.exitCode !== null || c.proc.signalCode !== null)) console.error(`skiff up exited early (${c.proc.exitCode ?? c.proc.signalCode}):\n${c.output().slice(-4000)}`);
  await c?.destroy();
  if (dataDir) {
    const out = resetDataDir(dataDir);
    if (!/node reset done/.test(out)) console.error(`skiff reset: ${out}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (devDir) rmSync(devDir, { recursive: true, force: true });
});

describe('skiff up: build, push and deploy examples/go-hello', { skip, timeout: 290_000 }, () => {
  test('skiff image bootstrap go, skiff build and skiff push to the built-in registry', async () => {
    const b = await bootstrap!;
    timings.bootstrap = b.ms;
    assert.equal(b.code, 0, `bootstrap failed:\n${b.stderr}`);
    assert.match(b.stdout, /^skiff\.local\/golang:bootstrap [0-9a-f]{12} \d+MB/m);

    const built = await skiffCliAsync(['build', '-t', ref, '--progress', 'plain', '--data-dir', devDir, EXAMPLE], { timeoutMs: 240_000 });
    timings.build = built.ms;
    assert.equal(built.code, 0, `build failed:\n${built.stderr}`);
    assert.match(built.stderr, new RegExp(`built [0-9a-f]{12} \\(\\d+ steps, \\d+ cached\\).*localhost:${registryPort}/go-hello:latest`));

    const pushed = await skiffCliAsync(['push', ref, '--data-dir', devDir], { timeoutMs: 60_000 });
    timings.push = pushed.ms;
    assert.equal(pushed.code, 0, `push failed:\n${pushed.stderr}`);
    assert.match(pushed.stdout, /digest: sha256:[0-9a-f]{64} size: \d+/);

    // The registry serves it; the node's own store did not build it.
    const tags = JSON.parse(await httpGet(`http://127.0.0.1:${registryPort}/v2/go-hello/tags/list`));
    assert.deepEqual(tags.tags, ['latest']);
    const devIndex = readFileSync(join(devDir, 'images', 'index.json'), 'utf8');
    assert.ok(devIndex.includes('go-hello'));
  });

  test('a 3-replica Deployment pulls it from the registry and the Service answers Hello, world! from all three', async () => {
    const deployment = readFileSync(join(EXAMPLE, 'deployment.yaml'), 'utf8')
      .replace('image: localhost:5000/go-hello:latest', `image: ${ref}:latest\n          imagePullPolicy: Always`);
    assert.ok(deployment.includes(`image: ${ref}:latest`), 'the example deployment names localhost:5000/go-hello:latest');
    const t0 = Date.now();
    c.k(['apply', '-f', manifestFile(deployment), '-f', join(EXAMPLE, 'service.yaml')]);
    c.k(['rollout', 'status', 'deployment/go-hello', '--timeout=90s'], { timeoutMs: 100_000 });
    timings.rollout = Date.now() - t0;

    const pods = JSON.parse(c.k(['get', 'pods', '-l', 'app=go-hello', '-o', 'json'])).items;
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(condition(p, 'Ready'), 'True');
      const cs = p.status.containerStatuses[0];
      assert.equal(cs.image, `${ref}:latest`);
      assert.match(cs.imageID, new RegExp(`^localhost:${registryPort}/go-hello@sha256:[0-9a-f]{64}$`));
      assert.equal(await httpGet(`http://${p.status.podIP}:8080/`), 'Hello, world!\n');
    }
    // Every pod went through the registry pull path.
    const events = c.k(['get', 'events', '--field-selector', 'reason=Pulled', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.message}{"\\n"}{end}']);
    for (const p of pods) assert.match(events, new RegExp(`^${p.metadata.name} Successfully pulled image "${ref.replace(/\./g, '\\.')}:latest"`, 'm'), events);

    // The Service: its endpoints are the three pods, and it answers from the host and from a pod.
    const ips = pods.map((p: any) => p.status.podIP).sort();
    await eventually(() => {
      const slices = JSON.parse(c.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=go-hello', '-o', 'json'])).items;
      const ready = slices.flatMap((s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready).flatMap((e: any) => e.addresses)).sort();
      return JSON.stringify(ready) === JSON.stringify(ips);
    }, 20_000, 'go-hello endpoints = the 3 pods');
    const clusterIP = c.k(['get', 'svc', 'go-hello', '-o', 'jsonpath={.spec.clusterIP}']);
    for (let i = 0; i < 15; i++) assert.equal(await httpGet(`http://${clusterIP}/`), 'Hello, world!\n');
    // From a pod, by the Service's name (a finished pod's logs: `run -i` may attach after the first lines).
    c.k(['run', 'curl', '--image=busybox:e2e', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6; do wget -qO- http://go-hello; done']);
    await eventually(() => c.k(['get', 'pod', 'curl', '-o', 'jsonpath={.status.phase}']) === 'Succeeded', 30_000, 'the curl pod to succeed');
    assert.equal(c.k(['logs', 'curl']), 'Hello, world!\n'.repeat(6));
    c.k(['delete', 'pod', 'curl', '--wait=false']);
  });
});
