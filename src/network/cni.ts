/**
 * Pod networking through the real CNI plugins (containernetworking/plugins), invoked the way
 * libcni does it: one exec per plugin of a conflist, the command and container identity in
 * `CNI_*` environment variables, the plugin's network config on stdin (with `name`,
 * `cniVersion`, `prevResult` and `runtimeConfig` injected), the result JSON on stdout.
 *
 * The chain is `bridge` (+ `host-local` IPAM) → `portmap`; `loopback` brings `lo` up inside
 * the namespace, as containerd's CRI plugin does. ADD results are cached under the data dir
 * (like libcni's /var/lib/cni/results) so DEL gets the same prevResult and port mappings even
 * after the agent restarts. DEL runs the chain in reverse and tolerates state that is already
 * gone (a deleted namespace, a released address), so it can always be retried.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { run, type CommandResult } from '../util/exec.js';

/** A port published on the node (portmap plugin, `runtimeConfig.portMappings`). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface CniNetworkOptions {
  /** Network name, e.g. `skiff-<cluster>`; also names the host-local state dir. */
  name: string;
  /** Linux bridge name, at most 15 characters, e.g. `skiff0`. */
  bridge: string;
  /** Pod CIDR of this node, e.g. `10.234.5.0/24`. */
  subnet: string;
  /** Gateway (the bridge's address); defaults to the first address of the subnet. */
  gateway?: string;
  /** Where the plugin binaries are (default `/usr/lib/cni`). */
  pluginDir?: string;
  /** A directory inside skiff's data dir for IPAM state and cached results. */
  dataDir: string;
  mtu?: number;
  /** Lets a pod reach itself through a Service address (default true). */
  hairpinMode?: boolean;
  /** Masquerade traffic leaving the pod CIDR (default false: nothing here leaves the node). */
  ipMasq?: boolean;
  /** CNI spec version of the generated config (default 1.0.0). */
  cniVersion?: string;
}

/** What a pod's interface got. */
export interface CniAddResult {
  /** The pod IP (no prefix length). */
  ip: string;
  /** `ip/prefix`, e.g. `10.234.5.7/24`. */
  cidr: string;
  gateway: string;
  /** MAC address of the interface inside the namespace. */
  mac: string;
  /** The raw CNI result of the last plugin. */
  raw: CniResult;
}

export interface CniOptions {
  portMappings?: PortMapping[];
  /** Extra CNI_ARGS, e.g. K8S_POD_NAMESPACE, K8S_POD_NAME. */
  args?: Record<string, string>;
}

/** CNI 1.0 result shape (the parts we read). */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: object;
}

/** A CNI plugin reported an error (the CNI error object when it printed one). */
export class CniError extends Error {
  constructor(readonly plugin: string, readonly command: string, readonly code: number | undefined, msg: string) {
    super(`CNI plugin ${plugin} failed to ${command}: ${msg}`);
    this.name = 'CniError';
  }
}

interface CachedResult {
  containerId: string;
  ifName: string;
  netns: string;
  result: CniResult;
  portMappings: PortMapping[];
  args?: Record<string, string>;
}

function firstAddress(subnet: string): string {
  const [addr] = subnet.split('/');
  const parts = addr!.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 1;
  return parts.join('.');
}

/** One CNI network (conflist) on this node. */
export class CniNetwork {
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  private readonly pluginDir: string;
  private readonly ipamDir: string;
  private readonly resultsDir: string;
  private readonly cniVersion: string;

