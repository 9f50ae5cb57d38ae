/**
 * Scale-out: two `skiff server`s share one etcd. Either serves reads and writes; only the
 * holder of the Leases runs the scheduler and controllers, and the other takes over when it dies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdServer } from '../src/store/testing/etcd-server.js';
import { eventually, startCluster, startSim, type SimProcess, type TestCluster } from './support/cluster.js';

let etcd: EtcdServer;
let dataDir: string;
const servers: TestCluster[] = [];
let sim: SimProcess | undefined;

before(async () => {
  etcd = await startEtcd();
  // Both servers use one data dir for their PKI, so one kubeconfig (CA and token) fits both.
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-ha-'));
  const args = ['--store', etcd.endpoint.replace(/^http:\/\//, 'etcd://'), '--leader-elect'];
  servers.push(await startCluster({ dataDir, args }));
  servers.push(await startCluster({ dataDir, args }));
});

after(async () => {
  await sim?.stop();
  for (const s of servers) await s.destroy();
  await etcd?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const on = (s: TestCluster, args: string[]) => s.k(['--server', s.url, ...args]);
const holder = (s: TestCluster) => on(s, ['-n', 'kube-system', 'get', 'lease', 'kube-controller-manager', '-o', 'jsonpath={.spec.holderIdentity}']);

test('two API servers on one etcd share state, and one leader runs the controllers', async () => {
  const [a, b] = servers;
  on(a, ['create', 'configmap', 'shared', '--from-literal=k=v']);
  assert.equal(on(b, ['get', 'cm', 'shared', '-o', 'jsonpath={.data.k}']), 'v');
  const leaderIndex = await eventually(() => {
    const i = servers.findIndex((s) => s.output().includes('started controllers'));
    return i >= 0 ? i + 1 : 0;
  }, 30_000, 'one server to win the lease and start the controllers') - 1;
  const leader = servers[leaderIndex];
  const survivor = servers[1 - leaderIndex];
  // The simulated nodes talk to the server that will survive.
  const simConfig = join(dataDir, 'sim-kubeconfig');
  writeFileSync(simConfig, readFileSync(survivor.kubeconfig, 'utf8').replace(/server: \S+/, `server: ${survivor.url}`));
  sim = await startSim(simConfig, ['--nodes', '2', '--prefix', 'ha', '--lease-interval', '1']);
  on(b, ['create', 'deployment', 'web', '--image=busybox:1', '--replicas=3']);
  on(a, ['rollout', 'status', 'deploy/web', '--timeout=60s']);
  const first = holder(a);
  assert.ok(first, 'a leader holds the controller-manager lease');
  assert.equal(holder(b), first);

  // Kill the leader; the survivor takes the Lease and keeps reconciling.
  await leader.stop('SIGKILL');
  await eventually(() => holder(survivor) !== first, 40_000, 'the survivor to take the lease');
  on(survivor, ['scale', 'deploy/web', '--replicas=5']);
  on(survivor, ['rollout', 'status', 'deploy/web', '--timeout=60s']);
  const pods = JSON.parse(on(survivor, ['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
  assert.equal(pods.filter((p: { status?: { phase?: string } }) => p.status?.phase === 'Running').length, 5);
});
