/** ConfigMaps and Secrets (core/v1): data key rules, immutability, stringData folding. */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, ResourceDef } from '../registry.js';
import { age } from '../meta.js';
import { isConfigMapKey } from '../validation.js';
import { columns } from './common.js';

function validateDataKeys(data: unknown, field: string): FieldError[] {
  if (data === undefined || data === null) return [];
  if (typeof data !== 'object' || Array.isArray(data)) return [fieldErrors.invalid(field, data, 'must be a map of strings')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    errs.push(...isConfigMapKey(k, `${field}[${k}]`));
    if (typeof v !== 'string') errs.push(fieldErrors.invalid(`${field}[${k}]`, v, 'must be a string'));
  }
  return errs;
}

/** core.MaxSecretSize: the most bytes of data a ConfigMap or Secret may hold, over all keys. */
export const MAX_DATA_SIZE = 1024 * 1024;

/** Bytes of the values of a data map: strings as UTF-8, or base64 decoded. */
function dataSize(data: unknown, encoding: 'utf8' | 'base64'): number {
  if (!data || typeof data !== 'object') return 0;
  let n = 0;
  for (const v of Object.values(data as Record<string, unknown>)) if (typeof v === 'string') n += Buffer.byteLength(v, encoding);
  return n;
}

/**
 * ValidateConfigMap's total size limit over data and binaryData; upstream reports it on the
 * empty path because it concerns the whole object.
 */
function validateConfigMapSize(obj: KObject): FieldError[] {
  const total = dataSize(obj.data, 'utf8') + dataSize(obj.binaryData, 'base64');
  return total > MAX_DATA_SIZE ? [fieldErrors.tooLong('', MAX_DATA_SIZE)] : [];
}

function validateConfigMap(obj: KObject): FieldError[] {
  return [...validateDataKeys(obj.data, 'data'), ...validateDataKeys(obj.binaryData, 'binaryData'), ...validateConfigMapSize(obj)];
}

export const configmaps: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  strategy: {
    validate: validateConfigMap,
    validateUpdate(obj, old) {
      const errs = validateConfigMap(obj);
      if (old.immutable === true && (JSON.stringify(obj.data) !== JSON.stringify(old.data) || JSON.stringify(obj.binaryData) !== JSON.stringify(old.binaryData))) {
        errs.push(fieldErrors.forbidden('data', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
  },
  table: {
    columns: columns('Name', 'Data', 'Age'),
    cells: (cm, now) => [cm.metadata?.name, Object.keys((cm.data ?? {}) as object).length + Object.keys((cm.binaryData ?? {}) as object).length, age(cm, now)],
  },
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const secrets: ResourceDef = {
  group: '',
  versions: ['v1'],
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  strategy: {
    defaults(obj) {
      obj.type ??= 'Opaque';
      // stringData is write-only: fold it into data (base64), as the API server does.
      const sd = obj.stringData as Record<string, unknown> | undefined;
      if (sd && typeof sd === 'object') {
        const data = ((obj.data ??= {}) as Record<string, string>);
        for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
    },
    validate(obj) {
      const errs = validateDataKeys(obj.data, 'data');
      for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, unknown>)) {
        if (typeof v === 'string' && (v.length % 4 !== 0 || !BASE64.test(v))) {
          errs.push(fieldErrors.invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
        }
      }
      // ValidateSecret's limit, on the decoded bytes of data.
      if (dataSize(obj.data, 'base64') > MAX_DATA_SIZE) errs.push(fieldErrors.tooLong('data', MAX_DATA_SIZE));
      return errs;
    },
    validateUpdate(obj, old) {
      const errs = secrets.strategy.validate!(obj);
      if (obj.type !== old.type) errs.push(fieldErrors.invalid('type', obj.type, 'field is immutable'));
      if (old.immutable === true && JSON.stringify(obj.data) !== JSON.stringify(old.data)) {
        errs.push(fieldErrors.forbidden('data', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
    selectableFields: { type: (o) => String(o.type ?? '') },
  },
  table: {
    columns: columns('Name', 'Type', 'Data', 'Age'),
    cells: (s, now) => [s.metadata?.name, s.type, Object.keys((s.data ?? {}) as object).length, age(s, now)],
  },
};
