/** ReplicationControllers (core/v1), the forerunner of ReplicaSets. */
import type { Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { validateNonnegativeInt32 } from '../validation.js';
import { defaultPodSpec } from './pod-spec.js';
import { columns, specOf, statusOf } from './common.js';

export const replicationcontrollers: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  scale: { specReplicasPath: ['spec', 'replicas'], statusReplicasPath: ['status', 'replicas'], labelSelectorPath: ['spec', 'selector'] },
  strategy: {
    hasStatus: true,
    tracksGeneration: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.replicas ??= 1;
      const tmplLabels = spec.template?.metadata?.labels;
      if (!spec.selector && tmplLabels) spec.selector = { ...tmplLabels };
      if (spec.template) defaultPodSpec((spec.template.spec ??= {}) as Obj);
    },
    prepareForCreate(obj) {
      obj.status = { replicas: 0 };
    },
    // Only the replica count so far: a count out of int32 range would have the controller
    // create pods without end.
    validate: (obj) => {
      const n = specOf(obj).replicas;
      return n === undefined ? [] : validateNonnegativeInt32('spec.replicas', n);
    },
  },
  table: {
    columns: columns('Name', { name: 'Desired', type: 'integer' }, { name: 'Current', type: 'integer' }, { name: 'Ready', type: 'integer' }, 'Age'),
    cells: (rc, now) => [rc.metadata?.name, specOf(rc).replicas ?? 0, statusOf(rc).replicas ?? 0, statusOf(rc).readyReplicas ?? 0, age(rc, now)],
  },
};
