/**
 * Certificate signing in the control plane, after upstream pkg/controller/certificates:
 *
 * - the approver (csrapproving): approves node bootstrap CSRs — a node client certificate
 *   (`kubernetes.io/kube-apiserver-client-kubelet`, CN `system:node:NAME`, O `system:nodes`)
 *   asked for by a bootstrap token (`system:bootstrappers`), an admin, or the node itself when it
 *   renews — and, as k3s does, a node's serving certificate asked for by that same node;
 * - the signer (csrsigning): issues the certificate of every approved CSR of the built-in
 *   signers with the cluster CA, or marks it Failed with the reason.
 *
 * Whether a CSR fits its signer is decided by pure functions ({@link nodeCsrCheck}), unit-tested.
 */
import type { KObject } from '../client/types.js';
import { isReason } from '../api/errors.js';
import { API_CLIENT_SIGNER, KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER } from '../api/resources/certificates.js';
import type { Informer } from '../client/informer.js';
import { CERTIFICATE_SIGNING_REQUESTS } from '../client/resources.js';
import { parseCertificateRequest, signCertificateRequest, type CertKeyPem, type CertUsage, type ParsedCertificateRequest } from '../client/cert.js';
import { QueueController, type ReconcileResult } from './base.js';
import type { Controller, ControllerContext } from './types.js';
import { copy } from './util.js';

interface Csr extends KObject {
  spec?: { request?: string; signerName?: string; usages?: string[]; username?: string; groups?: string[]; expirationSeconds?: number };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string }[]; certificate?: string };
}

const NODE_PREFIX = 'system:node:';
const DAY_S = 24 * 3600;
/** Upstream's default --cluster-signing-duration: one year. */
const DEFAULT_DURATION_S = 365 * DAY_S;

const CLIENT_USAGES = ['client auth', 'digital signature', 'key encipherment'];
const SERVING_USAGES = ['server auth', 'digital signature', 'key encipherment'];

function usagesWithin(usages: string[] | undefined, allowed: string[], required: string): boolean {
  return !!usages?.length && usages.includes(required) && usages.every((u) => allowed.includes(u));
}

/** Why a CSR does not fit its node signer, or null when it does (upstream's IsKubeletClientCSR / IsKubeletServingCSR). */
export function nodeCsrCheck(signer: string, usages: string[] | undefined, req: ParsedCertificateRequest): string | null {
  if (!req.commonName.startsWith(NODE_PREFIX) || req.commonName.length === NODE_PREFIX.length) return `subject CN must start with "${NODE_PREFIX}"`;
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject O must be exactly ["system:nodes"]';
  if (signer === KUBELET_CLIENT_SIGNER) {
    if (req.dnsNames.length || req.ipAddresses.length) return 'a node client certificate may not carry subject alternative names';
    if (!usagesWithin(usages, CLIENT_USAGES, 'client auth')) return `usages must be "client auth" with at most ${CLIENT_USAGES.join(', ')}`;
    return null;
  }
  if (signer === KUBELET_SERVING_SIGNER) {
    if (!req.dnsNames.length && !req.ipAddresses.length) return 'a node serving certificate needs at least one DNS name or IP address';
    if (!usagesWithin(usages, SERVING_USAGES, 'server auth')) return `usages must be "server auth" with at most ${SERVING_USAGES.join(', ')}`;
    return null;
  }
  return `signer ${signer} is not a node signer`;
}

/** Whether the approver approves this CSR, given who asked. */
export function shouldAutoApprove(csr: Csr, req: ParsedCertificateRequest): boolean {
  const spec = csr.spec ?? {};
  if (nodeCsrCheck(spec.signerName ?? '', spec.usages, req) !== null) return false;
  const groups = spec.groups ?? [];
  if (spec.signerName === KUBELET_CLIENT_SIGNER) {
    // nodeclient: a bootstrap token or an admin; selfnodeclient: the node renewing its own.
    return groups.includes('system:bootstrappers') || groups.includes('system:masters') || spec.username === req.commonName;
  }
  // A serving certificate only for the node that asks for it.
  return spec.username === req.commonName && groups.includes('system:nodes');
}

