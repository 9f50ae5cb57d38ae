/** Validation of metadata common to every object (upstream ValidateObjectMeta). */
import { fieldErrors, type FieldError } from '../api/errors.js';
import type { KObject, ResourceDef } from '../api/registry.js';
import { isQualifiedName, validateAnnotations, validateObjectMetaName } from '../api/validation.js';
import { validateLabels } from '../api/labels.js';

export function validateObjectMeta(obj: KObject, def: ResourceDef, old?: KObject): FieldError[] {
  const md = obj.metadata ?? {};
  const errs: FieldError[] = [];
  if (!old) errs.push(...validateObjectMetaName(md, 'metadata', def.nameRule ?? 'DNS1123Subdomain'));
  if (def.namespaced && !md.namespace) errs.push(fieldErrors.required('metadata.namespace'));
  errs.push(...validateLabels(md.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(md.annotations, 'metadata.annotations'));
  (md.finalizers ?? []).forEach((f, i) => {
    if (typeof f !== 'string') errs.push(fieldErrors.invalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
    else errs.push(...isQualifiedName(f, `metadata.finalizers[${i}]`));
  });
  let controllers = 0;
  (md.ownerReferences ?? []).forEach((ref, i) => {
    const p = `metadata.ownerReferences[${i}]`;
    if (!ref || typeof ref !== 'object') {
      errs.push(fieldErrors.invalid(p, ref, 'must be an object'));
      return;
    }
    if (!ref.apiVersion) errs.push(fieldErrors.invalid(`${p}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(fieldErrors.invalid(`${p}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errs.push(fieldErrors.invalid(`${p}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(fieldErrors.invalid(`${p}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (ref.controller) controllers++;
  });
  if (controllers > 1) errs.push(fieldErrors.invalid('metadata.ownerReferences', md.ownerReferences, 'Only one reference can have Controller set to true'));
  return errs;
}
