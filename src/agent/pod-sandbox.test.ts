import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { Labels } from '../runtime/types.js';
import { etcHostsFile, NODE_LABEL, resolvConfFile, sandboxConfig, type HostFiles } from './pod-sandbox.js';

const pod = (spec: Partial<PodSpec>): Pod => ({ metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [], ...spec } });
const host: HostFiles = {
  hosts: () => '127.0.0.1\tlocalhost\n10.1.1.1\tthe-host\n',
  resolvConf: () => 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n',
};

test('sandbox config: identity, labels, hostname cut to a label, hostPorts only', () => {
  const cfg = sandboxConfig(pod({
    hostname: 'h'.repeat(70),
    containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP' }] }],
  }), 'u1', 'node-a');
  assert.equal(cfg.hostname, 'h'.repeat(63));
  assert.deepEqual(cfg.labels, { [Labels.podName]: 'web', [Labels.podNamespace]: 'shop', [Labels.podUid]: 'u1', [NODE_LABEL]: 'node-a' });
  assert.deepEqual(cfg.portMappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: undefined },
    { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: undefined },
  ]);
  assert.equal(cfg.hostNetwork, false);
  assert.equal(cfg.hostPID, false);
  assert.equal(cfg.sysctls, undefined);
});

test('sandbox config: host namespaces and the pod\'s sysctls (slash names made dotted)', () => {
  const cfg = sandboxConfig(pod({
    hostPID: true, hostIPC: true, hostNetwork: true, containers: [{ name: 'c' }],
    securityContext: { sysctls: [{ name: 'net/ipv4/ping_group_range', value: '0 1000' }, { name: 'kernel.shm_rmid_forced', value: '1' }] },
  }), 'u1', 'node-a');
  assert.deepEqual([cfg.hostPID, cfg.hostIPC, cfg.hostNetwork], [true, true, true]);
  assert.deepEqual(cfg.sysctls, { 'net.ipv4.ping_group_range': '0 1000', 'kernel.shm_rmid_forced': '1' });
});

test('/etc/hosts: managed file with the subdomain FQDN and hostAliases; the host\'s own with hostNetwork', () => {
  const hosts = etcHostsFile(pod({ subdomain: 'db', hostAliases: [{ ip: '10.9.9.9', hostnames: ['a', 'b'] }] }), 'web', '10.42.0.7', 'cluster.local', host);
  assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(hosts, /\n10\.42\.0\.7\tweb\.db\.shop\.svc\.cluster\.local\tweb\n/);
  assert.match(hosts, /# Entries added by HostAliases\.\n10\.9\.9\.9\ta\tb\n$/);
  assert.equal(etcHostsFile(pod({ hostNetwork: true }), 'web', '10.1.1.1', 'cluster.local', host), host.hosts());
});

test('resolv.conf per dnsPolicy and dnsConfig', () => {
  assert.equal(resolvConfFile(pod({}), '10.43.0.10', 'cluster.local', host),
    'nameserver 10.43.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  // ClusterFirst on the host network falls back to the host's resolver, unless ClusterFirstWithHostNet.
  assert.equal(resolvConfFile(pod({ hostNetwork: true }), '10.43.0.10', 'cluster.local', host), 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n');
  assert.match(resolvConfFile(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), '10.43.0.10', 'cluster.local', host), /^nameserver 10\.43\.0\.10\n/);
  // No cluster DNS configured: the host's.
  assert.equal(resolvConfFile(pod({}), undefined, 'cluster.local', host), 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n');
  assert.equal(resolvConfFile(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['x.example'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } }), '10.43.0.10', 'cluster.local', host),
    'nameserver 1.1.1.1\nsearch x.example\noptions ndots:2 rotate\n');
  // dnsConfig options override the policy's by name.
  assert.match(resolvConfFile(pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }] } }), '10.43.0.10', 'cluster.local', host), /\noptions ndots:1\n$/);
});
