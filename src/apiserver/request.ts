/**
 * The transport-neutral request/response shapes of the API server. The HTTPS adapter and
 * the in-process transport both produce an ApiRequest and consume an ApiResponse, so the
 * code path behind them is the same.
 */
import type { UserInfo } from './objects.js';

export interface ApiRequest {
  method: string;
  /** Path without the query string, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body?: Buffer;
  /** Set by the in-process transport (trusted); otherwise authentication fills it. */
  user?: UserInfo;
  /**
   * The TLS client certificate, present only when it chained to the cluster CA during the
   * handshake: its subject in Node's `K=V`-per-line form and its extended key usage OIDs.
   */
  clientCertificate?: { subject: string; extKeyUsage: string[] };
  /** Filled while handling: admission warnings, sent back as `Warning: 299 - "…"` headers. */
  warnings?: string[];
  /** Filled while handling: annotations for the request's audit event. */
  auditAnnotations?: Record<string, string>;
  /** The client's address (HTTPS only), for audit events' sourceIPs. */
  remoteAddress?: string;
}

/** Where a streaming response (watch, follow logs) writes. */
export interface ResponseSink {
  write(chunk: string | Buffer): void;
  end(): void;
  /** Called once when the client goes away or the response ends. */
  onClose(cb: () => void): void;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Present for streaming responses; called once with the sink. */
  stream?: (sink: ResponseSink) => void;
}

export function jsonResponse(status: number, body: unknown | string): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** Query booleans: Python sends True/False, others true/1. */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && /^(true|1)$/i.test(v);
}

const WRITE_OPTIONS_KIND: Record<string, string> = { POST: 'CreateOptions', PUT: 'UpdateOptions', PATCH: 'PatchOptions', DELETE: 'DeleteOptions' };

/** The options kind upstream names in a write's 422 (`CreateOptions.meta.k8s.io "" is invalid: …`); undefined for reads. */
export function writeOptionsKind(method: string): string | undefined {
  return WRITE_OPTIONS_KIND[method.toUpperCase()];
}
