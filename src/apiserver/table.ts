/** Server-side printing (meta.k8s.io/v1 Table), as kubectl get asks for it. */
import type { KObject, ResourceDef, TableColumn } from '../api/registry.js';
import { age } from '../api/meta.js';

const NAME_COLUMN: TableColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', priority: 0 };
const AGE_COLUMN: TableColumn = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata', priority: 0 };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** True when the Accept header asks for a Table (kubectl get). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /(^|[;,\s])as=Table([;,\s]|$)/.test(accept) && accept.includes('g=meta.k8s.io');
}

export function columnsFor(def: ResourceDef): TableColumn[] {
  return (def.table?.columns ?? [NAME_COLUMN, AGE_COLUMN]).map((c) => ({ priority: 0, description: '', format: '', ...c }));
}

export function rowFor(def: ResourceDef, obj: KObject, now: number, include: IncludeObject): Record<string, unknown> {
  const cells = def.table ? def.table.cells(obj, now) : [obj.metadata?.name ?? '', age(obj, now)];
  const row: Record<string, unknown> = { cells };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return row;
}

export function table(def: ResourceDef, objs: KObject[], now: number, include: IncludeObject, listMeta: Record<string, unknown>) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columnsFor(def),
    rows: objs.map((o) => rowFor(def, o, now, include)),
  };
}

export { NAME_COLUMN, AGE_COLUMN };
