/** `skiff server` (control plane) and `skiff up` (all-in-one). */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../apiserver/server.js';
import { mergeIntoUserKubeconfig } from '../apiserver/kubeconfig.js';
import { InProcessTransport } from '../apiserver/in-process.js';
import { RestClient } from '../client/rest.js';
import { startControllerManager, type ControllerManager } from '../controllers/manager.js';
import { openStore } from '../store/open.js';

export const DEFAULT_DATA_DIR = process.getuid?.() === 0 ? '/var/lib/skiff' : join(homedir(), '.local/share/skiff');

export interface ClusterFlags {
  dataDir: string;
  port: string;
  host: string;
  serviceCidr: string;
  name: string;
  store?: string;
  nodeMonitorGracePeriod: string;
  podEvictionTimeout?: string;
  controllers: boolean;
}

function addCommonFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'where state, certificates and images live', DEFAULT_DATA_DIR)
    .option('--port <port>', 'API server port', '6443')
    .option('--host <addr>', 'address the API server listens on', '127.0.0.1')
    .option('--service-cidr <cidr>', 'IPv4 range for Service ClusterIPs', '10.43.0.0/16')
    .option('--name <name>', 'cluster name (kubeconfig context)', 'skiff')
    .option('--store <spec>', 'state store: a sqlite path (default DATA_DIR/state.db), etcd://host:port[,host:port], or memory:')
    .option('--node-monitor-grace-period <s>', 'seconds without a node heartbeat before the node is NotReady', '50')
    .option('--no-controllers', 'run the API server only (no scheduler, no controllers)');
}

/** Runs until SIGINT/SIGTERM, then stops cleanly. */
async function runUntilSignalled(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stop();
}

/** The control plane: API server plus, through the in-process transport, the controllers and the scheduler. */
export interface ControlPlane {
  server: ApiServer;
  /** A client that talks to the API server in-process, as the system. */
  client: RestClient;
  controllers?: ControllerManager;
  stop(): Promise<void>;
}

export async function startControlPlane(flags: ClusterFlags): Promise<ControlPlane> {
  const started = Date.now();
  const store = flags.store ? await openStore(flags.store) : undefined;
  const server = await ApiServer.start({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    host: flags.host,
    serviceCidr: flags.serviceCidr,
    clusterName: flags.name,
    store,
  });
  const client = new RestClient(new InProcessTransport(server.handler, { name: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] }));
  let controllers: ControllerManager | undefined;
  if (flags.controllers) {
    controllers = startControllerManager({
      client,
      options: { nodeMonitorGracePeriodSeconds: Number(flags.nodeMonitorGracePeriod) },
      log: (m) => console.error(`skiff: controllers: ${m}`),
    });
  }
  console.log(`skiff: API server ready at ${server.url} in ${Date.now() - started} ms (kubeconfig: ${server.kubeconfigPath})`);
  return {
    server,
    client,
    controllers,
    async stop() {
      await controllers?.stop();
      await server.stop();
    },
  };
}

export function registerClusterCommands(program: Command): void {
  addCommonFlags(program.command('server').description('run the control plane: API server, scheduler and controllers')).action(async (flags: ClusterFlags) => {
    const cp = await startControlPlane(flags);
    await runUntilSignalled(() => cp.stop());
    process.exit(0);
  });

  addCommonFlags(program.command('up').description('start an all-in-one cluster on this machine')).action(async (flags: ClusterFlags) => {
    const cp = await startControlPlane(flags);
    if (flags.dataDir === DEFAULT_DATA_DIR) {
      const home = join(homedir(), '.kube', 'config');
      mergeIntoUserKubeconfig(home, { server: cp.server.url, caPem: cp.server.pki.caCertPem, token: cp.server.pki.adminToken, contextName: flags.name });
      console.log(`skiff: merged context "${flags.name}" into ${home}`);
    }
    await runUntilSignalled(() => cp.stop());
    process.exit(0);
  });
}
