/**
 * The 403 of a denied request, worded as upstream's responsewriters.Forbidden
 * (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go) over apierrors.NewForbidden.
 */
import { StatusError } from '../../api/errors.js';
import type { RequestAttributes } from './types.js';

/** Upstream's forbiddenMessage: who cannot do what, where. */
export function forbiddenMessage(a: RequestAttributes): string {
  const user = a.user.name;
  if (!a.resourceRequest) return `User ${JSON.stringify(user)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)}`;
  return a.namespace ? `${what} in the namespace ${JSON.stringify(a.namespace)}` : `${what} at the cluster scope`;
}

/** The Status error: `pods "x" is forbidden: User … cannot get resource "pods" … [: reason]`. */
export function forbiddenError(a: RequestAttributes, reason?: string): StatusError {
  const msg = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  if (!a.resourceRequest || !a.resource) return new StatusError(403, 'Forbidden', `forbidden: ${msg}`, {});
  const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const what = a.name ? `${gr} ${JSON.stringify(a.name)}` : gr;
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${msg}`, { name: a.name || undefined, group: a.apiGroup || undefined, kind: a.resource });
}
