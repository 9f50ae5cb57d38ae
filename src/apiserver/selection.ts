/** Label and field selectors of list, watch and deletecollection requests. */
import { badRequest } from '../api/errors.js';
import type { KObject, ResourceDef } from '../api/registry.js';
import { parseSelector, type Selector } from '../api/labels.js';
import { parseFieldSelector, type FieldSelector } from '../api/fields.js';
import type { ApiRequest } from './request.js';

/**
 * A predicate for the request's labelSelector and fieldSelector. Field selectors may use
 * metadata.name, metadata.namespace and the resource's selectableFields; others are a 400.
 */
export function selectionFilter(req: ApiRequest, def: ResourceDef): (o: KObject) => boolean {
  let labels: Selector | undefined;
  let fields: FieldSelector | undefined;
  const ls = req.query.get('labelSelector');
  const fs = req.query.get('fieldSelector');
  if (ls) labels = parseSelector(ls);
  const extra = def.strategy.selectableFields ?? {};
  if (fs) {
    fields = parseFieldSelector(fs);
    for (const f of fields.fields()) {
      if (f !== 'metadata.name' && f !== 'metadata.namespace' && !(f in extra)) {
        throw badRequest(`field label not supported: ${f}`);
      }
    }
  }
  if (!labels && !fields) return () => true;
  return (o) => {
    if (labels && !labels.matches(o.metadata?.labels)) return false;
    if (fields) {
      return fields.matches((f) => {
        if (f === 'metadata.name') return o.metadata?.name ?? '';
        if (f === 'metadata.namespace') return o.metadata?.namespace ?? '';
        return extra[f]?.(o) ?? '';
      });
    }
    return true;
  };
}
