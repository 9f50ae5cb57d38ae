/** Events (core/v1): involvedObject field selectors and the `kubectl get events` columns. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { Obj, ResourceDef } from '../registry.js';
import { humanDuration } from '../meta.js';
import { columns, wide } from './common.js';

function eventLastSeen(e: Obj, now: number): string {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
}

export const events: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  strategy: {
    validate(obj) {
      const errs: FieldError[] = [];
      const io = (obj.involvedObject ?? {}) as Obj;
      if (io.namespace && obj.metadata?.namespace && io.namespace !== obj.metadata.namespace) {
        errs.push(fieldErrors.invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace'));
      }
      return errs;
    },
    selectableFields: {
      'involvedObject.kind': (o) => (o.involvedObject as Obj | undefined)?.kind ?? '',
      'involvedObject.namespace': (o) => (o.involvedObject as Obj | undefined)?.namespace ?? '',
      'involvedObject.name': (o) => (o.involvedObject as Obj | undefined)?.name ?? '',
      'involvedObject.uid': (o) => (o.involvedObject as Obj | undefined)?.uid ?? '',
      'involvedObject.apiVersion': (o) => (o.involvedObject as Obj | undefined)?.apiVersion ?? '',
      'involvedObject.resourceVersion': (o) => (o.involvedObject as Obj | undefined)?.resourceVersion ?? '',
      'involvedObject.fieldPath': (o) => (o.involvedObject as Obj | undefined)?.fieldPath ?? '',
      reason: (o) => String(o.reason ?? ''),
      reportingComponent: (o) => String(o.reportingComponent ?? ''),
      source: (o) => (o.source as Obj | undefined)?.component ?? '',
      type: (o) => String(o.type ?? ''),
    },
  },
  table: {
    columns: columns('Last Seen', 'Type', 'Reason', 'Object', wide('Subobject'), wide('Source'), 'Message', wide('First Seen'), wide('Count'), wide('Name')),
    cells: (e: Obj, now) => {
      const io = e.involvedObject ?? {};
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      return [
        eventLastSeen(e, now),
        e.type ?? '',
        e.reason ?? '',
        `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
        io.fieldPath ?? '',
        [e.source?.component, e.source?.host].filter(Boolean).join(', '),
        String(e.message ?? '').trim(),
        first ? humanDuration(now - Date.parse(first)) : '<unknown>',
        e.count ?? 1,
        e.metadata?.name,
      ];
    },
  },
};