function decided(csr: Csr): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === 'Approved' || c.type === 'Denied' || c.type === 'Failed');
}

function watchCsrs(name: string, ctx: ControllerContext, sync: (key: string) => Promise<ReconcileResult>): { qc: QueueController; inf: Informer<Csr> } {
  const inf = ctx.informers.informerFor<Csr>(CERTIFICATE_SIGNING_REQUESTS);
  const qc = new QueueController(name, ctx, [inf as unknown as Informer<KObject>], sync);
  const add = (c: Csr) => qc.queue.add(c.metadata!.name!);
  inf.addEventHandler({ onAdd: add, onUpdate: (_o, c) => add(c) });
  return { qc, inf };
}

function pemOf(csr: Csr): string {
  return Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');
}

export function newCsrApprovingController(ctx: ControllerContext): Controller {
  const { qc, inf } = watchCsrs('csrapproving', ctx, async (name) => {
    const csr = inf.get(undefined, name);
    if (!csr || decided(csr) || csr.status?.certificate) return;
    let req: ParsedCertificateRequest;
    try {
      req = await parseCertificateRequest(pemOf(csr));
    } catch {
      return; // not ours to judge; the signer reports it
    }
    if (!shouldAutoApprove(csr, req)) return;
    const next = copy(csr) as Csr;
    const now = new Date(ctx.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const message = csr.spec?.signerName === KUBELET_CLIENT_SIGNER ? 'Auto approving kubelet client certificate after SubjectAccessReview.' : 'Auto approving kubelet serving certificate of the requesting node.';
    next.status = { ...(next.status ?? {}), conditions: [...(next.status?.conditions ?? []), { type: 'Approved', status: 'True', reason: 'AutoApproved', message, lastUpdateTime: now, lastTransitionTime: now }] };
    await ctx.client.update(CERTIFICATE_SIGNING_REQUESTS, undefined, next, { subresource: 'approval' }).catch((err) => {
      if (!isReason(err, 'NotFound')) throw err;
    });
  });
  return qc;
}

export interface CsrSigningOptions {
  /** The cluster CA that signs. */
  ca: CertKeyPem;
}

export function newCsrSigningController(ctx: ControllerContext, opts: CsrSigningOptions): Controller {
  const { qc, inf } = watchCsrs('csrsigning', ctx, async (name) => {
    const csr = inf.get(undefined, name);
    if (!csr || csr.status?.certificate) return;
    const conds = csr.status?.conditions ?? [];
    if (!conds.some((c) => c.type === 'Approved' && c.status === 'True') || conds.some((c) => c.type === 'Denied' || c.type === 'Failed')) return;
    const signer = csr.spec?.signerName ?? '';
    if (![KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER, API_CLIENT_SIGNER].includes(signer)) return;
    const next = copy(csr) as Csr;
    const pem = pemOf(csr);
    let why: string | null;
    try {
      const req = await parseCertificateRequest(pem);
      why = signer === API_CLIENT_SIGNER ? (csr.spec?.usages?.includes('client auth') ? null : 'usages must include "client auth"') : nodeCsrCheck(signer, csr.spec?.usages, req);
    } catch (err) {
      why = (err as Error).message;
    }
    if (why) {
      const now = new Date(ctx.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
      next.status = { ...(next.status ?? {}), conditions: [...conds, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: why, lastUpdateTime: now, lastTransitionTime: now }] };
    } else {
      const usages: CertUsage[] = signer === KUBELET_SERVING_SIGNER ? ['server'] : ['client'];
      const seconds = Math.min(csr.spec?.expirationSeconds ?? DEFAULT_DURATION_S, DEFAULT_DURATION_S);
      const cert = await signCertificateRequest(pem, { usages, lifetimeMs: seconds * 1000, issuer: opts.ca });
      next.status = { ...(next.status ?? {}), certificate: Buffer.from(cert).toString('base64') };
    }
    await ctx.client.update(CERTIFICATE_SIGNING_REQUESTS, undefined, next, { subresource: 'status' }).catch((err) => {
      if (!isReason(err, 'NotFound')) throw err;
    });
  });
  return qc;
}
