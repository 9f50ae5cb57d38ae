/**
 * The access review APIs, answered from the authorization chain and never stored:
 * SelfSubjectAccessReview, SubjectAccessReview and LocalSubjectAccessReview (may SUBJECT do
 * VERB on RESOURCE?), SelfSubjectRulesReview (what may I do in NAMESPACE?) and
 * SelfSubjectReview (who am I?), with upstream's validation messages.
 */
import { badRequest, fieldErrors, invalid, type FieldError } from '../../api/errors.js';
import type { KObject, Obj } from '../../api/registry.js';
import type { UserInfo } from '../objects.js';
import type { ApiRequest } from '../request.js';
import type { Authorizer, RequestAttributes } from './types.js';
import type { RbacAuthorizer } from './rbac.js';
import type { PolicyRule } from './rbac-rules.js';

const AUTHZ = 'authorization.k8s.io';
const AUTHN = 'authentication.k8s.io';

export type ReviewHandler = (body: KObject, req: ApiRequest) => Promise<KObject>;

/** The attributes a review's spec asks about (upstream's ResourceAttributesFrom / NonResourceAttributesFrom). */
function specAttributes(user: UserInfo, spec: Obj, errs: FieldError[]): RequestAttributes | undefined {
  const ra = spec.resourceAttributes as Obj | undefined;
  const nra = spec.nonResourceAttributes as Obj | undefined;
  if (!!ra === !!nra) {
    errs.push(fieldErrors.invalid('spec.resourceAttributes', ra ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
    return undefined;
  }
  if (nra) {
    return { user, verb: String(nra.verb ?? ''), resourceRequest: false, path: String(nra.path ?? ''), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  }
  return {
    user, verb: String(ra!.verb ?? ''), resourceRequest: true, path: '', apiGroup: String(ra!.group ?? ''), apiVersion: String(ra!.version ?? ''),
    resource: String(ra!.resource ?? ''), subresource: String(ra!.subresource ?? ''), namespace: String(ra!.namespace ?? ''), name: String(ra!.name ?? ''),
  };
}

function answer(body: KObject, group: string, kind: string, status: Obj): KObject {
  return { ...body, kind, apiVersion: `${group}/v1`, metadata: { ...(body.metadata ?? {}), creationTimestamp: null as unknown as string }, status };
}

async function decide(authorizer: Authorizer, attrs: RequestAttributes): Promise<Obj> {
  const r = await authorizer.authorize(attrs);
  const status: Obj = { allowed: r.decision === 'allow' };
  if (r.decision === 'deny' && r.reason) status.denied = true;
  if (r.reason) status.reason = r.reason;
  return status;
}

function requester(req: ApiRequest): UserInfo {
  if (!req.user) throw badRequest('no user on the request');
  return req.user;
}

/** Review handlers keyed `group/plural`, for HandlerOptions.reviews. */
export function accessReviews(authorizer: Authorizer, rbac: RbacAuthorizer): [string, ReviewHandler][] {
  return [
    [`${AUTHZ}/selfsubjectaccessreviews`, async (body, req) => {
      const errs: FieldError[] = [];
      const attrs = specAttributes(requester(req), (body.spec ?? {}) as Obj, errs);
      if (!attrs) throw invalid(AUTHZ, 'SelfSubjectAccessReview', '', errs);
      return answer(body, AUTHZ, 'SelfSubjectAccessReview', await decide(authorizer, attrs));
    }],
    ...(['SubjectAccessReview', 'LocalSubjectAccessReview'] as const).map((kind): [string, ReviewHandler] => [`${AUTHZ}/${kind.toLowerCase()}s`, async (body, req) => {
      const spec = (body.spec ?? {}) as Obj;
      const errs: FieldError[] = [];
      const subject: UserInfo = { name: String(spec.user ?? ''), groups: (spec.groups as string[] | undefined) ?? [], uid: spec.uid, extra: spec.extra };
      if (!subject.name && !subject.groups.length) errs.push(fieldErrors.invalid('spec.user', subject.name, 'at least one of user or group must be specified'));
      const attrs = specAttributes(subject, spec, errs);
      if (kind === 'LocalSubjectAccessReview') {
        const ns = /\/namespaces\/([^/]+)\//.exec(req.path)?.[1] ?? '';
        if (attrs && attrs.namespace !== ns) errs.push(fieldErrors.invalid('spec.resourceAttributes.namespace', attrs.namespace, 'must match metadata.namespace'));
        if (attrs && !attrs.resourceRequest) errs.push(fieldErrors.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
      }
      if (!attrs || errs.length) throw invalid(AUTHZ, kind, '', errs);
      return answer(body, AUTHZ, kind, await decide(authorizer, attrs));
    }]),
    [`${AUTHZ}/selfsubjectrulesreviews`, async (body, req) => {
      const ns = String(((body.spec ?? {}) as Obj).namespace ?? '');
      const rules = rbac.rulesFor(requester(req), ns);
      const resourceRules = rules.filter((r) => r.resources?.length).map((r: PolicyRule) => ({
        verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
      }));
      const nonResourceRules = rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
      return answer(body, AUTHZ, 'SelfSubjectRulesReview', { resourceRules, nonResourceRules, incomplete: false });
    }],
    [`${AUTHN}/selfsubjectreviews`, async (body, req) => {
      const u = requester(req);
      const userInfo: Obj = { username: u.name, groups: u.groups };
      if (u.uid) userInfo.uid = u.uid;
      if (u.extra && Object.keys(u.extra).length) userInfo.extra = u.extra;
      return answer(body, AUTHN, 'SelfSubjectReview', { userInfo });
    }],
  ];
}
