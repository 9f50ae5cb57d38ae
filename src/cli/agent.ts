/**
 * `skiff agent` (run a node agent against a cluster) and `skiff reset` (remove everything a
 * node agent left on this host for one data dir).
 */
import { DEFAULT_DATA_DIR } from './defaults.js';
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { clientFromKubeconfig, loadKubeconfig } from '../client/rest.js';
import { startNodeStack } from '../agent/node-stack.js';
import { parseAllowedUnsafeSysctls } from '../agent/security-context.js';
import { readIdentity, resetNode } from '../agent/reset.js';


interface AgentFlags {
  kubeconfig: string;
  name: string;
  dataDir: string;
  podCidr: string;
  bridge?: string;
  namePrefix: string;
  serviceCidr: string;
  dns: boolean;
  clusterDomain: string;
  address: string;
  port: string;
  authToken?: string;
  reservedCpu?: string;
  reservedMemory?: string;
  allowedUnsafeSysctls?: string;
}

/** Registers `skiff agent` and `skiff reset`. */
export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
    .description('run a node agent (kubelet) that registers this machine as a node and runs its pods with runc')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster to join')
    .option('--name <node>', 'node name', hostname())
    .option('--data-dir <dir>', 'where runtime state, images and pod volumes live', DEFAULT_DATA_DIR)
    .option('--pod-cidr <cidr>', "this node's pod address range", '10.42.0.0/24')
    .option('--bridge <name>', 'Linux bridge for the pod network (≤ 15 characters; default skiff0)')
    .option('--name-prefix <prefix>', 'prefix of runc, netns, cgroup and CNI names', 'skiff')
    .option('--service-cidr <cidr>', "the cluster's Service range (the DNS Service is its 10th address)", '10.43.0.0/16')
    .option('--no-dns', 'do not run cluster DNS on this node')
    .option('--cluster-domain <domain>', 'cluster domain', 'cluster.local')
    .option('--address <ip>', 'address of the agent HTTPS server (logs/exec/port-forward); also the node InternalIP', '127.0.0.1')
    .option('--port <port>', 'port of the agent HTTPS server (0 = any free port)', '10250')
    .option('--auth-token <token>', "bearer token the API server must present (default: the kubeconfig's token)")
    .option('--reserved-cpu <q>', 'CPU kept for the system (e.g. 500m)')
    .option('--reserved-memory <q>', 'memory kept for the system (e.g. 512Mi)')
    .option('--allowed-unsafe-sysctls <list>', 'comma-separated unsafe sysctls (or prefix* patterns) pods may set, e.g. kernel.msg*,net.core.somaxconn')
    .action(async (f: AgentFlags) => {
      const kc = loadKubeconfig(f.kubeconfig);
      const token = f.authToken ?? process.env.SKIFF_AGENT_TOKEN ?? kc.token;
      if (!token) throw new Error('no token for the agent server: pass --auth-token or use a kubeconfig with a bearer token');
      console.error(`skiff agent: joining ${kc.server} as node ${f.name} (data dir ${f.dataDir}, pods ${f.podCidr})`);
      const node = await startNodeStack({
        client: clientFromKubeconfig(f.kubeconfig),
        nodeName: f.name,
        dataDir: f.dataDir,
        podCidr: f.podCidr,
        bridge: f.bridge,
        namePrefix: f.namePrefix,
        serviceCidr: f.serviceCidr,
        proxyTable: f.namePrefix,
        runDns: f.dns,
        clusterDomain: f.clusterDomain,
        serveHost: f.address,
        servePort: Number(f.port),
        authToken: token,
        reserved: { cpu: f.reservedCpu, memory: f.reservedMemory },
        allowedUnsafeSysctls: parseAllowedUnsafeSysctls(f.allowedUnsafeSysctls ? f.allowedUnsafeSysctls.split(',') : []),
      });
      console.error(`skiff agent: node ${f.name} registered; serving logs/exec/port-forward on ${node.agent.server.url}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          process.off('SIGINT', done);
          process.off('SIGTERM', done);
          resolve();
        };
        process.on('SIGINT', done);
        process.on('SIGTERM', done);
      });
      console.error('skiff agent: stopping (pods keep running; `skiff reset` removes them)');
      await node.stop();
      process.exit(0);
    });

  program
    .command('reset')
    .description("remove every container, mount, network namespace, bridge, CNI state and nftables table of this data dir's node")
    .option('--data-dir <dir>', 'data dir of the node to reset', DEFAULT_DATA_DIR)
    .option('--name-prefix <prefix>', 'name prefix (default: what the agent recorded, else skiff)')
    .option('--bridge <name>', 'bridge name (default: what the agent recorded, else skiff0)')
    .action(async (f: { dataDir: string; namePrefix?: string; bridge?: string }) => {
      const idn = readIdentity(f.dataDir);
      console.log(`resetting node state in ${f.dataDir}${idn ? ` (node ${idn.nodeName}, prefix ${idn.namePrefix})` : ''}`);
      await resetNode({ dataDir: f.dataDir, namePrefix: f.namePrefix, bridge: f.bridge, log: (l) => console.log(l) });
    });
}
