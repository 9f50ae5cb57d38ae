/** `skiff server` (control plane) and `skiff up` (all-in-one). */
import { Option, type Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../apiserver/server.js';
import { issueNodeServingCert, signLegacyServiceAccountToken } from '../apiserver/pki.js';
import { InProcessTransport } from '../apiserver/in-process.js';
import { RestClient } from '../client/rest.js';
import { startControllerManager, type ControllerManager } from '../controllers/manager.js';
import { openStore } from '../store/open.js';
import { startScheduler, type RunningScheduler } from '../scheduler/host.js';
import { LeaderElector } from '../client/leader-election.js';
import type { NodeStack } from '../agent/node-stack.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { UserInfo } from '../apiserver/objects.js';
import { KUBE_CONTROLLER_MANAGER_USER, KUBE_PROXY_USER, KUBE_SCHEDULER_USER, serviceAccountUser } from '../apiserver/authz/component-users.js';
import { CONTROLLER_ACCOUNTS } from '../apiserver/authz/controller-policy.js';
import { CidrSet } from '../controllers/node-ipam-allocator.js';

import { DEFAULT_DATA_DIR } from './defaults.js';
import { dashboardRoutes } from '../dashboard/assets.js';
import { addSecurityFlags, auditFromFlags, podSecurityFromFlags, type SecurityFlags } from './security-flags.js';
export { DEFAULT_DATA_DIR };

export interface ClusterFlags extends SecurityFlags {
  dataDir: string;
  port: string;
  host: string;
  serviceCidr: string;
  name: string;
  store?: string;
  nodeMonitorGracePeriod: string;
  podEvictionTimeout?: string;
  controllers: boolean;
  disableControllers?: string;
  leaderElect?: boolean;
  registryPort: string;
  lbPool: string;
  /** Node IPAM: the range node pod subnets are assigned from (off when unset). */
  clusterCidr?: string;
  nodeCidrMaskSize: string;
  /** Hidden: events kept for watches from a past resourceVersion (tests provoke 410 with a tiny one). */
  watchCacheSize?: string;
  /** Set by `skiff up`: audit writes to DATA_DIR/audit.log unless --audit-log says otherwise. */
  auditByDefault?: boolean;
}

export interface UpFlags extends ClusterFlags {
  nodeName: string;
  podCidr: string;
  bridge?: string;
  namePrefix?: string;
  agentPort: string;
  backoffMs?: string;
}

function addCommonFlags(cmd: Command): Command {
  return addSecurityFlags(cmd)
    .option('--data-dir <dir>', 'where state, certificates and images live', DEFAULT_DATA_DIR)
    .option('--port <port>', 'API server port', '6443')
    .option('--host <addr>', 'address the API server listens on', '127.0.0.1')
    .option('--service-cidr <cidr>', 'IPv4 range for Service ClusterIPs', '10.43.0.0/16')
    .option('--name <name>', 'cluster name (kubeconfig context)', 'skiff')
    .option('--store <spec>', 'state store: a sqlite path (default DATA_DIR/state.db), etcd://host:port[,host:port], or memory:')
    .option('--node-monitor-grace-period <s>', 'seconds without a node heartbeat before the node is NotReady', '50')
    .option('--no-controllers', 'run the API server only (no scheduler, no controllers)')
    .option('--disable-controllers <names>', 'controllers not to run, comma separated (e.g. timeline)')
    .option('--leader-elect', 'run the scheduler and controllers only while holding their Leases (several servers on one store)')
    .option('--registry-port <port>', "port of the built-in image registry on 127.0.0.1 ('off' to disable, 0 = any)", '5000')
    .option('--lb-pool <cidr>', 'host loopback range for LoadBalancer Services', '127.0.1.0/24')
    .option('--cluster-cidr <cidr>', 'pod range of the cluster: each node without a pod range gets a subnet of it (default: none, nodes bring their own --pod-cidr)')
    .option('--node-cidr-mask-size <n>', 'prefix length of the pod subnet each node gets from --cluster-cidr', '24')
    .addOption(new Option('--watch-cache-size <n>', 'events kept for watches from a past resourceVersion').hideHelp());
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
  scheduler?: RunningScheduler;
  /** Port of the built-in registry, when it runs. */
  registryPort?: number;
  stop(): Promise<void>;
}

export async function startControlPlane(flags: ClusterFlags): Promise<ControlPlane> {
  const started = Date.now();
  // A bad range is refused before anything starts (the controller would fail in the background).
  if (flags.clusterCidr) new CidrSet(flags.clusterCidr, Number(flags.nodeCidrMaskSize));
  const store = flags.store ? await openStore(flags.store) : undefined;
  const server = await ApiServer.start({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    host: flags.host,
    serviceCidr: flags.serviceCidr,
    clusterName: flags.name,
    store,
    requireServiceAccount: flags.controllers,
    watchCacheSize: flags.watchCacheSize ? Number(flags.watchCacheSize) : undefined,
    staticRoutes: dashboardRoutes(),
    podSecurity: podSecurityFromFlags(flags),
    audit: auditFromFlags(flags, flags.auditByDefault ?? false),
  });
  let registry: { port: number; close(): Promise<void> | void } | undefined;
  if (flags.registryPort !== 'off') {
    try {
      const [{ startRegistry }, { ImageStore }] = await Promise.all([import('../image/registry/server.js'), import('../image/store.js')]);
      registry = await startRegistry({ store: ImageStore.open(flags.dataDir), host: '127.0.0.1', port: Number(flags.registryPort) });
    } catch (err) {
      console.error(`skiff: the built-in registry did not start on 127.0.0.1:${flags.registryPort}: ${(err as Error).message} (pick another with --registry-port, or 'off')`);
    }
  }
  const client = new RestClient(new InProcessTransport(server.handler, { name: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] }));
  let controllers: ControllerManager | undefined;
  let scheduler: RunningScheduler | undefined;
  let schedulerElector: LeaderElector | undefined;
  if (flags.controllers) {
    const identity = `${hostname()}_${randomUUID()}`;
    // Each component under its own name, as upstream: the manager lists and watches as
    // system:kube-controller-manager, each controller writes as its kube-system ServiceAccount.
    const inProcess = (user: UserInfo) => new RestClient(new InProcessTransport(server.handler, user));
    const controllerClients = new Map<string, RestClient>();
    controllers = startControllerManager({
      client: inProcess(KUBE_CONTROLLER_MANAGER_USER),
      clientFor: (name) => {
        const sa = CONTROLLER_ACCOUNTS[name];
        if (!sa) return inProcess(KUBE_CONTROLLER_MANAGER_USER);
        let c = controllerClients.get(sa);
        if (!c) controllerClients.set(sa, (c = inProcess(serviceAccountUser('kube-system', sa))));
        return c;
      },
      options: {
        nodeMonitorGracePeriodSeconds: Number(flags.nodeMonitorGracePeriod), rootCaPem: server.pki.caCertPem, loadBalancerPool: flags.lbPool,
        legacyTokenSigner: (c) => signLegacyServiceAccountToken(server.pki, c),
        signingCa: { certPem: server.pki.caCertPem, keyPem: server.pki.caKeyPem },
        clusterCidr: flags.clusterCidr, nodeCidrMaskSize: Number(flags.nodeCidrMaskSize),
        disabled: flags.disableControllers?.split(',').map((n) => n.trim()).filter(Boolean),
      },
      leaderElection: flags.leaderElect ? { identity } : false,
      log: (m) => console.error(`skiff: controllers: ${m}`),
    });
    const schedulerClient = inProcess(KUBE_SCHEDULER_USER);
    const runScheduler = async () => {
      // In one process the scheduler shares the controllers' caches; with leader election the
      // two may lead apart, so it keeps its own.
      scheduler = await startScheduler(schedulerClient, {}, flags.leaderElect ? undefined : controllers!.informers);
    };
    if (flags.leaderElect) {
      schedulerElector = new LeaderElector({
        client: schedulerClient,
        name: 'kube-scheduler',
        identity,
        onStartedLeading: () => void runScheduler(),
        onStoppedLeading: () => void scheduler?.stop(),
      });
      void schedulerElector.run();
    } else {
      await runScheduler();
    }
  }
  console.log(`skiff: API server ready at ${server.url} in ${Date.now() - started} ms (kubeconfig: ${server.kubeconfigPath})`);
  if (registry) console.log(`skiff: image registry at 127.0.0.1:${registry.port}`);
  return {
    server,
    client,
    controllers,
    registryPort: registry?.port,
    get scheduler() {
      return scheduler;
    },
    async stop() {
      schedulerElector?.stop();
      await scheduler?.stop();
      await controllers?.stop();
      await registry?.close();
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

  addCommonFlags(program.command('up').description('start an all-in-one cluster on this machine: control plane, registry and a node running pods with runc'))
    .option('--node-name <name>', 'name of this node', hostname())
    .option('--pod-cidr <cidr>', 'pod address range of this node', '10.42.0.0/24')
    .option('--bridge <name>', 'Linux bridge of the pod network (default: derived from --name)')
    .option('--name-prefix <prefix>', 'prefix of runc, netns, cgroup, CNI and nftables names (default: --name)')
    .option('--agent-port <port>', "port of the node agent's HTTPS server (0 = any)", '10250')
    .action(async (flags: UpFlags, cmd: Command) => {
      const lifecycle = await import('./lifecycle.js');
      lifecycle.prepareUp(cmd, flags as UpFlags & Record<string, unknown>);
      const cp = await startControlPlane({ ...flags, auditByDefault: true });
      let mergedInto: string | undefined;
      if (flags.dataDir === DEFAULT_DATA_DIR) {
        const home = join(homedir(), '.kube', 'config');
        const { mergeIntoUserKubeconfig } = await import('../apiserver/kubeconfig.js');
        mergeIntoUserKubeconfig(home, { server: cp.server.url, caPem: cp.server.pki.caCertPem, token: cp.server.pki.adminToken, clientCert: cp.server.pki.adminCert, contextName: flags.name, dataDir: flags.dataDir });
        console.log(`skiff: merged context "${flags.name}" into ${home}`);
        mergedInto = home;
      }
      const prefix = flags.namePrefix ?? flags.name;
      let node: NodeStack | undefined;
      try {
        const t0 = Date.now();
        const { startNodeStack } = await import('../agent/node-stack.js');
        // The agent acts as system:node:NAME (never the admin) and serves with a certificate the
        // cluster CA issued for its name and address, which is what the API server verifies.
        const nodeUser = { name: `system:node:${flags.nodeName}`, groups: ['system:nodes', 'system:authenticated'] };
        const serving = await issueNodeServingCert(cp.server.pki, flags.nodeName, ['127.0.0.1']);
        node = await startNodeStack({
          client: new RestClient(new InProcessTransport(cp.server.handler, nodeUser)),
          proxyClient: new RestClient(new InProcessTransport(cp.server.handler, KUBE_PROXY_USER)),
          dnsPublisherClient: cp.client,
          nodeName: flags.nodeName,
          dataDir: flags.dataDir,
          podCidr: flags.podCidr,
          bridge: flags.bridge ?? `${prefix.slice(0, 13)}0`,
          namePrefix: prefix,
          serviceCidr: flags.serviceCidr,
          proxyTable: prefix,
          serveHost: '127.0.0.1',
          servePort: Number(flags.agentPort),
          tls: { clientCaPem: cp.server.pki.caCertPem, serving },
          log: (m) => console.error(`skiff: node: ${m}`),
        });
        await cp.server.advertise(node.gatewayIp);
        console.log(`skiff: node ${flags.nodeName} ready in ${Date.now() - t0} ms`);
      } catch (err) {
        console.error(`skiff: the node did not start: ${(err as Error).message}`);
        console.error('skiff: the control plane keeps running; `./skiff up` installs runc, CNI plugins and nftables when run as root.');
      }
      let docker: { hosts: string[]; stop(): Promise<void> } | undefined;
      if (node) {
        try {
          const { startDockerEngine } = await import('./docker.js');
          docker = await startDockerEngine({
            client: cp.client,
            api: { url: cp.server.url, caPem: cp.server.pki.caCertPem, token: cp.server.pki.adminToken },
            dataDir: flags.dataDir,
            nodeName: flags.nodeName,
            log: (m) => console.error(`skiff: docker: ${m}`),
          });
          console.log(`skiff: Docker Engine API ready: export DOCKER_HOST=${docker.hosts[0]}`);
        } catch (err) {
          console.error(`skiff: the Docker Engine API did not start: ${(err as Error).message}`);
        }
      }
      lifecycle.writeRunInfo(flags.dataDir, {
        pid: process.pid, command: 'up', apiUrl: cp.server.url, kubeconfig: cp.server.kubeconfigPath, contextName: flags.name, startedAt: new Date().toISOString(),
        ...(cp.registryPort ? { registry: `127.0.0.1:${cp.registryPort}` } : {}), ...(node ? { nodeName: flags.nodeName } : {}),
      });
      for (const line of lifecycle.nextSteps({ dataDir: flags.dataDir, apiUrl: cp.server.url, kubeconfig: cp.server.kubeconfigPath, contextName: flags.name, mergedInto, defaultDataDir: flags.dataDir === DEFAULT_DATA_DIR })) console.log(line);
      await runUntilSignalled(async () => {
        // `skiff down` and Ctrl-C alike: the pods' containers stop too, every bit of state stays.
        console.log('skiff: stopping the node, its pods\' containers and the control plane …');
        await docker?.stop();
        await node?.stop();
        const stopped = await lifecycle.stopPodContainers(flags.dataDir, (m) => console.error(`skiff: ${m}`));
        await cp.stop();
        lifecycle.removeRunInfo(flags.dataDir);
        const dd = flags.dataDir === DEFAULT_DATA_DIR ? '' : ` --data-dir ${flags.dataDir}`;
        console.log(`skiff: stopped (${stopped} pod sandbox(es) stopped); nothing of this cluster runs any more and its state is kept in ${flags.dataDir}.`);
        console.log(`skiff: \`skiff up${dd}\` brings the same cluster back; \`skiff reset${dd}\` removes its node state.`);
      });
      process.exit(0);
    });
}
