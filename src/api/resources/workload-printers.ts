/**
 * Table helpers shared by the workload printers (k8s pkg/printers/internalversion/printers.go):
 * the standard column definitions and the CONTAINERS / IMAGES / SELECTOR cells.
 */
import { formatLabelSelector, selectorFromLabelSelector } from '../labels.js';
import type { Obj, TableColumn } from '../registry.js';

/** The Name column, described as upstream does (ObjectMeta.name swagger doc). */
export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
};

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};

export const CONTAINERS_COLUMN: TableColumn = { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.' };
export const IMAGES_COLUMN: TableColumn = { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.' };
export const SELECTOR_COLUMN: TableColumn = {
  name: 'Selector',
  type: 'string',
  priority: 1,
  description: 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
};

/** layoutContainerCells: container names and images, comma-joined. */
export function containerCells(containers: unknown): [string, string] {
  const list = Array.isArray(containers) ? (containers as Obj[]) : [];
  return [list.map((c) => String(c.name ?? '')).join(','), list.map((c) => String(c.image ?? '')).join(',')];
}

/**
 * LabelSelectorAsSelector(sel).String(): "" for a null selector (kubectl shows empty
 * cells as such), "<invalid>" when it cannot be parsed.
 */
export function selectorString(ls: unknown): string {
  try {
    return selectorFromLabelSelector((ls ?? null) as Parameters<typeof selectorFromLabelSelector>[0]).toString();
  } catch {
    return '<invalid>';
  }
}

/** metav1.FormatLabelSelector: "<none>" when empty. */
export function formatSelector(ls: unknown): string {
  return formatLabelSelector((ls ?? null) as Parameters<typeof formatLabelSelector>[0]);
}

/** labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty. */
export function formatLabels(m: Record<string, string> | undefined | null): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(',') : '<none>';
}

/** The int64 cells upstream prints: missing counters are 0. */
export function int(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
