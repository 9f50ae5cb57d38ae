/** Nodes (core/v1): the `kubectl get nodes` columns (status, roles) and field selectors. */
import type { KObject, Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { columns, specOf, statusOf, wide } from './common.js';

function nodeStatusCell(node: KObject): string {
  const conds: Obj[] = statusOf(node).conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (specOf(node).unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KObject): string {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role') roles.push(v);
  }
  return roles.length ? roles.sort().join(',') : '<none>';
}

export const nodes: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: ['status', 'proxy'],
  strategy: {
    hasStatus: true,
    selectableFields: { 'spec.unschedulable': (o) => String(!!specOf(o).unschedulable) },
  },
  table: {
    columns: columns(
      'Name',
      { name: 'Status', type: 'string', description: 'The status of the node' },
      'Roles',
      'Age',
      'Version',
      wide('Internal-IP'),
      wide('External-IP'),
      wide('OS-Image'),
      wide('Kernel-Version'),
      wide('Container-Runtime'),
    ),
    cells: (n, now) => {
      const st = statusOf(n);
      const addr = (t: string) => ((st.addresses ?? []) as Obj[]).find((a) => a.type === t)?.address ?? '<none>';
      const info = st.nodeInfo ?? {};
      return [n.metadata?.name, nodeStatusCell(n), nodeRoles(n), age(n, now), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
};
