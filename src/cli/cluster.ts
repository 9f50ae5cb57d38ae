/** `skiff server` (control plane) and `skiff up` (all-in-one). */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../apiserver/server.js';
import { mergeIntoUserKubeconfig } from '../apiserver/kubeconfig.js';

export const DEFAULT_DATA_DIR = process.getuid?.() === 0 ? '/var/lib/skiff' : join(homedir(), '.local/share/skiff');

export interface ClusterFlags {
  dataDir: string;
  port: string;
  host: string;
  serviceCidr: string;
  name: string;
}

function addCommonFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'where state, certificates and images live', DEFAULT_DATA_DIR)
    .option('--port <port>', 'API server port', '6443')
    .option('--host <addr>', 'address the API server listens on', '127.0.0.1')
    .option('--service-cidr <cidr>', 'IPv4 range for Service ClusterIPs', '10.43.0.0/16')
    .option('--name <name>', 'cluster name (kubeconfig context)', 'skiff');
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

export async function startControlPlane(flags: ClusterFlags): Promise<ApiServer> {
  const started = Date.now();
  const server = await ApiServer.start({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    host: flags.host,
    serviceCidr: flags.serviceCidr,
    clusterName: flags.name,
  });
  console.log(`skiff: API server ready at ${server.url} in ${Date.now() - started} ms (kubeconfig: ${server.kubeconfigPath})`);
  return server;
}

export function registerClusterCommands(program: Command): void {
  addCommonFlags(program.command('server').description('run the control plane: API server, scheduler and controllers')).action(async (flags: ClusterFlags) => {
    const server = await startControlPlane(flags);
    await runUntilSignalled(() => server.stop());
  });

  addCommonFlags(program.command('up').description('start an all-in-one cluster on this machine')).action(async (flags: ClusterFlags) => {
    const server = await startControlPlane(flags);
    if (flags.dataDir === DEFAULT_DATA_DIR) {
      const home = join(homedir(), '.kube', 'config');
      mergeIntoUserKubeconfig(home, { server: server.url, caPem: server.pki.caCertPem, token: server.pki.adminToken, contextName: flags.name });
      console.log(`skiff: merged context "${flags.name}" into ${home}`);
    }
    await runUntilSignalled(() => server.stop());
  });
}