  constructor(private readonly opts: CniNetworkOptions) {
    if (opts.bridge.length > 15) throw new Error(`bridge name ${JSON.stringify(opts.bridge)} is longer than 15 characters (Linux IFNAMSIZ); pick a shorter one`);
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(opts.subnet)) throw new Error(`pod subnet ${JSON.stringify(opts.subnet)} is not an IPv4 CIDR like 10.234.5.0/24`);
    this.name = opts.name;
    this.bridge = opts.bridge;
    this.subnet = opts.subnet;
    this.gateway = opts.gateway ?? firstAddress(opts.subnet);
    this.pluginDir = opts.pluginDir ?? '/usr/lib/cni';
    this.ipamDir = join(opts.dataDir, 'ipam');
    this.resultsDir = join(opts.dataDir, 'results');
    this.cniVersion = opts.cniVersion ?? '1.0.0';
    mkdirSync(this.ipamDir, { recursive: true });
    mkdirSync(this.resultsDir, { recursive: true });
  }

  /** The conflist this network runs (what a /etc/cni/net.d file would hold). */
  conflist(): { cniVersion: string; name: string; plugins: Record<string, unknown>[] } {
    const bridge: Record<string, unknown> = {
      type: 'bridge',
      bridge: this.bridge,
      isGateway: true,
      ipMasq: this.opts.ipMasq ?? false,
      hairpinMode: this.opts.hairpinMode ?? true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: this.subnet, gateway: this.gateway }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: this.ipamDir,
      },
    };
    if (this.opts.mtu) bridge.mtu = this.opts.mtu;
    return {
      cniVersion: this.cniVersion,
      name: this.name,
      plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
    };
  }

  /** Host-local state directory of this network: one file per allocated address. */
  get ipamStateDir(): string {
    return join(this.ipamDir, this.name);
  }

  private cachePath(containerId: string, ifName: string): string {
    return join(this.resultsDir, `${this.name}-${containerId}-${ifName}.json`);
  }

  /** Attaches the namespace to the network; returns the pod's address. */
  async add(containerId: string, netnsPath: string, ifName = 'eth0', opts: CniOptions = {}): Promise<CniAddResult> {
    const list = this.conflist();
    const portMappings = opts.portMappings ?? [];
    await this.exec('loopback', 'ADD', { cniVersion: this.cniVersion, name: 'cni-loopback', type: 'loopback' }, containerId, netnsPath, 'lo', opts.args);
    let prev: CniResult | undefined;
    try {
      for (const plugin of list.plugins) {
        const conf = this.pluginConf(list, plugin, prev, portMappings);
        prev = (await this.exec(String(plugin.type), 'ADD', conf, containerId, netnsPath, ifName, opts.args)) ?? prev;
      }
    } catch (e) {
      // Leave nothing half-done behind: an address leaked here is never freed.
      await this.runDel(list, containerId, netnsPath, ifName, prev, portMappings, opts.args).catch(() => {});
      throw e;
    }
    if (!prev) throw new CniError('bridge', 'ADD', undefined, 'returned no result');
    const cached: CachedResult = { containerId, ifName, netns: netnsPath, result: prev, portMappings, args: opts.args };
    const p = this.cachePath(containerId, ifName);
    writeFileSync(p + '.tmp', JSON.stringify(cached));
    renameSync(p + '.tmp', p);
    return summarize(prev, ifName);
  }

  /** Detaches and releases the address. Safe to call twice and after the namespace is gone. */
  async del(containerId: string, netnsPath: string, ifName = 'eth0', opts: CniOptions = {}): Promise<void> {
    const p = this.cachePath(containerId, ifName);
    let cached: CachedResult | undefined;
    try {
      cached = JSON.parse(readFileSync(p, 'utf8')) as CachedResult;
    } catch {
      cached = undefined;
    }
    const netns = existsSync(netnsPath) ? netnsPath : '';
    await this.runDel(this.conflist(), containerId, netns, ifName, cached?.result, opts.portMappings ?? cached?.portMappings ?? [], opts.args ?? cached?.args);
    if (netns) {
      await this.exec('loopback', 'DEL', { cniVersion: this.cniVersion, name: 'cni-loopback', type: 'loopback' }, containerId, netns, 'lo').catch(() => {});
    }
    rmSync(p, { force: true });
  }

  /** CHECK: asks every plugin whether the attachment is still as ADD left it; throws if not. */
  async check(containerId: string, netnsPath: string, ifName = 'eth0'): Promise<void> {
    const cached = JSON.parse(readFileSync(this.cachePath(containerId, ifName), 'utf8')) as CachedResult;
    const list = this.conflist();
    for (const plugin of list.plugins) {
      await this.exec(String(plugin.type), 'CHECK', this.pluginConf(list, plugin, cached.result, cached.portMappings), containerId, netnsPath, ifName, cached.args);
    }
  }

  /** The cached ADD result of an attachment, if any (survives agent restarts). */
  cachedResult(containerId: string, ifName = 'eth0'): CniAddResult | undefined {
    try {
      const c = JSON.parse(readFileSync(this.cachePath(containerId, ifName), 'utf8')) as CachedResult;
      return summarize(c.result, ifName);
    } catch {
      return undefined;
    }
  }

  /**
   * Removes the bridge and all IPAM state of this network (node teardown, tests). Pods must
   * have been deleted first.
   */
  async teardown(): Promise<void> {
    await run('ip', ['link', 'del', this.bridge]).catch(() => {});
    rmSync(this.ipamStateDir, { recursive: true, force: true });
  }

  private async runDel(
    list: ReturnType<CniNetwork['conflist']>,
    containerId: string,
    netns: string,
    ifName: string,
    prev: CniResult | undefined,
    portMappings: PortMapping[],
    args?: Record<string, string>,
  ): Promise<void> {
    const errors: Error[] = [];
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.exec(String(plugin.type), 'DEL', this.pluginConf(list, plugin, prev, portMappings), containerId, netns, ifName, args);
      } catch (e) {
        errors.push(e as Error);
      }
    }
    if (errors.length) throw errors[0];
  }

  private pluginConf(
    list: ReturnType<CniNetwork['conflist']>,
    plugin: Record<string, unknown>,
    prev: CniResult | undefined,
    portMappings: PortMapping[],
  ): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    delete conf.capabilities;
    if (prev) conf.prevResult = prev;
    const caps = plugin.capabilities as Record<string, boolean> | undefined;
    if (caps?.portMappings && portMappings.length) {
      conf.runtimeConfig = { portMappings: portMappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol ?? 'tcp', hostIP: m.hostIP ?? '' })) };
    }
    return conf;
  }

  private async exec(
    type: string,
    command: 'ADD' | 'DEL' | 'CHECK',
    conf: Record<string, unknown>,
    containerId: string,
    netns: string,
    ifName: string,
    args?: Record<string, string>,
  ): Promise<CniResult | undefined> {
    const cniArgs = args && Object.keys(args).length ? ['IgnoreUnknown=1', ...Object.entries(args).map(([k, v]) => `${k}=${v}`)].join(';') : '';
    const env = {
      ...process.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: netns,
      CNI_IFNAME: ifName,
      CNI_PATH: this.pluginDir,
      CNI_ARGS: cniArgs,
    };
    let result: CommandResult;
    try {
      result = await run(join(this.pluginDir, type), [], { env, input: JSON.stringify(conf) });
    } catch (e) {
      throw new CniError(type, command, undefined, `${(e as Error).message} (is containernetworking-plugins installed in ${this.pluginDir}?)`);
    }
    const out = result.stdout.toString();
    if (result.code === 0) {
      if (command !== 'ADD' || !out.trim()) return undefined;
      try {
        return JSON.parse(out) as CniResult;
      } catch {
        throw new CniError(type, command, undefined, `unparsable result: ${out.slice(0, 200)}`);
      }
    }
    let msg = (out.trim() || result.stderr.toString().trim() || `exit status ${result.code}`).slice(0, 2000);
    let ecode: number | undefined;
    try {
      const e = JSON.parse(out) as { code?: number; msg?: string; details?: string };
      ecode = e.code;
      msg = [e.msg, e.details].filter(Boolean).join('; ');
    } catch {
      /* not a CNI error object */
    }
    throw new CniError(type, command, ecode, msg);
  }
}

function summarize(r: CniResult, ifName: string): CniAddResult {
  const ipEntry = r.ips?.find((i) => i.interface === undefined || r.interfaces?.[i.interface]?.name === ifName) ?? r.ips?.[0];
  if (!ipEntry) throw new CniError('bridge', 'ADD', undefined, 'result has no IP address');
  const iface = ipEntry.interface !== undefined ? r.interfaces?.[ipEntry.interface] : r.interfaces?.find((i) => i.name === ifName);
  return { ip: ipEntry.address.split('/')[0]!, cidr: ipEntry.address, gateway: ipEntry.gateway ?? '', mac: iface?.mac ?? '', raw: r };
}

