/**
 * Where the pod lives in each resource Pod Security admission looks at (upstream's
 * DefaultPodSpecExtractor): the pod itself, or the pod template of a workload.
 */
import type { KObject } from '../../../api/registry.js';
import type { Json } from './check.js';

type Extract = (obj: Json) => Json | undefined;

const TEMPLATES: Record<string, Extract> = {
  '/ReplicationController': (o) => o.spec?.template,
  '/PodTemplate': (o) => o.template,
  'apps/ReplicaSet': (o) => o.spec?.template,
  'apps/Deployment': (o) => o.spec?.template,
  'apps/StatefulSet': (o) => o.spec?.template,
  'apps/DaemonSet': (o) => o.spec?.template,
  'batch/Job': (o) => o.spec?.template,
  'batch/CronJob': (o) => o.spec?.jobTemplate?.spec?.template,
};

/** True for resources whose objects carry a pod template. */
export function hasPodTemplate(group: string, kind: string): boolean {
  return `${group}/${kind}` in TEMPLATES;
}

/** The pod metadata and spec of a workload's template (undefined when it has none). */
export function podTemplateOf(group: string, kind: string, obj: KObject): { metadata: Json; spec: Json } | undefined {
  const t = TEMPLATES[`${group}/${kind}`]?.(obj as Json);
  if (!t || (t.metadata == null && t.spec == null)) return undefined;
  return { metadata: t.metadata ?? {}, spec: t.spec ?? {} };
}
