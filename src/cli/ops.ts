/**
 * Operator verbs: `skiff status` (is it running, where, nodes, pods, store, registry, Docker
 * socket, dashboard), `skiff down` (stop the all-in-one and its containers, keep all state),
 * `skiff why TARGET` (why.ts) and `skiff completion bash|zsh`.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { clientFromKubeconfig } from '../client/rest.js';
import { NODES, PODS } from '../client/resources.js';
import { resolveDataDir, resolveKubeconfig } from './data-dir.js';
import { dashboardUrl, dockerSocketPath, processAlive, readRunInfo, runningCluster, stopPodContainers, CONFIG_FILE } from './lifecycle.js';
import { completionScript } from './completion.js';

const DATA_DIR_HELP = 'data dir of the cluster (default: $SKIFF_DATA_DIR, the current kubeconfig context\'s, else the default)';

function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i ? n.toFixed(1) : n}${units[i]}`;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function ago(iso: string | undefined): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
}

/** `skiff status`: prints what runs and where; exit code 0 running, 3 not running (as `systemctl status`). */
async function status(o: { dataDir?: string; kubeconfig?: string }): Promise<number> {
  const dd = resolveDataDir(o.dataDir);
  const run = readRunInfo(dd.dir);
  const alive = run && processAlive(run.pid) ? run : undefined;
  const kubeconfig = o.kubeconfig ?? alive?.kubeconfig ?? resolveKubeconfig({ dataDir: o.dataDir });
  const row = (k: string, v: string) => console.log(`${k.padEnd(13)}${v}`);
  console.log(alive ? `skiff is running (pid ${alive.pid}, \`skiff ${alive.command}\`, up ${ago(alive.startedAt)})` : `skiff is not running on ${dd.dir}${run ? ` (last run pid ${run.pid} is gone)` : ''}`);
  row('Data dir:', `${dd.dir} (${dd.from})`);
  let reachable = false;
  if (existsSync(kubeconfig)) {
    try {
      const client = clientFromKubeconfig(kubeconfig);
      const { loadKubeconfig } = await import('../client/rest.js');
      const server = loadKubeconfig(kubeconfig).server;
      const [nodes, pods] = await Promise.race([
        Promise.all([client.list<Node>(NODES, undefined), client.list<Pod>(PODS, undefined)]),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 5 s')), 5000).unref()),
      ]);
      reachable = true;
      row('API server:', `${server} (kubeconfig ${kubeconfig})`);
      const ready = nodes.items.filter((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True').length;
      row('Nodes:', `${nodes.items.length} (${ready} Ready${nodes.items.length - ready ? `, ${nodes.items.length - ready} not Ready` : ''})`);
      const perNode = new Map<string, number>();
      for (const p of pods.items) if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
      const shown = nodes.items.slice(0, 20);
      for (const n of shown) {
        const r = n.status?.conditions?.find((c) => c.type === 'Ready');
        console.log(`  ${n.metadata?.name}  ${r?.status === 'True' ? 'Ready' : `NotReady${r?.reason ? ` (${r.reason})` : ''}`}  ${n.spec?.podCIDR ?? ''}  ${perNode.get(n.metadata!.name!) ?? 0} pods`.replace(/ {3,}/g, '  '));
      }
      if (nodes.items.length > shown.length) console.log(`  … and ${nodes.items.length - shown.length} more`);
      const phases = new Map<string, number>();
      for (const p of pods.items) {
        const ph = p.metadata?.deletionTimestamp ? 'Terminating' : p.status?.phase ?? 'Pending';
        phases.set(ph, (phases.get(ph) ?? 0) + 1);
      }
      row('Pods:', `${pods.items.length}${phases.size ? ` (${[...phases].map(([k, v]) => `${v} ${k}`).join(', ')})` : ''}`);
      row('Dashboard:', dashboardUrl(server));
    } catch (err) {
      row('API server:', `not reachable with ${kubeconfig}: ${(err as Error).message}`);
    }
  } else row('API server:', `no kubeconfig at ${kubeconfig}`);
  const store = join(dd.dir, 'state.db');
  if (existsSync(store)) row('Store:', `${store} ${humanBytes(fileSize(store) + fileSize(`${store}-wal`) + fileSize(`${store}-shm`))}`);
  else if (existsSync(join(dd.dir, CONFIG_FILE))) row('Store:', 'not in the data dir (see --store in config.json)');
  if (existsSync(join(dd.dir, 'images', 'index.json'))) {
    const { ImageStore } = await import('../image/store.js');
    const images = ImageStore.open(dd.dir).list();
    row('Images:', `${images.length} in ${join(dd.dir, 'images')} (${humanBytes(images.reduce((n, i) => n + i.size, 0))})`);
  }
  row('Registry:', alive?.registry ?? (alive ? 'off' : 'not running'));
  const sock = dockerSocketPath(dd.dir);
  row('Docker API:', existsSync(sock) ? `unix://${sock}` : 'not enabled');
  return alive || reachable ? 0 : 3;
}

/** `skiff down`: SIGTERM to the running `skiff up` (it stops the pods' containers and keeps all state), then waits for it. */
async function down(o: { dataDir?: string; timeout: string }): Promise<void> {
  const dd = resolveDataDir(o.dataDir);
  const run = runningCluster(dd.dir);
  if (!run) {
    const n = await stopPodContainers(dd.dir, (m) => console.error(`skiff: ${m}`));
    console.log(`skiff is not running on ${dd.dir}${n ? `; stopped ${n} pod sandbox(es) left from an earlier run` : ''}`);
    return;
  }
  console.log(`stopping skiff (pid ${run.pid}, ${run.apiUrl}) on ${dd.dir} …`);
  process.kill(run.pid, 'SIGTERM');
  const deadline = Date.now() + Number(o.timeout) * 1000;
  while (processAlive(run.pid)) {
    if (Date.now() > deadline) throw new Error(`skiff (pid ${run.pid}) did not stop within ${o.timeout} s; \`kill -9 ${run.pid}\` and \`skiff down\` again stop what is left`);
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`stopped; the cluster's state is kept in ${dd.dir} (\`skiff up${o.dataDir || process.env.SKIFF_DATA_DIR ? ` --data-dir ${dd.dir}` : ''}\` brings it back)`);
}

/** Registers status, down, why and completion. */
export function registerOpsCommands(program: Command): void {
  program
    .command('status')
    .description('is the cluster running: API URL, nodes, pods by phase, store size, registry, Docker socket, dashboard')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--kubeconfig <file>', 'kubeconfig to reach the cluster (default: the running cluster\'s, else $KUBECONFIG or ~/.kube/config)')
    .action(async (o: { dataDir?: string; kubeconfig?: string }) => {
      process.exitCode = await status(o);
    });

  program
    .command('down')
    .description('stop the all-in-one cluster and its pods\' containers; all state is kept and `skiff up` brings it back')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--timeout <s>', 'seconds to wait for it to stop', '120')
    .action(down);

  program
    .command('why')
    .description('why a pod (or a deployment\'s rollout) is as it is: its timeline, a diagnosis and what to do next')
    .argument('<target>', 'pod/NAME, deployment/NAME or replicaset/NAME (a bare NAME is a pod)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config, or DATA_DIR/kubeconfig with --data-dir)')
    .option('--data-dir <dir>', 'the cluster whose kubeconfig to use')
    .action(async (target: string, o: { namespace: string; kubeconfig?: string; dataDir?: string }) => {
      const { explain } = await import('./why.js');
      const client = clientFromKubeconfig(resolveKubeconfig(o));
      const r = await explain(client, target, o.namespace);
      for (const line of r.lines) console.log(line);
    });

  program
    .command('completion')
    .description('print a shell completion script: `source <(skiff completion bash)`, or zsh')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new Error(`completion is for bash or zsh, not ${shell}`);
      process.stdout.write(completionScript(program, shell));
    });
}
