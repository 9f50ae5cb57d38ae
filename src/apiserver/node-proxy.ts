/**
 * Streams that end on a node: pods/log, pods/exec, pods/attach, pods/portforward. As the
 * kube-apiserver does with the kubelet, the API server checks the request, finds the pod's
 * node and its agent endpoint, and relays the bytes — upgraded connections (WebSocket, SPDY)
 * are piped through unchanged, so the protocols live in one place: the agent.
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { badRequest, notFound, serviceUnavailable, StatusError } from '../api/errors.js';
import type { KObject, Obj, Registry } from '../api/registry.js';
import type { ObjectStorage } from './objects.js';
import type { ApiResponse } from './request.js';


/**
 * How the API server meets agents, as upstream's kubelet client: its own client certificate
 * (`kube-apiserver-kubelet-client`), and the cluster CA that must have issued the agent's
 * serving certificate for the address it is reached at — an endpoint that cannot show one
 * gets no request, so a Node advertising someone else's listener learns nothing.
 */
export interface AgentClientTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** TLS options for a connection to an agent: verify its certificate, present ours. */
export function agentTlsOptions(t: AgentClientTls): { ca: string; cert: string; key: string; rejectUnauthorized: true } {
  return { ca: t.caPem, cert: t.certPem, key: t.keyPem, rejectUnauthorized: true };
}

/** Where and how to reach a node's agent. */
export interface AgentTarget {
  host: string;
  port: number;
  /** Path and query on the agent, e.g. /containerLogs/ns/pod/c?follow=true. */
  path: string;
}

const AGENT_PATHS: Record<string, string> = { log: 'containerLogs', exec: 'exec', attach: 'attach', portforward: 'portForward' };

export class NodeProxy {
  constructor(
    private readonly storage: ObjectStorage,
    private readonly registry: Registry,
    /** The API server's client certificate and the CA agents' serving certificates chain to. */
    readonly agentTls: AgentClientTls,
  ) {}

  /** Validates a pod stream request and computes the agent URL for it. */
  target(namespace: string, podName: string, sub: string, query: URLSearchParams): AgentTarget {
    const podDef = this.registry.byKind('', 'Pod')!;
    const pod = this.storage.get(podDef, namespace, podName).obj;
    const spec = (pod.spec ?? {}) as Obj;
    // As upstream: the container is checked before the node, so a bad name is a 400 even when unscheduled.
    const q = new URLSearchParams(query);
    if (sub !== 'portforward') {
      const container = this.container(pod, q.get('container') ?? '', sub);
      q.set('container', container);
    }
    if (!spec.nodeName) throw badRequest(`pod ${podName} does not have a host assigned`);
    const nodeDef = this.registry.byKind('', 'Node')!;
    const node = this.storage.cache.get(nodeDef, '', spec.nodeName)?.obj;
    // Upstream looks the Node up to find its kubelet; a pod bound to a node that does not exist is that lookup's 404.
    if (!node) throw notFound({ group: '', resource: 'nodes' }, spec.nodeName);
    const st = (node.status ?? {}) as Obj;
    const port = st.daemonEndpoints?.kubeletEndpoint?.Port;
    const addr = ((st.addresses ?? []) as Obj[]).find((a) => a.type === 'InternalIP')?.address;
    if (!port || !addr) throw serviceUnavailable(`node "${spec.nodeName}" does not publish an agent endpoint (status.daemonEndpoints.kubeletEndpoint.Port and an InternalIP address)`);
    let path = `/${AGENT_PATHS[sub]}/${encodeURIComponent(namespace)}/${encodeURIComponent(podName)}`;
    if (sub === 'log') {
      path += `/${encodeURIComponent(q.get('container')!)}`;
    }
    return { host: addr, port, path: `${path}?${q.toString()}` };
  }

