/**
 * The identities of the control plane's own components, as upstream's well-known user names
 * (k8s.io/apiserver/pkg/authentication/user): what the in-process transport carries for each,
 * and what the bootstrap policy binds.
 */
import type { UserInfo } from '../objects.js';
import { serviceAccountUsername } from './rbac-rules.js';

export const KUBE_SCHEDULER_USER: UserInfo = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };
export const KUBE_CONTROLLER_MANAGER_USER: UserInfo = { name: 'system:kube-controller-manager', groups: ['system:authenticated'] };
export const KUBE_PROXY_USER: UserInfo = { name: 'system:kube-proxy', groups: ['system:authenticated'] };

/** A ServiceAccount's user, with the groups upstream's token authenticator gives it. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return { name: serviceAccountUsername(namespace, name), groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}
