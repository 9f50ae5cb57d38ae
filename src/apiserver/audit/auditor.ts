/**
 * The audit backend of the API server: for every request the policy does not exclude, one
 * audit.k8s.io/v1 Event at ResponseComplete (and one at ResponseStarted for streams such as
 * watches), with the user, source IPs, user agent, objectRef, response status, admission's
 * annotations and, per level, the request and response objects. Events are built after the
 * response is ready and written by {@link LogWriter} in the background.
 */
import { randomUUID } from 'node:crypto';
import type { ApiRequest, ApiResponse } from '../request.js';
import { decide, type AuditPolicy, type Level, type Stage } from './policy.js';
import { requestInfo, type RequestInfo } from './request-info.js';

export interface AuditSink {
  write(line: string): void;
}

interface ObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

/** RFC 3339 with microseconds, as Go's metav1.MicroTime. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function parseJson(body: string | Buffer | undefined, contentType: string | undefined): Record<string, any> | undefined {
  if (body === undefined || !(contentType ?? 'application/json').includes('json')) return undefined;
  try {
    const v = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

const atLeast = (level: Level, min: Level) => ['None', 'Metadata', 'Request', 'RequestResponse'].indexOf(level) >= ['None', 'Metadata', 'Request', 'RequestResponse'].indexOf(min);

export class Auditor {
  constructor(
    private readonly policy: AuditPolicy,
    private readonly sink: AuditSink,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records the request once its response is known; returns the response to send (a stream is
   * wrapped so its start and end are recorded too).
   */
  record(req: ApiRequest, res: ApiResponse, receivedMs: number): ApiResponse {
    const info = requestInfo(req);
    const user = req.user;
    const d = decide(this.policy, { user: user?.name ?? '', groups: user?.groups ?? [], ...info });
    if (d.level === 'None') return res;
    const auditID = req.headers['audit-id'] || randomUUID();
    const base = () => this.event(req, info, d.level, auditID, receivedMs);
    const withId = { ...res, headers: { ...(res.headers ?? {}), 'audit-id': auditID } };
    if (!res.stream) {
      if (!d.omitStages.includes('ResponseComplete')) this.emit(req, base(), 'ResponseComplete', res, d.level);
      return withId;
    }
    const stream = res.stream;
    return {
      ...withId,
      stream: (sink) => {
        if (!d.omitStages.includes('ResponseStarted')) this.emit(req, base(), 'ResponseStarted', res, 'Metadata');
        let done = false;
        const complete = () => {
          if (done) return;
          done = true;
          if (!d.omitStages.includes('ResponseComplete')) this.emit(req, base(), 'ResponseComplete', res, 'Metadata');
        };
        sink.onClose(complete);
        stream({ write: (c) => sink.write(c), end: () => (sink.end(), complete()), onClose: (cb) => sink.onClose(cb) });
      },
    };
  }

  private event(req: ApiRequest, info: RequestInfo, level: Level, auditID: string, receivedMs: number): Record<string, unknown> {
    const q = req.query.toString();
    const forwarded = (req.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const sourceIPs = [...forwarded, ...(req.headers['x-real-ip'] ? [req.headers['x-real-ip']] : []), ...(req.remoteAddress ? [req.remoteAddress.replace(/^::ffff:/, '')] : [])];
    const u = req.user;
    const ev: Record<string, unknown> = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level,
      auditID,
      stage: '',
      requestURI: q ? `${req.path}?${q}` : req.path,
      verb: info.verb,
      user: u ? { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) } : {},
      sourceIPs: [...new Set(sourceIPs)],
      userAgent: req.headers['user-agent'],
    };
    if (info.resourceRequest) {
      const ref: ObjectRef = { resource: info.resource, namespace: info.namespace, name: info.name, apiGroup: info.apiGroup || undefined, apiVersion: info.apiVersion, subresource: info.subresource };
      ev.objectRef = ref;
    }
    ev.requestReceivedTimestamp = microTime(receivedMs);
    return ev;
  }

  private emit(req: ApiRequest, ev: Record<string, unknown>, stage: Stage, res: ApiResponse, level: Level): void {
    ev.stage = stage;
    const isError = res.status >= 400;
    const ref0 = ev.objectRef as ObjectRef | undefined;
    // Parse the response only when the event needs it: a failure's Status, a create's name, the object itself.
    const needBody = stage === 'ResponseComplete' && !res.stream && (isError || atLeast(level, 'RequestResponse') || (ref0 !== undefined && !ref0.name));
    const body = needBody ? parseJson(res.body, res.headers?.['content-type']) : undefined;
    const status: Record<string, unknown> = { metadata: {}, code: stage === 'ResponseStarted' ? 200 : res.status };
    if (isError && body?.kind === 'Status') {
      status.status = body.status;
      status.message = body.message;
      status.reason = body.reason;
    }
    ev.responseStatus = status;
    const ref = ev.objectRef as ObjectRef | undefined;
    // As upstream's LogRequestObject/LogResponseObject: the object fills in what the URL lacks (a create's name).
    if (ref && body && !isError && body.metadata && body.kind !== 'Status' && !String(body.kind ?? '').endsWith('List')) {
      ref.name ||= body.metadata.name;
      ref.namespace ||= body.metadata.namespace;
      ref.uid = body.metadata.uid;
      ref.resourceVersion = body.metadata.resourceVersion;
    }
    if (atLeast(level, 'Request')) {
      const obj = parseJson(req.body, req.headers['content-type']);
      if (obj) ev.requestObject = obj;
    }
    if (atLeast(level, 'RequestResponse') && body) ev.responseObject = body;
    if (req.auditAnnotations && Object.keys(req.auditAnnotations).length) ev.annotations = { ...req.auditAnnotations };
    ev.stageTimestamp = microTime(this.now());
    this.sink.write(JSON.stringify(ev));
  }

}
