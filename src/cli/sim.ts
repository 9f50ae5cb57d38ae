/** `skiff sim`: simulated nodes for scheduler/controller tests and capacity what-ifs. */
import type { Command } from 'commander';
import { clientFromKubeconfig } from '../client/rest.js';
import { SimulatedNodes } from '../sim/nodes.js';

export function registerSimCommands(program: Command): void {
  program
    .command('sim')
    .description('register simulated nodes that run bound pods instantly (like KWOK)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster')
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--cpu <q>', 'cpu capacity per node', '32')
    .option('--memory <q>', 'memory capacity per node', '256Gi')
    .option('--pods <n>', 'pod capacity per node', '110')
    .option('--prefix <p>', 'node name prefix', 'sim-')
    .option('--zones <n>', 'spread nodes over this many zones', '3')
    .option('--label <k=v...>', 'extra node label (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--taint <k=v:Effect...>', 'node taint (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--lease-interval <s>', 'seconds between lease renewals', '10')
    .option('--concurrency <n>', 'concurrent API writes', '16')
    .option('--job-duration <s>', 'seconds a pod with restartPolicy Never/OnFailure runs before it Succeeds', '1')
    .action(async (f) => {
      const labels: Record<string, string> = {};
      for (const l of f.label as string[]) {
        const [k, v = ''] = l.split('=');
        labels[k] = v;
      }
      const taints = (f.taint as string[]).map((t) => {
        const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t);
        if (!m) throw new Error(`invalid taint ${JSON.stringify(t)}: use key=value:Effect (Effect is NoSchedule, PreferNoSchedule or NoExecute)`);
        return { key: m[1], ...(m[2] ? { value: m[2] } : {}), effect: m[3] };
      });
      const sim = new SimulatedNodes({
        client: clientFromKubeconfig(f.kubeconfig),
        nodes: Number(f.nodes),
        cpu: f.cpu,
        memory: f.memory,
        pods: Number(f.pods),
        prefix: f.prefix,
        zones: Number(f.zones),
        labels,
        taints,
        leaseIntervalSeconds: Number(f.leaseInterval),
        concurrency: Number(f.concurrency),
        jobDurationSeconds: Number(f.jobDuration),
        log: (m) => console.log(`skiff sim: ${m}`),
      });
      await sim.start();
      console.log(`skiff sim: ${f.nodes} nodes ready`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
      process.exit(0);
    });
}
