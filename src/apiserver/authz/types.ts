/**
 * The authorization contract, as upstream's k8s.io/apiserver/pkg/authorization/authorizer:
 * the attributes of a request and a three-way decision, so authorizers chain (Node, then
 * RBAC) and the first that allows or denies decides.
 */
import type { UserInfo } from '../objects.js';

/** What is being asked, as upstream's authorizer.Attributes. */
export interface RequestAttributes {
  user: UserInfo;
  /**
   * Resource requests: get, list, watch, create, update, patch, delete, deletecollection,
   * and the special verbs impersonate, escalate, bind, use, approve, sign.
   * Non-resource requests: the lower-cased HTTP method (get, post, put, delete, …).
   */
  verb: string;
  /** True for /api/… and /apis/… resource URLs; false for /healthz, /version, /openapi, discovery roots. */
  resourceRequest: boolean;
  /** The URL path, for non-resource requests. */
  path: string;
  apiGroup: string;
  apiVersion: string;
  /** Plural resource name, e.g. `pods`. */
  resource: string;
  /** e.g. `log`, `exec`, `status`, `token`; empty when none. */
  subresource: string;
  /** Empty for cluster-scoped resources and cluster-wide lists. */
  namespace: string;
  /** Empty for lists and creates whose name is not in the URL. */
  name: string;
}

/** allow / deny end the chain; noOpinion passes to the next authorizer. */
export type Decision = 'allow' | 'deny' | 'noOpinion';

export interface AuthorizationResult {
  decision: Decision;
  /** Why: shown in SubjectAccessReview status and appended to 403 messages as upstream does. */
  reason?: string;
}

/** One link of the authorization chain. */
export interface Authorizer {
  authorize(attrs: RequestAttributes): AuthorizationResult | Promise<AuthorizationResult>;
}
