/**
 * certificates.k8s.io/v1 CertificateSigningRequest, as upstream's: a PKCS#10 request for a
 * signer; `approval` adds the Approved/Denied condition, `status` carries the certificate the
 * signer issued. The requester's identity (spec.username, groups, uid, extra) is stamped by the
 * API server at creation (admission), never taken from the body.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import type { KObject, Obj } from '../registry.js';
import { age } from '../meta.js';
import { columns, defineResource } from './common.js';

/** Signers the control plane serves, as upstream's built-in ones. */
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const API_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

const USAGES = new Set([
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign',
  'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system',
  'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc',
]);

function conditionTypes(csr: KObject): string[] {
  return (((csr.status as Obj | undefined)?.conditions ?? []) as Obj[]).map((c) => String(c?.type));
}

/** `Approved,Issued`, `Denied`, `Pending`: the CONDITION column kubectl shows. */
export function csrCondition(csr: KObject): string {
  const types: string[] = conditionTypes(csr).filter((t) => t === 'Approved' || t === 'Denied' || t === 'Failed');
  if ((csr.status as Obj | undefined)?.certificate) types.push('Issued');
  return types.length ? types.join(',') : 'Pending';
}

function validateConditions(csr: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const types = conditionTypes(csr);
  if (types.includes('Approved') && types.includes('Denied')) errs.push(fieldErrors.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive'));
  for (const t of new Set(types)) if (types.filter((x) => x === t).length > 1) errs.push(fieldErrors.duplicate('status.conditions', t));
  return errs;
}

export const certificatesigningrequests = defineResource('certificates.k8s.io', 'CertificateSigningRequest', 'certificatesigningrequests', false, {
  shortNames: ['csr'],
  subresources: ['status', 'approval'],
  strategy: {
    hasStatus: true,
    prepareForCreate(obj) {
      delete obj.status;
    },
    validate(obj) {
      const errs: FieldError[] = [];
      const spec = (obj.spec ?? {}) as Obj;
      if (!spec.request) errs.push(fieldErrors.required('spec.request'));
      if (!spec.signerName) errs.push(fieldErrors.required('spec.signerName'));
      else if (!/^[a-z0-9.-]+\/[a-zA-Z0-9._-]+$/.test(String(spec.signerName))) errs.push(fieldErrors.invalid('spec.signerName', spec.signerName, 'must be a fully qualified domain and path of the form \'example.com/signer-name\''));
      const usages = spec.usages;
      if (!Array.isArray(usages) || usages.length === 0) errs.push(fieldErrors.required('spec.usages'));
      else for (const [i, u] of usages.entries()) if (!USAGES.has(String(u))) errs.push(fieldErrors.notSupported(`spec.usages[${i}]`, u, [...USAGES]));
      if (spec.expirationSeconds !== undefined && (!Number.isInteger(spec.expirationSeconds) || (spec.expirationSeconds as number) < 600)) {
        errs.push(fieldErrors.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
      }
      return errs;
    },
    validateUpdate(obj, old) {
      const errs = validateConditions(obj);
      if (JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) errs.push(fieldErrors.invalid('spec', '', 'field is immutable'));
      return errs;
    },
  },
  table: {
    columns: columns('Name', 'Age', 'SignerName', 'Requestor', 'RequestedDuration', 'Condition'),
    cells: (c, now) => {
      const spec = (c.spec ?? {}) as Obj;
      return [c.metadata?.name, age(c, now), spec.signerName ?? '', spec.username ?? '', spec.expirationSeconds ? `${spec.expirationSeconds}s` : '<none>', csrCondition(c)];
    },
  },
});

export const certificatesResources = [certificatesigningrequests];
