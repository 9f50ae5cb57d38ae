/** Namespaces (core/v1): the `kubernetes` finalizer, phase Terminating while they are emptied. */
import type { ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { columns, specOf, statusOf } from './common.js';

export const namespaces: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  subresources: ['status', 'finalize'],
  nameRule: 'DNS1123Label',
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const md = (obj.metadata ??= {});
      if (md.name) md.labels = { ...(md.labels ?? {}), 'kubernetes.io/metadata.name': md.name };
    },
    prepareForCreate(obj) {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    },
    prepareForUpdate(obj, old) {
      // spec.finalizers changes only through namespaces/NAME/finalize.
      if (old.spec !== undefined) obj.spec = JSON.parse(JSON.stringify(old.spec));
    },
    // The namespace controller empties the namespace, then clears spec.finalizers through finalize.
    deletionFinalizers: (obj) => (specOf(obj).finalizers as string[] | undefined) ?? [],
    prepareForDelete(obj) {
      if (statusOf(obj).phase === 'Terminating') return false;
      obj.status = { ...(obj.status as object), phase: 'Terminating' };
      return true;
    },
  },
  table: {
    columns: columns('Name', { name: 'Status', type: 'string', description: 'The status of the namespace' }, 'Age'),
    cells: (ns, now) => [ns.metadata?.name, statusOf(ns).phase ?? 'Active', age(ns, now)],
  },
};
