/**
 * The tokens controller, after upstream pkg/controller/serviceaccount/tokens_controller: a
 * Secret of type `kubernetes.io/service-account-token` naming a ServiceAccount (annotation
 * `kubernetes.io/service-account.name`) gets `token` (a non-expiring legacy JWT), `ca.crt` and
 * `namespace`, and the annotation `kubernetes.io/service-account.uid`. A Secret whose
 * ServiceAccount is gone (or was recreated with another uid) is deleted, as upstream does.
 */
import type { Secret, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isReason } from '../api/errors.js';
import type { Informer } from '../client/informer.js';
import { SECRETS, SERVICE_ACCOUNTS } from '../client/resources.js';
import type { KObject } from '../client/types.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy } from './util.js';

type S = Secret & KObject;
type SA = ServiceAccount & KObject;

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

/** What a legacy token names; the signer (the API server's key) turns it into a JWT (same shape as apiserver/pki.ts's). */
export interface LegacyTokenClaims {
  namespace: string;
  secretName: string;
  serviceAccountName: string;
  serviceAccountUid: string;
}

export interface TokensControllerOptions {
  caPem: string;
  sign(claims: LegacyTokenClaims): Promise<string>;
}

/** What the Secret needs, or null when it is complete; pure, so it is tested on its own. */
export function legacyTokenPlan(secret: S, sa: SA | undefined): 'delete' | 'fill' | null {
  const uidWanted = secret.metadata?.annotations?.[SA_UID_ANNOTATION];
  if (!sa || (uidWanted && uidWanted !== sa.metadata?.uid)) return 'delete';
  const d = secret.data ?? {};
  if (!uidWanted || !d.token || !d['ca.crt'] || !d.namespace) return 'fill';
  return null;
}

export function newTokensController(ctx: ControllerContext, opts: TokensControllerOptions): Controller & { readonly queue: QueueController['queue'] } {
  const { client } = ctx;
  const secInf = ctx.informers.informerFor<S>(SECRETS);
  const saInf = ctx.informers.informerFor<SA>(SERVICE_ACCOUNTS);
  const qc = new QueueController('serviceaccount-token', ctx, [secInf as unknown as Informer<KObject>, saInf as unknown as Informer<KObject>], sync);
  const q = qc.queue;
  const onSecret = (s: S) => {
    if (s.type === SERVICE_ACCOUNT_TOKEN_TYPE) q.add(`${s.metadata!.namespace}/${s.metadata!.name}`);
  };
  secInf.addEventHandler({ onAdd: onSecret, onUpdate: (_o, s) => onSecret(s) });
  // A deleted ServiceAccount takes its token Secrets with it.
  const onSa = (sa: SA) => {
    for (const s of secInf.list(sa.metadata!.namespace)) {
      if (s.type === SERVICE_ACCOUNT_TOKEN_TYPE && s.metadata?.annotations?.[SA_NAME_ANNOTATION] === sa.metadata!.name) onSecret(s);
    }
  };
  saInf.addEventHandler({ onAdd: onSa, onUpdate: (_o, sa) => onSa(sa), onDelete: onSa });

  async function sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = key.split('/');
    const secret = secInf.get(ns, name);
    if (!secret || secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE || secret.metadata?.deletionTimestamp) return;
    const saName = secret.metadata?.annotations?.[SA_NAME_ANNOTATION] ?? '';
    const sa = saName ? saInf.get(ns, saName) : undefined;
    const plan = legacyTokenPlan(secret, sa);
    if (plan === 'delete') {
      await client.delete(SECRETS, ns, name, { preconditions: { uid: secret.metadata!.uid } }).catch((err) => {
        if (!isReason(err, 'NotFound') && !isReason(err, 'Conflict')) throw err;
      });
      return;
    }
    if (plan !== 'fill' || !sa) return;
    const token = await opts.sign({ namespace: ns, secretName: name, serviceAccountName: saName, serviceAccountUid: sa.metadata!.uid! });
    const next = copy(secret) as S;
    next.metadata = { ...next.metadata, annotations: { ...(next.metadata?.annotations ?? {}), [SA_UID_ANNOTATION]: sa.metadata!.uid! } };
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    next.data = { ...(next.data ?? {}), token: secret.data?.token ?? b64(token), 'ca.crt': b64(opts.caPem), namespace: b64(ns) };
    // A Conflict throws, so the key comes back with back-off and the next sync reads the new Secret.
    await client.update(SECRETS, ns, next).catch((err) => {
      if (!isReason(err, 'NotFound')) throw err;
    });
  }

  return qc;
}
