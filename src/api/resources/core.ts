/** The core/v1 resources, one module per kind or small group; this is their list in registration order. */
import type { ResourceDef } from '../registry.js';
import { bindings, pods } from './pods.js';
import { endpoints, services } from './services.js';
import { namespaces } from './namespaces.js';
import { configmaps, secrets } from './config.js';
import { nodes } from './nodes.js';
import { events } from './events.js';
import { limitranges, resourcequotas, serviceaccounts } from './namespace-policy.js';
import { persistentvolumeclaims, persistentvolumes } from './volumes.js';
import { replicationcontrollers } from './replicationcontrollers.js';

export { podStatusReason } from './pods.js';

export const coreResources: ResourceDef[] = [
  replicationcontrollers,
  pods,
  services,
  namespaces,
  configmaps,
  secrets,
  nodes,
  events,
  serviceaccounts,
  endpoints,
  persistentvolumes,
  persistentvolumeclaims,
  bindings,
  limitranges,
  resourcequotas,
];
