/**
 * CertificateSigningRequest creation, as upstream's CSR REST strategy: the requester's identity
 * is recorded from the authenticated user (a body cannot claim someone else's), and
 * `spec.request` must be a PEM CERTIFICATE REQUEST whose signature verifies.
 */
import { fieldErrors, invalid } from '../../api/errors.js';
import type { Obj } from '../../api/registry.js';
import { parseCertificateRequest } from '../../client/cert.js';
import type { AdmissionPlugin } from '../objects.js';

export function csrAdmission(): AdmissionPlugin {
  return async (op, def, obj, _old, ctx) => {
    if (op !== 'CREATE' || def.group !== 'certificates.k8s.io' || def.kind !== 'CertificateSigningRequest') return;
    const spec = (obj.spec ??= {}) as Obj;
    spec.username = ctx.user.name;
    spec.groups = ctx.user.groups;
    if (ctx.user.uid) spec.uid = ctx.user.uid;
    else delete spec.uid;
    if (ctx.user.extra && Object.keys(ctx.user.extra).length) spec.extra = ctx.user.extra;
    else delete spec.extra;
    if (typeof spec.request !== 'string' || !spec.request) return; // validation reports it as required
    const pem = Buffer.from(spec.request, 'base64').toString('utf8');
    const fail = (why: string) => invalid(def.group, def.kind, obj.metadata?.name ?? '', [fieldErrors.invalid('spec.request', '[]byte{...}', why)]);
    if (!pem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw fail('PEM block type must be CERTIFICATE REQUEST');
    try {
      await parseCertificateRequest(pem);
    } catch (err) {
      throw fail((err as Error).message);
    }
  };
}
