/**
 * End-to-end: container hardening on a real node — an API server in process, the agent with runc
 * on a CNI bridge, busybox pods. What a default pod may not do (capabilities beyond Docker's set,
 * user namespaces, /proc/kcore, /proc/sys writes), what a privileged pod gets, securityContext
 * users and refusals, host namespaces and sysctls — all read from inside the containers.
 */
import { issueNodeServingCert } from '../apiserver/pki.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiServer } from '../apiserver/server.js';
import { clientFromKubeconfig } from '../client/rest.js';
import { PODS } from '../client/resources.js';
import type { Client } from '../client/types.js';
import { ImageStore } from '../image/store.js';
import { writeBusyboxRootfs } from '../image/bootstrap-rootfs.js';
import { runSync } from '../util/exec.js';
import { Agent } from './agent.js';
import { resetNode } from './reset.js';
import { canRunAsRoot, rootOnly } from '../../test/support/root.js';

const suffix = randomBytes(3).toString('hex');
const NODE = `node-${suffix}`;
const prefix = `sks${suffix}`;
const bridge = `sksb${suffix}`;
// 10.251.0.0/16: outside the ranges the other e2e files draw from.
const podCidr = `10.251.${randomInt(0, 256)}.0/24`;
let dir: string;
let api: ApiServer;
let client: Client;
let agent: Agent;

before(async () => {
  if (!canRunAsRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'skiff-security-e2e-'));
  api = await ApiServer.start({ dataDir: join(dir, 'api'), port: 0 });
  client = clientFromKubeconfig(api.kubeconfigPath);
  const images = ImageStore.open(join(dir, 'node'));
  await writeBusyboxRootfs(join(dir, 'busybox.tar'));
  await images.importRootfs(join(dir, 'busybox.tar'), 'busybox', { Cmd: ['sh'] });
  // A Localhost seccomp profile that forbids mkdir, under the agent's seccomp dir.
  mkdirSync(join(dir, 'node', 'seccomp', 'profiles'), { recursive: true });
  writeFileSync(join(dir, 'node', 'seccomp', 'profiles', 'no-mkdir.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
  const serving = await issueNodeServingCert(api.pki, NODE, ['127.0.0.1']);
  agent = await Agent.start({
    client, nodeName: NODE, dataDir: join(dir, 'node'), podCidr, bridge, namePrefix: prefix, serveHost: '127.0.0.1', servePort: 0,
    tls: { clientCaPem: api.pki.caCertPem, serving }, backoff: { initialMs: 1000, maxMs: 4000 }, relistMs: 300, log: () => {},
  });
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

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>>): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, ...spec, containers: spec.containers ?? [] } as NonNullable<Pod['spec']>,
  };
}

/** A pod with one busybox container that sleeps, with the given container securityContext. */
function sleeper(name: string, sc: NonNullable<Pod['spec']>['containers'][number]['securityContext'] = {}, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return pod(name, { ...spec, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], securityContext: sc, volumeMounts: spec.volumes?.map((v) => ({ name: v.name, mountPath: `/${v.name}` })) }] });
}

async function waitFor(name: string, pred: (p: Pod) => boolean, timeoutMs = 40_000): Promise<Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: Pod | undefined;
  while (Date.now() < deadline) {
    last = await client.get<Pod>(PODS, 'default', name).catch(() => undefined);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pod ${name} did not reach the expected state; last status: ${JSON.stringify(last?.status, null, 1)}`);
}

const running = (p: Pod) => !!p.status?.containerStatuses?.[0]?.state?.running;

/** Runs `cmd` with sh in the pod's container; the exit code and stdout+stderr. */
async function sh(p: Pod, cmd: string): Promise<{ code: number; out: string }> {
  const id = p.status!.containerStatuses![0]!.containerID!.slice('runc://'.length);
  const r = await agent.runtime.execSync(id, ['sh', '-c', cmd], 10);
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

const status = async (p: Pod, field: string) => (await sh(p, `grep '^${field}:' /proc/1/status`)).out.split(':')[1]!.trim();

/** What this node can grant: the test process's effective ∩ bounding set (the agent's is the same). */
function hostCapMask(): string {
  const st = readFileSync('/proc/self/status', 'utf8');
  const f = (k: string) => BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(st)![1]}`);
  return (f('CapEff') & f('CapBnd')).toString(16).padStart(16, '0');
}

