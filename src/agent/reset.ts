/**
 * `skiff reset`: removes everything a node agent made for one data dir — containers (runc
 * state), mounts under the data dir, network namespaces and the bridge named by its prefix,
 * CNI IPAM state, nftables tables named by the prefix, host-gw routes to other nodes — and
 * the pod/runtime directories.
 * Images stay (they are data, not state). Safe to run twice and after a crash.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniNetwork } from '../network/cni.js';
import { removeRecordedHostRoutes } from '../network/host-gw.js';
import { RuncRuntime } from '../runtime/runc.js';
import { runSync } from '../util/exec.js';
import { mountsUnder } from './volumes.js';

/** What an agent records about its naming (`<dataDir>/agent.json`), so reset finds it again. */
export interface AgentIdentity {
  namePrefix: string;
  bridge: string;
  network: string;
  podCidr: string;
  nodeName: string;
}

export function writeIdentity(dataDir: string, id: AgentIdentity): void {
  writeFileSync(join(dataDir, 'agent.json'), JSON.stringify(id, null, 1));
}

export function readIdentity(dataDir: string): AgentIdentity | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as AgentIdentity;
  } catch {
    return undefined;
  }
}

export interface ResetOptions {
  dataDir: string;
  /** Defaults come from `<dataDir>/agent.json`, else `skiff` / `skiff0`. */
  namePrefix?: string;
  bridge?: string;
  log?: (line: string) => void;
}

/** Runs a host command to completion; reset carries on whatever it answers. */
function run(cmd: string, args: string[]): { code: number; out: string } {
  const r = runSync(cmd, args);
  return { code: r.code, out: r.stdout.toString() };
}

/** Removes every trace of the node agent of `dataDir` from the host. */
export async function resetNode(o: ResetOptions): Promise<void> {
  const log = o.log ?? ((l: string) => console.log(l));
  const idn = readIdentity(o.dataDir);
  const prefix = o.namePrefix ?? idn?.namePrefix ?? 'skiff';
  const bridge = o.bridge ?? idn?.bridge ?? 'skiff0';
  const network = idn?.network ?? `${prefix}-pods`;
  const cni = new CniNetwork({ name: network, bridge, subnet: idn?.podCidr ?? '10.42.0.0/24', dataDir: join(o.dataDir, 'cni') });
  if (existsSync(join(o.dataDir, 'runtime'))) {
    const rt = new RuncRuntime({ dataDir: o.dataDir, cni, namePrefix: prefix });
    const sandboxes = await rt.listPodSandboxes();
    const containers = await rt.listContainers();
    log(`removing ${containers.length} container(s) and ${sandboxes.length} pod sandbox(es)`);
    for (const s of sandboxes) await rt.removePodSandbox(s.id).catch((e) => log(`  sandbox ${s.id.slice(0, 12)}: ${(e as Error).message}`));
    for (const c of await rt.listContainers()) await rt.removeContainer(c.id).catch((e) => log(`  container ${c.id.slice(0, 12)}: ${(e as Error).message}`));
    // Anything runc still knows under this data dir's root.
    const list = run('runc', ['--root', rt.runcRoot, 'list', '-q']);
    for (const id of list.out.split('\n').filter(Boolean)) run('runc', ['--root', rt.runcRoot, 'delete', '-f', id]);
  }
  const mounts = mountsUnder(o.dataDir);
  if (mounts.length) log(`unmounting ${mounts.length} mount(s) under ${o.dataDir}`);
  for (const m of mounts) {
    if (run('umount', [m]).code !== 0) run('umount', ['-l', m]);
  }
  const netns = run('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${prefix}-`));
  if (netns.length) log(`deleting ${netns.length} network namespace(s)`);
  for (const n of netns) run('ip', ['netns', 'del', n]);
  await removeRecordedHostRoutes(o.dataDir, (m) => log(`host-gw: ${m}`));
  if (run('ip', ['link', 'show', bridge]).code === 0) {
    log(`deleting bridge ${bridge}`);
    run('ip', ['link', 'del', bridge]);
  }
  const tables = run('nft', ['list', 'tables']).out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0] === 'table' && f[2]?.startsWith(prefix));
  for (const t of tables) {
    log(`deleting nftables table ${t[1]} ${t[2]}`);
    run('nft', ['delete', 'table', t[1]!, t[2]!]);
  }
  for (const d of ['cni', 'pods', 'runtime', 'runc']) rmSync(join(o.dataDir, d), { recursive: true, force: true });
  log('node reset done');
}
