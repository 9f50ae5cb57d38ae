/**
 * `skiff agent` (run a node agent against a cluster) and `skiff reset` (remove everything a
 * node agent left on this host for one data dir).
 */
import { DEFAULT_DATA_DIR } from './defaults.js';
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HttpTransport, loadKubeconfig, RestClient } from '../client/rest.js';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { bootstrapNode, CertificateRenewer } from '../agent/bootstrap.js';
import { startNodeStack } from '../agent/node-stack.js';
import { parseAllowedUnsafeSysctls } from '../agent/security-context.js';
import { readIdentity, resetNode } from '../agent/reset.js';


interface AgentFlags {
  kubeconfig?: string;
  server?: string;
  token?: string;
  tokenFile?: string;
  nodeIp?: string;
  name: string;
  dataDir: string;
  podCidr?: string;
  overlay: string;
  bridge?: string;
  namePrefix: string;
  serviceCidr: string;
  dns: boolean;
  clusterDomain: string;
  address: string;
  port: string;
  reservedCpu?: string;
  reservedMemory?: string;
  allowedUnsafeSysctls?: string;
}

/** Registers `skiff agent` and `skiff reset`. */
export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
    .description('run a node agent (kubelet) that registers this machine as a node and runs its pods with runc')
    .option('--server <urls>', 'API server(s) to join, https://HOST:PORT[,https://HOST2:PORT] (with --token or --token-file)')
    .option('--token <token>', "the cluster's node token (DATA_DIR/node-token on the server)")
    .option('--token-file <file>', 'file holding the node token')
    .option('--kubeconfig <file>', 'instead of a token: a kubeconfig allowed to create CertificateSigningRequests (read once to obtain the node certificate)')
    .option('--node-ip <ip>', "the node's InternalIP (default: --address)")
    .option('--name <node>', 'node name', hostname())
    .option('--data-dir <dir>', 'where runtime state, images and pod volumes live', DEFAULT_DATA_DIR)
    .option('--pod-cidr <cidr>', "this node's pod address range (default: the range the control plane assigns, see skiff server --cluster-cidr)")
    .option('--overlay <mode>', "how pods reach other nodes' pods: host-gw (routes via the nodes' InternalIPs; nodes share a link) or none", 'host-gw')
    .option('--bridge <name>', 'Linux bridge for the pod network (≤ 15 characters; default skiff0)')
    .option('--name-prefix <prefix>', 'prefix of runc, netns, cgroup and CNI names', 'skiff')
    .option('--service-cidr <cidr>', "the cluster's Service range (the DNS Service is its 10th address)", '10.43.0.0/16')
    .option('--no-dns', 'do not run cluster DNS on this node')
    .option('--cluster-domain <domain>', 'cluster domain', 'cluster.local')
    .option('--address <ip>', 'address of the agent HTTPS server (logs/exec/port-forward); also the node InternalIP', '127.0.0.1')
    .option('--port <port>', 'port of the agent HTTPS server (0 = any free port)', '10250')
    .option('--reserved-cpu <q>', 'CPU kept for the system (e.g. 500m)')
    .option('--reserved-memory <q>', 'memory kept for the system (e.g. 512Mi)')
    .option('--allowed-unsafe-sysctls <list>', 'comma-separated unsafe sysctls (or prefix* patterns) pods may set, e.g. kernel.msg*,net.core.somaxconn')
    .action(async (f: AgentFlags) => {
      if (f.overlay !== 'host-gw' && f.overlay !== 'none') throw new Error(`skiff agent: --overlay ${JSON.stringify(f.overlay)} is not one of host-gw, none`);
      const token = f.token ?? (f.tokenFile ? readFileSync(f.tokenFile, 'utf8').trim() : undefined);
      const kc = f.kubeconfig ? loadKubeconfig(f.kubeconfig) : undefined;
      const servers = (f.server ?? kc?.server ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      if (!servers.length) throw new Error('skiff agent: give --server URL with --token/--token-file (or --kubeconfig)');
      if (!token && !kc) throw new Error('skiff agent: give --token or --token-file (the server writes DATA_DIR/node-token), or --kubeconfig');
      const nodeIp = f.nodeIp ?? f.address;
      // Pod volumes (Secrets among them) and the node's keys live here: owner only.
      mkdirSync(f.dataDir, { recursive: true, mode: 0o700 });
      chmodSync(f.dataDir, 0o700);
      const log = (m: string) => console.error(`skiff agent: ${m}`);
      const bootstrap = { servers, nodeName: f.name, addresses: [nodeIp], dir: join(f.dataDir, 'agent-pki'), joinToken: token, kubeconfig: kc, log };
      const creds = await bootstrapNode(bootstrap);
      // From here on the agent is system:node:NAME: the token or kubeconfig is not used again.
      const transport = new HttpTransport({ server: creds.server, caPem: creds.caPem, certPem: creds.client.certPem, keyPem: creds.client.keyPem });
      console.error(`skiff agent: joining ${creds.server} as node ${f.name} (data dir ${f.dataDir}, pods ${f.podCidr ?? 'from the control plane'})`);
      const node = await startNodeStack({
        client: new RestClient(transport),
        nodeName: f.name,
        dataDir: f.dataDir,
        podCidr: f.podCidr,
        hostGw: f.overlay === 'host-gw',
        bridge: f.bridge,
        namePrefix: f.namePrefix,
        serviceCidr: f.serviceCidr,
        proxyTable: f.namePrefix,
        runDns: f.dns,
        clusterDomain: f.clusterDomain,
        serveHost: f.address,
        servePort: Number(f.port),
        nodeIP: nodeIp,
        tls: { clientCaPem: creds.caPem, serving: creds.serving },
        reserved: { cpu: f.reservedCpu, memory: f.reservedMemory },
        allowedUnsafeSysctls: parseAllowedUnsafeSysctls(f.allowedUnsafeSysctls ? f.allowedUnsafeSysctls.split(',') : []),
      });
      const renewer = new CertificateRenewer(bootstrap, creds, (c) => {
        transport.setClientCert(c.client.certPem, c.client.keyPem);
        node.agent.server.setServingCert(c.serving);
      });
      renewer.start();
      console.error(`skiff agent: node ${f.name} registered; serving logs/exec/port-forward on ${node.agent.server.url}`);
      // The Docker Engine API creates pods and records in namespace `docker`, which a node's own
      // identity may not: it runs only with a kubeconfig that grants that (given explicitly).
      let docker: { hosts: string[]; stop(): Promise<void> } | void = undefined;
      if (kc?.token) {
        const { startDockerEngine } = await import('./docker.js');
        docker = await startDockerEngine({
          client: new RestClient(new HttpTransport(kc)),
          api: { url: kc.server, caPem: kc.caPem, token: kc.token },
          dataDir: f.dataDir,
          nodeName: f.name,
          log: (m) => console.error(`skiff agent: docker: ${m}`),
        }).catch((err: Error) => void console.error(`skiff agent: the Docker Engine API did not start: ${err.message}`));
      } else {
        console.error('skiff agent: the Docker Engine API is not served: it needs --kubeconfig with a token allowed to manage pods and ConfigMaps in namespace docker');
      }
      if (docker) console.error(`skiff agent: Docker Engine API ready: export DOCKER_HOST=${docker.hosts[0]}`);
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
      renewer.stop();
      await docker?.stop();
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