test('container hardening: default pods, privileged pods, securityContext, host namespaces, sysctls', rootOnly, async () => {
  const pods = [
    sleeper('dflt'),
    sleeper('unconfined', { seccompProfile: { type: 'Unconfined' } }),
    sleeper('localhost', { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/no-mkdir.json' } }),
    sleeper('missing-profile', { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/nope.json' } }),
    sleeper('priv', { privileged: true }),
    sleeper('caps', { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } }),
    sleeper('user', { runAsUser: 1000 }, { securityContext: { runAsUser: 5, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000 }, volumes: [{ name: 'data', emptyDir: {} }] }),
    sleeper('ro', { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }),
    sleeper('nonroot', { runAsNonRoot: true }),
    sleeper('nonroot-ok', { runAsNonRoot: true, runAsUser: 1000 }),
    sleeper('hostpid', {}, { hostPID: true }),
    sleeper('hostipc', {}, { hostIPC: true }),
    sleeper('hostnet', {}, { hostNetwork: true }),
    sleeper('sysctl', {}, { securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }, { name: 'kernel.shm_rmid_forced', value: '1' }] } }),
    sleeper('unsafe-sysctl', {}, { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] } }),
  ];
  for (const p of pods) await client.create(PODS, 'default', p);

  // A default pod: Docker's capabilities, the RuntimeDefault filter, masked and read-only /proc.
  const dflt = await waitFor('dflt', running);
  assert.equal(await status(dflt, 'CapEff'), '00000000a80425fb');
  assert.equal(await status(dflt, 'CapBnd'), '00000000a80425fb');
  assert.equal(await status(dflt, 'CapPrm'), '00000000a80425fb');
  assert.equal(await status(dflt, 'CapInh'), '0000000000000000');
  assert.equal(await status(dflt, 'Seccomp'), '2');
  assert.equal(await status(dflt, 'NoNewPrivs'), '0');
  // /proc/kcore when the kernel has it, else /proc/timer_list (both masked by a /dev/null bind).
  const masked = ['/proc/kcore', '/proc/timer_list'].find((p) => existsSync(p))!;
  assert.deepEqual(await sh(dflt, `wc -c < ${masked}`), { code: 0, out: '0\n' });
  assert.deepEqual(await sh(dflt, 'ls /sys/firmware | wc -l'), { code: 0, out: '0\n' });
  const write = 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start > /tmp/v && cat /tmp/v > /proc/sys/net/ipv4/ip_unprivileged_port_start';
  const w = await sh(dflt, write);
  assert.notEqual(w.code, 0);
  assert.match(w.out, /Read-only file system/);
  const u = await sh(dflt, 'busybox unshare -U -r true');
  assert.notEqual(u.code, 0, 'a default pod must not create a user namespace');
  assert.match(u.out, /Operation not permitted/);
  assert.notEqual((await sh(dflt, `test -d /proc/${process.pid}`)).code, 0, 'a pod has its own PID namespace');

  // Unconfined: the same pod without the filter can unshare (so the filter is what stops it).
  const unconf = await waitFor('unconfined', running);
  assert.equal(await status(unconf, 'Seccomp'), '0');
  assert.deepEqual(await sh(unconf, 'busybox unshare -U -r true'), { code: 0, out: '' });

  // Localhost: the node's profile file applies; a missing one is a CreateContainerError naming it.
  const local = await waitFor('localhost', running);
  assert.equal(await status(local, 'Seccomp'), '2');
  assert.match((await sh(local, 'mkdir /tmp/x')).out, /Operation not permitted/);
  const missing = await waitFor('missing-profile', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError');
  assert.match(missing.status!.containerStatuses![0]!.state!.waiting!.message!, /cannot load seccomp profile ".*profiles\/nope\.json"/);

  // Privileged: runs, with every capability the node has, no filter, no masks, host devices, writable /proc/sys.
  const priv = await waitFor('priv', running);
  assert.equal(priv.status!.containerStatuses![0]!.restartCount, 0);
  assert.equal(await status(priv, 'CapEff'), hostCapMask());
  assert.equal(await status(priv, 'CapBnd'), hostCapMask());
  assert.equal(await status(priv, 'Seccomp'), '0');
  assert.deepEqual(await sh(priv, write), { code: 0, out: '' });
  // /sys is writable only for the privileged container (mount options of the sysfs mount).
  const sysOpts = async (p: Pod) => (await sh(p, "grep ' /sys ' /proc/self/mountinfo")).out.split(' ')[5]!.split(',')[0];
  assert.equal(await sysOpts(priv), 'rw');
  assert.equal(await sysOpts(dflt), 'ro');
  assert.equal((await sh(priv, `grep -c ' ${masked} ' /proc/self/mountinfo`)).out, '0\n');
  assert.equal((await sh(dflt, `grep -c ' ${masked} ' /proc/self/mountinfo`)).out, '1\n');
  const hostDev = readdirSync('/dev').find((n) => !['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'console', 'pts', 'shm', 'mqueue', 'fd'].includes(n) && (lstatSync(`/dev/${n}`).isCharacterDevice() || lstatSync(`/dev/${n}`).isBlockDevice()));
  assert.ok(hostDev, 'the host has a device beyond the standard ones');
  assert.equal((await sh(priv, `test -e /dev/${hostDev} && echo yes`)).out, 'yes\n');
  assert.notEqual((await sh(dflt, `test -e /dev/${hostDev}`)).code, 0);

  // capabilities drop ALL + add NET_BIND_SERVICE.
  assert.equal(await status(await waitFor('caps', running), 'CapEff'), '0000000000000400');

  // Users: container runAsUser over the pod's; runAsGroup, supplementalGroups and fsGroup; fsGroup owns the emptyDir.
  const user = await waitFor('user', running);
  assert.equal((await sh(user, 'id -u')).out, '1000\n');
  assert.equal((await sh(user, 'id -g')).out, '3000\n');
  assert.deepEqual((await sh(user, 'id -G')).out.trim().split(' ').sort(), ['2000', '3000', '4000']);
  assert.deepEqual(await sh(user, 'touch /data/f && stat -c %g /data/f'), { code: 0, out: '2000\n' });

  // readOnlyRootFilesystem and allowPrivilegeEscalation: false.
  const ro = await waitFor('ro', running);
  assert.match((await sh(ro, 'touch /x')).out, /Read-only file system/);
  assert.equal(await status(ro, 'NoNewPrivs'), '1');

  // runAsNonRoot against busybox (USER root): refused with the kubelet's message; a runAsUser satisfies it.
  const nonroot = await waitFor('nonroot', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.match(nonroot.status!.containerStatuses![0]!.state!.waiting!.message!, /^container has runAsNonRoot and image will run as root \(pod: "nonroot_default\(.+\)", container: c\)$/);
  assert.equal((await sh(await waitFor('nonroot-ok', running), 'id -u')).out, '1000\n');

  // hostPID sees the node's processes (this test's own); hostIPC and hostNetwork share the node's namespaces.
  const hostpid = await waitFor('hostpid', running);
  assert.equal((await sh(hostpid, `cat /proc/${process.pid}/comm`)).out, readFileSync(`/proc/${process.pid}/comm`, 'utf8'));
  assert.equal((await sh(hostpid, 'cat /proc/1/comm')).out, readFileSync('/proc/1/comm', 'utf8'));
  const nsOf = async (p: Pod, ns: string) => (await sh(p, `readlink /proc/self/ns/${ns}`)).out.trim();
  const hostipc = await waitFor('hostipc', running);
  assert.equal(await nsOf(hostipc, 'ipc'), readlinkSync('/proc/self/ns/ipc'));
  assert.notEqual(await nsOf(dflt, 'ipc'), readlinkSync('/proc/self/ns/ipc'));
  assert.notEqual(await nsOf(hostipc, 'pid'), readlinkSync('/proc/self/ns/pid'));
  const hostnet = await waitFor('hostnet', running);
  assert.equal(await nsOf(hostnet, 'net'), readlinkSync('/proc/self/ns/net'));
  assert.notEqual(await nsOf(dflt, 'net'), readlinkSync('/proc/self/ns/net'));

  // Safe sysctls are set in the pod's namespaces; an unsafe one fails the pod (SysctlForbidden).
  const sysctl = await waitFor('sysctl', running);
  assert.equal((await sh(sysctl, 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced')).out, '80\n1\n');
  const unsafe = await waitFor('unsafe-sysctl', (p) => p.status?.phase === 'Failed');
  assert.equal(unsafe.status!.reason, 'SysctlForbidden');
  assert.equal(unsafe.status!.message, 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted');
});