  /** The container a stream is for: the named one, the default-container annotation, or the only one. */
  private container(pod: KObject, named: string, sub: string): string {
    const spec = (pod.spec ?? {}) as Obj;
    const all = [...((spec.initContainers ?? []) as Obj[]), ...((spec.containers ?? []) as Obj[]), ...((spec.ephemeralContainers ?? []) as Obj[])].map((c) => c.name as string);
    const name = pod.metadata?.name;
    if (named) {
      if (!all.includes(named)) throw badRequest(`container ${named} is not valid for pod ${name}`);
      return named;
    }
    const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
    if (annotated && all.includes(annotated)) return annotated;
    const regular = ((spec.containers ?? []) as Obj[]).map((c) => c.name as string);
    if (regular.length === 1) return regular[0];
    if (sub === 'log') throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]`);
    return regular[0];
  }

  /**
   * GET pods/log: relays the agent's (possibly endless) text stream. The status line is the
   * agent's: the response is only committed to 200 once the agent has answered 200, so a refusal
   * (a container waiting to start, no previous instance) reaches the client as the agent's Status
   * with its code — kubectl prints `Error from server (BadRequest): …` and exits 1.
   */
  async log(namespace: string, podName: string, query: URLSearchParams): Promise<ApiResponse> {
    const podDef = this.registry.byKind('', 'Pod')!;
    const pod = this.storage.get(podDef, namespace, podName).obj;
    if (!((pod.spec ?? {}) as Obj).nodeName) {
      // Upstream's LogLocation gives no location for an unscheduled pod: an empty log, not an error.
      this.container(pod, query.get('container') ?? '', 'log');
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: '' };
    }
    const t = this.target(namespace, podName, 'log', query);
    const { req, res } = await new Promise<{ req: ReturnType<typeof https.request>; res: IncomingMessage }>((resolve, reject) => {
      const req = https.request(
        { host: t.host, port: t.port, path: t.path, method: 'GET', ...agentTlsOptions(this.agentTls) },
        (res) => resolve({ req, res }),
      );
      req.on('error', (err) => reject(serviceUnavailable(`cannot reach the node agent of pod ${podName} at ${t.host}:${t.port}: ${err.message}`)));
      req.end();
    });
    if (res.statusCode !== 200) throw await agentError(res);
    return {
      status: 200,
      headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
      stream: (sink) => {
        res.on('data', (c: Buffer) => sink.write(c));
        res.on('end', () => sink.end());
        res.on('error', () => sink.end());
        // An error after the headers can only end the stream (as upstream's relay does).
        req.on('error', () => sink.end());
        sink.onClose(() => req.destroy());
      },
    };
  }

  /**
   * Pipes an upgrade request (exec/attach/portforward) to the agent: the request line and headers
   * go out as received (the client's credentials removed: the agent knows the API server by its
   * certificate), then bytes flow both ways until either side closes.
   */
  pipeUpgrade(t: AgentTarget, method: string, headers: Record<string, string | string[] | undefined>, client: Duplex, head: Buffer): void {
    const upstream = tls.connect({ host: t.host, port: t.port, ...agentTlsOptions(this.agentTls) }, () => {
      const lines = [`${method} ${t.path} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers)) {
        if (v === undefined || k === 'authorization' || k === 'host') continue;
        // The user's token rides in a subprotocol for browsers; the agent never sees it.
        if (k === 'sec-websocket-protocol') {
          const offered = String(v).split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('base64url.bearer.authorization.k8s.io.'));
          if (offered.length) lines.push(`${k}: ${offered.join(', ')}`);
          continue;
        }
        for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
      }
      lines.push(`host: ${t.host}:${t.port}`, '', '');
      upstream.write(lines.join('\r\n'));
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', (err) => {
      if (client.writable) client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\ncannot reach the node agent: ${err.message}\n`);
      close();
    });
    upstream.on('close', close);
    client.on('error', close);
    client.on('close', close);
  }
}

/** Most of an agent's error body that is read: enough for any Status, bounded against a misbehaving agent. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * The agent's non-200 answer as the error the API server returns: its Status when it sent one
 * (reason and message kept, so the client sees the kubelet-side wording), else its code and text.
 */
async function agentError(res: IncomingMessage): Promise<StatusError> {
  const code = res.statusCode ?? 502;
  let body = '';
  try {
    for await (const c of res) {
      body += (c as Buffer).toString('utf8');
      if (body.length > MAX_ERROR_BODY) break;
    }
  } catch {
    /* keep what arrived */
  } finally {
    res.destroy();
  }
  try {
    const st = JSON.parse(body) as Obj;
    if (st?.kind === 'Status' && typeof st.message === 'string') return new StatusError(code, typeof st.reason === 'string' && st.reason ? st.reason : reasonFor(code), st.message, st.details);
  } catch {
    /* not JSON: fall through to the plain text */
  }
  return new StatusError(code, reasonFor(code), body.trim() || `the node agent answered ${code}`);
}

/** The Status reason upstream gives a bare HTTP code (apimachinery's NewGenericServerResponse). */
function reasonFor(code: number): string {
  const reasons: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };
  return reasons[code] ?? 'Unknown';
}
