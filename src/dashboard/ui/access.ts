/**
 * Hides controls the user may not use: one SelfSubjectAccessReview per (verb, resource,
 * namespace), cached for the session. A server without the authorization API (not in discovery,
 * or 404) authorizes nothing, so everything is allowed there; any other failure hides the control.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, servedGroups } from './api.js';

/** What a control needs: a verb on a resource (and subresource) in a namespace. */
export interface Access {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const cache = new Map<string, Promise<boolean>>();

/** Forgets every answer (on sign-in and sign-out: another token has other rights). */
export function resetAccess(): void {
  cache.clear();
}

function keyOf(a: Access): string {
  return [a.verb, a.group ?? '', a.resource, a.subresource ?? '', a.namespace ?? '', a.name ?? ''].join('|');
}

/** Whether the signed-in user may do `a`. */
export function can(a: Access): Promise<boolean> {
  const key = keyOf(a);
  let p = cache.get(key);
  if (!p) {
    p = servedGroups().then((served) =>
      !served.has('authorization.k8s.io')
        ? true
        : api('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
            method: 'POST',
            body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { ...a, group: a.group ?? '' } } },
          }).then(
            (r) => r.status?.allowed === true,
            (err) => err instanceof ApiError && err.code === 404,
          ),
    );
    cache.set(key, p);
  }
  return p;
}

/** `can` as state: false until the answer arrives, so a forbidden control never flashes. */
export function useCan(a: Access | null): boolean {
  const [ok, setOk] = useState(false);
  const key = a ? keyOf(a) : '';
  useEffect(() => {
    if (!a) return;
    let live = true;
    void can(a).then((v) => live && setOk(v));
    return () => {
      live = false;
    };
  }, [key]);
  return ok;
}
