/**
 * The authorization chain, as upstream's union authorizer behind the privileged-group
 * short-circuit: members of system:masters may do anything; otherwise the first authorizer
 * that allows or denies decides, and a request nobody has an opinion on is denied.
 */
import type { AuthorizationResult, Authorizer, RequestAttributes } from './types.js';

/** Upstream's user.SystemPrivilegedGroup. */
export const SYSTEM_MASTERS = 'system:masters';

export class AuthorizerChain implements Authorizer {
  constructor(private readonly links: Authorizer[]) {}

  async authorize(attrs: RequestAttributes): Promise<AuthorizationResult> {
    if (attrs.user.groups.includes(SYSTEM_MASTERS)) return { decision: 'allow' };
    const reasons: string[] = [];
    for (const a of this.links) {
      const r = await a.authorize(attrs);
      if (r.decision !== 'noOpinion') return r;
      if (r.reason) reasons.push(r.reason);
    }
    return { decision: 'deny', reason: reasons.join(', ') || undefined };
  }
}

/** Chains authorizers (first allow/deny wins; all noOpinion → deny), system:masters always allowed. */
export function authorizerChain(...links: Authorizer[]): AuthorizerChain {
  return new AuthorizerChain(links);
}
