/**
 * The browser's client of the same-origin Kubernetes API: every call carries the signed-in
 * user's bearer token, so what the dashboard shows and may do is what RBAC grants that token.
 * Watches are `?watch=1` streams read with fetch + ReadableStream (a WebSocket cannot carry an
 * Authorization header).
 */

const TOKEN_KEY = 'skiff.token';

/** The bearer token of this tab's session (sessionStorage: gone when the tab closes). */
export function getToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function setToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A Kubernetes object as the UI handles it: loosely typed, the API is the schema. */
export type K = Record<string, any>;

/** A failed API call, worded as kubectl words it: `Error from server (Conflict): …`. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly serverMessage: string,
  ) {
    super(reason ? `Error from server (${reason}): ${serverMessage}` : `Error from server: ${serverMessage}`);
  }
}

/** The ApiError for a non-2xx response: the Status's reason and message when the body is one. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const st = JSON.parse(text) as K;
    if (st.kind === 'Status') return new ApiError(res.status, st.reason ?? '', st.message ?? text);
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, res.status === 404 ? 'NotFound' : '', text.trim() || res.statusText);
}

/** Called when the server refuses the token (401): the app signs out. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  const t = getToken();
  if (t) h.authorization = `Bearer ${t}`;
  return h;
}

/** One API call; resolves with the JSON body, rejects with an {@link ApiError}. */
export async function api<T = K>(path: string, init: { method?: string; body?: unknown; contentType?: string; signal?: AbortSignal } = {}): Promise<T> {
  const send = () =>
    fetch(path, {
      method: init.method ?? 'GET',
      headers: headers(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      signal: init.signal,
    });
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // A request the browser dropped before any answer (the network changed under it: a laptop
    // switching networks, interfaces coming and going) gets one more try; the UI's writes are
    // whole-object updates and patches to a value, so a repeat that did arrive changes nothing more.
    if (init.signal?.aborted || !(err instanceof TypeError)) throw err;
    await new Promise((r) => setTimeout(r, 250));
    res = await send();
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** A merge patch (`application/merge-patch+json`). */
export function mergePatch(path: string, patch: unknown): Promise<K> {
  return api(path, { method: 'PATCH', body: patch, contentType: 'application/merge-patch+json' });
}

/** A JSON patch (`application/json-patch+json`). */
export function jsonPatch(path: string, ops: unknown[]): Promise<K> {
  return api(path, { method: 'PATCH', body: ops, contentType: 'application/json-patch+json' });
}

let groups: Promise<Set<string>> | undefined;

/**
 * The API groups the server serves (from discovery, once per sign-in): optional APIs (access
 * reviews, skiff's Timeline) are asked for only when served, so an older server costs no 404s.
 */
export function servedGroups(): Promise<Set<string>> {
  groups ??= api<{ groups?: { name: string }[] }>('/apis').then(
    (l) => new Set((l.groups ?? []).map((g) => g.name)),
    () => {
      groups = undefined;
      return new Set<string>();
    },
  );
  return groups;
}

/** Forgets discovery (on sign-out). */
export function resetDiscovery(): void {
  groups = undefined;
}

/** One watch event as the API streams it. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: K;
}

/**
 * Reads a streaming response line by line (a watch's JSON events, a followed log) until it
 * ends or `signal` aborts. Resolves when the stream ends; rejects on an HTTP error.
 */
export async function streamLines(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: headers(), signal });
  if (res.status === 401) onUnauthorized();
  if (!res.ok || !res.body) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onLine(line);
      }
    }
    if (buf) onLine(buf);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    reader.releaseLock();
  }
}

/** Appends query parameters to a path that may already have some. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v!)}`)
    .join('&');
  if (!q) return path;
  return path + (path.includes('?') ? '&' : '?') + q;
}

/** Where a resource lives: `/api/v1` for the core group, `/apis/GROUP/VERSION` otherwise. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The collection path of a resource, in one namespace or (ns '' or undefined) across all. */
export function collectionPath(r: ResourceType, ns?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced && ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${r.plural}` : `${base}/${r.plural}`;
}

/** The path of one object. */
export function objectPath(r: ResourceType, ns: string | undefined, name: string): string {
  return `${collectionPath(r, r.namespaced ? ns : undefined)}/${encodeURIComponent(name)}`;
}

const T = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceType => ({ group, version, plural, kind, namespaced });

/** The resources the dashboard shows. */
export const R = {
  nodes: T('', 'v1', 'nodes', 'Node', false),
  namespaces: T('', 'v1', 'namespaces', 'Namespace', false),
  pods: T('', 'v1', 'pods', 'Pod'),
  events: T('', 'v1', 'events', 'Event'),
  services: T('', 'v1', 'services', 'Service'),
  endpoints: T('', 'v1', 'endpoints', 'Endpoints'),
  configmaps: T('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: T('', 'v1', 'secrets', 'Secret'),
  pvcs: T('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim'),
  deployments: T('apps', 'v1', 'deployments', 'Deployment'),
  statefulsets: T('apps', 'v1', 'statefulsets', 'StatefulSet'),
  daemonsets: T('apps', 'v1', 'daemonsets', 'DaemonSet'),
  replicasets: T('apps', 'v1', 'replicasets', 'ReplicaSet'),
  jobs: T('batch', 'v1', 'jobs', 'Job'),
  cronjobs: T('batch', 'v1', 'cronjobs', 'CronJob'),
} satisfies Record<string, ResourceType>;

/** The resource type of an object by its apiVersion and kind (for YAML links), if the UI knows it. */
export function typeOf(obj: K): ResourceType | undefined {
  const [g, v] = String(obj.apiVersion ?? '').includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion ?? '')];
  return Object.values(R).find((r) => r.group === g && r.version === v && r.kind === obj.kind);
}
