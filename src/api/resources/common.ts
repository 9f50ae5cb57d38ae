/** Building blocks shared by the resource definitions: accessors, a definition builder, table columns. */
import type { KObject, Obj, ResourceDef, TableColumn } from '../registry.js';

/** `obj.spec`, or an empty object. */
export const specOf = (o: KObject): Obj => (o.spec ?? {}) as Obj;
/** `obj.status`, or an empty object. */
export const statusOf = (o: KObject): Obj => (o.status ?? {}) as Obj;

/**
 * A resource served at version v1 with the usual singular (the kind in lower case) and no
 * strategy hooks; `extra` adds or overrides anything.
 */
export function defineResource(group: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceDef> = {}): ResourceDef {
  return { group, versions: ['v1'], kind, plural, singular: kind.toLowerCase(), namespaced, strategy: {}, ...extra };
}

/**
 * Table columns: a plain string is a string column ("Name" is formatted as a name); pass a
 * {@link TableColumn} for anything else (descriptions, other types, priority).
 */
export function columns(...cols: (string | TableColumn)[]): TableColumn[] {
  return cols.map((c) => (typeof c !== 'string' ? c : c === 'Name' ? { name: c, type: 'string', format: 'name' } : { name: c, type: 'string' }));
}

/** A string column shown only with `-o wide`. */
export function wide(name: string, description?: string): TableColumn {
  return description ? { name, type: 'string', priority: 1, description } : { name, type: 'string', priority: 1 };
}
