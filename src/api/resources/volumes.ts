/** PersistentVolumes and PersistentVolumeClaims (core/v1). */
import { fieldErrors, type FieldError } from '../errors.js';
import type { Obj, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { columns, specOf, statusOf, wide } from './common.js';

export const persistentvolumes: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  subresources: ['status'],
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.persistentVolumeReclaimPolicy ??= 'Retain';
      spec.volumeMode ??= 'Filesystem';
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending' };
    },
  },
  table: {
    columns: columns('Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', wide('VolumeMode')),
    cells: (pv, now) => {
      const spec = specOf(pv);
      const claim = spec.claimRef ? `${spec.claimRef.namespace}/${spec.claimRef.name}` : '';
      return [pv.metadata?.name, spec.capacity?.storage ?? '', accessModes(spec.accessModes), spec.persistentVolumeReclaimPolicy ?? '', statusOf(pv).phase ?? '', claim, spec.storageClassName ?? '', spec.volumeAttributesClassName ?? '<unset>', statusOf(pv).reason ?? '', age(pv, now), spec.volumeMode ?? 'Filesystem'];
    },
  },
};

function accessModes(modes: string[] | undefined): string {
  const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}

export const persistentvolumeclaims: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  subresources: ['status'],
  strategy: {
    hasStatus: true,
    defaults(obj) {
      const spec = (obj.spec ??= {}) as Obj;
      spec.volumeMode ??= 'Filesystem';
    },
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending' };
    },
    validate(obj) {
      const spec = specOf(obj);
      const errs: FieldError[] = [];
      if (!spec.accessModes?.length) errs.push(fieldErrors.required('spec.accessModes', 'at least 1 access mode is required'));
      if (!spec.resources?.requests?.storage && !spec.dataSource) errs.push(fieldErrors.required('spec.resources[storage]'));
      return errs;
    },
  },
  table: {
    columns: columns('Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age', wide('VolumeMode')),
    cells: (pvc, now) => {
      const spec = specOf(pvc);
      const st = statusOf(pvc);
      return [pvc.metadata?.name, st.phase ?? '', spec.volumeName ?? '', st.capacity?.storage ?? '', accessModes(st.accessModes), spec.storageClassName ?? '', spec.volumeAttributesClassName ?? '<unset>', age(pvc, now), spec.volumeMode ?? 'Filesystem'];
    },
  },
};
