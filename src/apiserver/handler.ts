/**
 * The API server's request handling: routing by URL to discovery, OpenAPI and the generic
 * resource verbs (get, list, watch, create, update, patch, delete, deletecollection) and
 * subresources. Transport-neutral: see request.ts.
 */
import YAML from 'yaml';
import {
  StatusError,
  badRequest,
  conflict,
  internalError,
  methodNotAllowed,
  notFound,
  requestEntityTooLarge,
  unauthorized,
  unsupportedMediaType,
  invalid,
  fieldErrors,
  type Status,
} from '../api/errors.js';
import { groupVersion, parseApiVersion, type KObject, type Registry, type ResourceDef } from '../api/registry.js';
import { clone, getPath, setPath } from '../api/meta.js';
import { parseSelector, formatLabelSelector, type Selector } from '../api/labels.js';
import { parseFieldSelector, type FieldSelector } from '../api/fields.js';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  legacyApiVersions,
  versionInfo,
  wantsAggregated,
} from './discovery.js';
import { OpenApi } from './openapi.js';
import { rowFor, table, wantsTable, columnsFor, type IncludeObject } from './table.js';
import { groupResource, type DeleteOptions, type ObjectStorage, type UserInfo, type WriteContext } from './objects.js';
import { jsonResponse, queryBool, type ApiRequest, type ApiResponse, type ResponseSink } from './request.js';
import type { CacheEvent, CachedObject } from './watch-cache.js';
import { applyPatch, patchTypeOf } from '../api/patch/index.js';
import { decodeProtobufObject } from './protobuf.js';
import type { AgentTarget, NodeProxy } from './node-proxy.js';
import { METRICS_GROUP, metricsApiFromNodeProxy, type MetricsApi } from './metrics.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface HandlerOptions {
  registry: Registry;
  storage: ObjectStorage;
  /** Returns the user for a bearer token, or undefined. */
  authenticate(req: ApiRequest): UserInfo | undefined | Promise<UserInfo | undefined>;
  /** host:port clients should use, for legacy discovery. */
  serverAddress: string;
  clock?: { now(): number };
  /** Interval between watch bookmarks (ms). */
  bookmarkIntervalMs?: number;
  /** Relays pods/log, exec, attach and portforward to node agents. */
  nodeProxy?: NodeProxy;
  /** serviceaccounts/NAME/token (TokenRequest). */
  issueToken?: (namespace: string, name: string, request: KObject) => Promise<KObject>;
  openApiSchemas?: Record<string, unknown>;
  /** metrics.k8s.io (default: scrapes the agents with the node proxy's token). */
  metrics?: MetricsApi;
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

interface ResourcePath {
  def: ResourceDef;
  version: string;
  namespace: string;
  name: string;
  subresource: string;
}

export class ApiHandler {
  private openapiDocs?: OpenApi;
  private readonly now: () => number;
  private readonly metrics?: MetricsApi;

  constructor(private readonly opts: HandlerOptions) {
    this.metrics = opts.metrics ?? metricsApiFromNodeProxy(opts.storage, opts.registry, opts.nodeProxy);
    this.now = () => (opts.clock ?? Date).now();
  }

  /** Built on first use: rendering and hashing every group's document costs milliseconds at start. */
  private get openapi(): OpenApi {
    return (this.openapiDocs ??= new OpenApi(this.opts.registry, this.opts.openApiSchemas));
  }

  /** Handles one request; never throws (errors become Status responses). */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      return await this.route(req);
    } catch (err) {
      // A body of the wrong shape (a string where an object belongs, absurd nesting) makes
      // defaulting/validation throw plain TypeErrors or overflow the stack; upstream refuses
      // such bodies while decoding them, with 400, so do we rather than answer 500.
      if (req.body?.length && (err instanceof TypeError || (err instanceof RangeError && /call stack/.test(err.message)))) {
        return errorResponse(badRequest(`the request body could not be processed: ${err.message}`));
      }
      if (err instanceof URIError) return errorResponse(badRequest(`malformed URL: ${err.message}`));
      return errorResponse(err);
    }
  }

  private async route(req: ApiRequest): Promise<ApiResponse> {
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    if (PUBLIC_PATHS.has(path)) {
      if (path === '/version') return jsonResponse(200, versionInfo());
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
    }
    const user = req.user ?? (await this.opts.authenticate(req));
    if (!user) throw unauthorized();
    req.user = user;

    const reg = this.opts.registry;
    const accept = req.headers['accept'];
    if (path === '/api') {
      if (wantsAggregated(accept)) return discoveryResponse(aggregatedDiscovery(reg, true));
      return jsonResponse(200, legacyApiVersions(this.opts.serverAddress));
    }
    if (path === '/apis') {
      if (wantsAggregated(accept)) return discoveryResponse(aggregatedDiscovery(reg, false));
      return jsonResponse(200, apiGroupList(reg));
    }
    if (path === '/openapi/v2') throw notFound({ group: '', resource: '' }, 'openapi/v2');
    if (path === '/openapi/v3') return jsonResponse(200, this.openapi.rootDocument());
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.openapi.document(path.slice('/openapi/v3/'.length));
      if (!doc) throw new StatusError(404, 'NotFound', `the server could not find the requested resource`);
      return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'public, immutable' }, body: doc };
    }

    const segs = path.split('/').slice(1).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1];
      if (segs.length === 2) {
        const g = apiGroupDoc(reg, group);
        if (!g) throw pageNotFound();
        return jsonResponse(200, g);
      }
      version = segs[2];
      rest = segs.slice(3);
      if (group === METRICS_GROUP) {
        if (!this.metrics) throw new StatusError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request (metrics.k8s.io: no node agents to scrape)');
        return this.metrics.serve(req, version, rest);
      }
    } else {
      throw pageNotFound();
    }
    if (rest.length === 0) {
      const list = apiResourceList(reg, group, version);
      if (!list) throw pageNotFound();
      return jsonResponse(200, list);
    }
    const rp = this.resolve(group, version, rest);
    return this.serveResource(req, rp);
  }

  private resolve(group: string, version: string, rest: string[]): ResourcePath {
    const reg = this.opts.registry;
    let namespace = '';
    let plural: string;
    let name = '';
    let sub = '';
    // /namespaces/{ns}/{resource}/... unless this is the namespace object itself (namespaces/{name}[/status|finalize]).
    if (rest[0] === 'namespaces' && rest.length >= 3 && reg.lookup(group, version, rest[2])?.namespaced) {
      namespace = rest[1];
      [plural, name = '', sub = ''] = rest.slice(2);
      if (rest.length > 5) throw pageNotFound();
    } else {
      [plural, name = '', sub = ''] = rest;
      if (rest.length > 3) throw pageNotFound();
    }
    const def = reg.lookup(group, version, plural);
    if (!def) throw pageNotFound();
    if (def.namespaced === false && namespace) throw pageNotFound();
    if (sub && !(def.subresources ?? []).includes(sub)) throw pageNotFound();
    return { def, version, namespace, name, subresource: sub };
  }

  private async serveResource(req: ApiRequest, rp: ResourcePath): Promise<ApiResponse> {
    const { def, name, subresource } = rp;
    const m = req.method.toUpperCase();
    const ctx: WriteContext = {
      user: req.user!,
      dryRun: req.query.getAll('dryRun').includes('All'),
      fieldManager: req.query.get('fieldManager') ?? undefined,
    };
    if (!name) {
      if (m === 'GET') return queryBool(req.query, 'watch') ? this.watch(req, rp) : this.list(req, rp);
      if (m === 'POST') return this.create(req, rp, ctx);
      if (m === 'DELETE') return this.deleteCollection(req, rp, ctx);
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    if (def.namespaced && !rp.namespace) throw pageNotFound();
    switch (subresource) {
      case '':
      case 'status':
        if (m === 'GET') return this.get(req, rp);
        if (m === 'PUT') return this.update(req, rp, ctx);
        if (m === 'PATCH') return this.patch(req, rp, ctx);
        if (m === 'DELETE' && !subresource) return this.delete(req, rp, ctx);
        break;
      case 'scale':
        if (m === 'GET') return jsonResponse(200, toScale(def, this.opts.storage.get(def, rp.namespace, name).obj));
        if (m === 'PUT' || m === 'PATCH') return this.updateScale(req, rp, ctx);
        break;
      case 'finalize':
        if (m === 'PUT') return this.update(req, rp, ctx);
        break;
      case 'binding':
        if (m === 'POST') return this.bind(req, rp, ctx);
        break;
      case 'eviction':
        if (m === 'POST') return this.evict(req, rp, ctx);
        break;
      case 'log':
        if (m !== 'GET') break;
        return this.nodeProxy().log(rp.namespace, name, req.query);
      case 'exec':
      case 'attach':
      case 'portforward':
        throw badRequest('Upgrade request required');
      case 'token':
        if (m !== 'POST' || !this.opts.issueToken) break;
        return jsonResponse(201, await this.opts.issueToken(rp.namespace, name, decodeBody(req)));
      default:
        throw new StatusError(503, 'ServiceUnavailable', `${def.plural}/${subresource} is not served by this server yet`);
    }
    throw methodNotAllowed(`the server does not allow this method on the requested resource`);
  }

  /** The node proxy, for the HTTP layer's upgrade path. */
  nodeProxyOrThrow(): NodeProxy {
    return this.nodeProxy();
  }

  private nodeProxy(): NodeProxy {
    if (!this.opts.nodeProxy) throw new StatusError(503, 'ServiceUnavailable', 'this server does not relay pod streams');
    return this.opts.nodeProxy;
  }

  /**
   * Checks an upgrade request (pods/exec, attach, portforward) and returns where to pipe it,
   * or the error response to send instead.
   */
  async prepareUpgrade(req: ApiRequest): Promise<{ target: AgentTarget } | { response: ApiResponse }> {
    try {
      const user = req.user ?? (await this.opts.authenticate(req));
      if (!user) throw unauthorized();
      req.user = user;
      const segs = req.path.split('/').slice(1).map(decodeURIComponent);
      // /api/v1/namespaces/{ns}/pods/{name}/{sub}
      if (segs.length !== 7 || segs[0] !== 'api' || segs[2] !== 'namespaces' || segs[4] !== 'pods' || !['exec', 'attach', 'portforward'].includes(segs[6])) {
        throw badRequest(`upgrade is only supported for pods/exec, pods/attach and pods/portforward`);
      }
      const sub = segs[6];
      const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      // kubectl first tries SPDY tunnelled in WebSocket; refusing it makes kubectl use the SPDY POST path.
      if (sub === 'portforward' && protocols.length > 0 && protocols.every((p) => p.startsWith('SPDY/3.1+'))) {
        throw badRequest('Upgrade request required');
      }
      return { target: this.nodeProxy().target(segs[3], segs[5], sub, req.query) };
    } catch (err) {
      return { response: errorResponse(err) };
    }
  }

  // ---- reads ----------------------------------------------------------------

  /** Renders an object in the requested version (HPA v1 vs v2 share one stored object). */
  private render(rp: ResourcePath, o: KObject): string {
    const conv = rp.def.conversions?.[rp.version];
    return JSON.stringify(conv ? conv.fromStorage(clone(o)) : o);
  }

  /** Like render, but reuses the cache's serialization when no conversion is needed. */
  private renderCached(rp: ResourcePath, c: CachedObject): string {
    return rp.def.conversions?.[rp.version] ? this.render(rp, c.obj) : c.json;
  }

  private renderObject(rp: ResourcePath, o: KObject): KObject {
    const conv = rp.def.conversions?.[rp.version];
    return conv ? conv.fromStorage(clone(o)) : o;
  }

  private async get(req: ApiRequest, rp: ResourcePath): Promise<ApiResponse> {
    const o = this.opts.storage.get(rp.def, rp.namespace, rp.name);
    if (wantsTable(req.headers['accept'])) {
      return jsonResponse(200, table(rp.def, [this.renderObject(rp, o.obj)], this.now(), includeObject(req), { resourceVersion: String(o.rv) }));
    }
    return jsonResponse(200, this.renderCached(rp, o));
  }

  private filters(req: ApiRequest, def: ResourceDef): (o: KObject) => boolean {
    let labels: Selector | undefined;
    let fields: FieldSelector | undefined;
    const ls = req.query.get('labelSelector');
    const fs = req.query.get('fieldSelector');
    if (ls) labels = parseSelector(ls);
    if (fs) {
      fields = parseFieldSelector(fs);
      const extra = def.strategy.selectableFields ?? {};
      for (const f of fields.fields()) {
        if (f !== 'metadata.name' && f !== 'metadata.namespace' && !(f in extra)) {
          throw badRequest(`field label not supported: ${f}`);
        }
      }
    }
    if (!labels && !fields) return () => true;
    return (o) => {
      if (labels && !labels.matches(o.metadata?.labels)) return false;
      if (fields) {
        const extra = def.strategy.selectableFields ?? {};
        return fields.matches((f) => {
          if (f === 'metadata.name') return o.metadata?.name ?? '';
          if (f === 'metadata.namespace') return o.metadata?.namespace ?? '';
          return extra[f]?.(o) ?? '';
        });
      }
      return true;
    };
  }

  private async list(req: ApiRequest, rp: ResourcePath): Promise<ApiResponse> {
    const { def } = rp;
    const cache = this.opts.storage.cache;
    const match = this.filters(req, def);
    let items = cache.list(def, rp.namespace).filter((o) => match(o.obj));
    let rv = cache.revision();
    // Paging: the continue token carries the last key served and the first page's revision.
    // Later pages are read from the cache as it is now, but every page reports the first page's
    // revision, so a client that watches from it afterwards replays every change made while it
    // paged (upstream serves the pages from an etcd snapshot instead; both lose nothing).
    const limit = Number(req.query.get('limit') ?? 0);
    const cont = req.query.get('continue');
    if (cont) {
      let after: string;
      try {
        const token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv?: unknown; start?: unknown };
        if (typeof token.start !== 'string' || typeof token.rv !== 'number') throw new Error('bad token');
        after = token.start;
        rv = token.rv;
      } catch {
        throw badRequest(`invalid continue token`);
      }
      items = items.filter((o) => listKey(o) > after);
    }
    let next: string | undefined;
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      next = Buffer.from(JSON.stringify({ rv, start: listKey(items[items.length - 1]) })).toString('base64url');
    }
    const listMeta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (next) listMeta.continue = next;
    if (wantsTable(req.headers['accept'])) {
      const now = this.now();
      return jsonResponse(200, table(def, items.map((o) => this.renderObject(rp, o.obj)), now, includeObject(req), listMeta));
    }
    // Build the JSON by concatenating each object's cached serialization: lists of thousands stay fast.
    const apiVersion = groupVersion(def.group, rp.version);
    const parts = items.map((o) => this.renderCached(rp, o));
    const body = `{"kind":"${def.kind}List","apiVersion":"${apiVersion}","metadata":${JSON.stringify(listMeta)},"items":[${parts.join(',')}]}`;
    return jsonResponse(200, body);
  }

  private watch(req: ApiRequest, rp: ResourcePath): ApiResponse {
    const { def } = rp;
    const cache = this.opts.storage.cache;
    const match = this.filters(req, def);
    const rvParam = req.query.get('resourceVersion') ?? '';
    if (rvParam && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    const asTable = wantsTable(req.headers['accept']);
    const include = includeObject(req);
    const timeoutSeconds = Number(req.query.get('timeoutSeconds') ?? 0);
    const bookmarks = queryBool(req.query, 'allowWatchBookmarks');
    const apiVersion = groupVersion(def.group, rp.version);
    const columns = asTable ? JSON.stringify(columnsFor(def)) : '';

    const encode = (type: string, o: CachedObject): string => {
      if (asTable) {
        const row = rowFor(def, this.renderObject(rp, o.obj), this.now(), include);
        return `{"type":"${type}","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"${o.rv}"},"columnDefinitions":${columns},"rows":[${JSON.stringify(row)}]}}\n`;
      }
      return `{"type":"${type}","object":${this.renderCached(rp, o)}}\n`;
    };

    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      stream: (sink: ResponseSink) => {
        let cancel: (() => void) | undefined;
        const timers: NodeJS.Timeout[] = [];
        let closed = false;
        let lastRv = 0;
        const close = () => {
          if (closed) return;
          closed = true;
          cancel?.();
          for (const t of timers) clearTimeout(t), clearInterval(t);
          sink.end();
        };
        sink.onClose(() => {
          closed = true;
          cancel?.();
          for (const t of timers) clearTimeout(t), clearInterval(t);
        });
        const onEvent = (e: CacheEvent) => {
          if (closed) return;
          const cur = match(e.current.obj);
          const prev = e.previous ? match(e.previous.obj) : false;
          let type: string | undefined;
          if (e.type === 'ADDED') type = cur ? 'ADDED' : undefined;
          else if (e.type === 'DELETED') type = cur || prev ? 'DELETED' : undefined;
          else if (cur && prev) type = 'MODIFIED';
          else if (cur) type = 'ADDED';
          else if (prev) type = 'DELETED';
          lastRv = e.rv;
          if (type) sink.write(encode(type, e.current));
        };
        let from: number;
        if (!rvParam || rvParam === '0') {
          // No resourceVersion: the current state as ADDED events, then changes.
          from = cache.revision();
          for (const o of cache.list(def, rp.namespace)) if (match(o.obj)) sink.write(encode('ADDED', o));
        } else {
          from = Number(rvParam);
        }
        lastRv = from;
        try {
          cancel = cache.watch(def, from, { namespace: rp.namespace, onEvent });
        } catch (err) {
          const status = err instanceof StatusError ? err.toStatus() : internalError(err).toStatus();
          sink.write(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
          close();
          return;
        }
        if (timeoutSeconds > 0) timers.push(setTimeout(close, timeoutSeconds * 1000));
        if (bookmarks) {
          const every = this.opts.bookmarkIntervalMs ?? 30_000;
          timers.push(
            setInterval(() => {
              if (closed) return;
              const rv = Math.max(lastRv, cache.revision());
              sink.write(`{"type":"BOOKMARK","object":{"kind":"${def.kind}","apiVersion":"${apiVersion}","metadata":{"resourceVersion":"${rv}"}}}\n`);
            }, every),
          );
        }
      },
    };
  }

  // ---- writes ---------------------------------------------------------------

  /** Decodes a request body into an object of the resource, checking kind and apiVersion. */
  private decode(req: ApiRequest, rp: ResourcePath, expectKind = rp.def.kind): KObject {
    const obj = decodeBody(req);
    if (obj.kind !== undefined && obj.kind !== expectKind) {
      throw badRequest(`the object provided is unrecognized (must be of type ${expectKind}): ${obj.kind}`);
    }
    if (obj.apiVersion !== undefined && expectKind === rp.def.kind) {
      const { group, version } = parseApiVersion(String(obj.apiVersion));
      if (group !== rp.def.group || version !== rp.version) {
        throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${groupVersion(rp.def.group, rp.version)})`);
      }
    }
    const conv = rp.def.conversions?.[rp.version];
    return conv && expectKind === rp.def.kind ? conv.toStorage(obj) : obj;
  }

  private respondObject(rp: ResourcePath, status: number, obj: KObject): ApiResponse {
    return jsonResponse(status, this.render(rp, obj));
  }

  private async create(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    if (rp.def.verbs && !rp.def.verbs.includes('create')) throw methodNotAllowed(`create is not supported on ${rp.def.plural}`);
    if (rp.def.kind === 'Binding') {
      // POST /namespaces/{ns}/bindings: the pod is named in the body.
      const body = decodeBody(req);
      return this.bindPod(rp.namespace, String(body.metadata?.name ?? ''), body, ctx);
    }
    const obj = this.decode(req, rp);
    if (rp.def.namespaced && !rp.namespace) throw pageNotFound();
    const created = await this.opts.storage.create(rp.def, rp.namespace, obj, ctx);
    return this.respondObject(rp, 201, created);
  }

  private async update(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const obj = this.decode(req, rp);
    const updated = await this.opts.storage.update(rp.def, rp.namespace, rp.name, obj, ctx, rp.subresource);
    return this.respondObject(rp, 200, updated);
  }

  private async patch(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const contentType = req.headers['content-type'];
    const type = patchTypeOf(contentType);
    const body = req.body ?? Buffer.alloc(0);
    if (type === 'apply') checkYamlDepth(body);
    if (type === 'apply' && !ctx.fieldManager) {
      throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    }
    const conv = rp.def.conversions?.[rp.version];
    const toStorage = (o: KObject): KObject => (conv ? conv.toStorage(o) : o);
    const storage = this.opts.storage;
    let created = false;
    const createFromApply =
      type === 'apply' && !rp.subresource
        ? async () => {
            const obj = applyPatch(contentType, undefined, body, rp.def.kind) as KObject;
            obj.metadata = { ...(obj.metadata ?? {}), name: rp.name };
            created = true;
            return storage.create(rp.def, rp.namespace, toStorage(obj), ctx);
          }
        : undefined;
    const updated = await storage.update(
      rp.def,
      rp.namespace,
      rp.name,
      (current) => toStorage(applyPatch(contentType, this.renderObject(rp, current), body, rp.def.kind) as KObject),
      ctx,
      rp.subresource,
      createFromApply,
    );
    return this.respondObject(rp, created ? 201 : 200, updated);
  }

  private async delete(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const opts = deleteOptions(req);
    if (opts.dryRun?.includes('All')) ctx.dryRun = true;
    const { obj, pending } = await this.opts.storage.delete(rp.def, rp.namespace, rp.name, opts, ctx);
    if (pending) return this.respondObject(rp, 202, obj);
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: rp.name, group: rp.def.group || undefined, kind: rp.def.plural, uid: obj.metadata?.uid },
    };
    // Pods return the deleted object, as upstream does, so clients can see its final state.
    if (rp.def.kind === 'Pod') return this.respondObject(rp, 200, obj);
    return jsonResponse(200, status);
  }

  private async deleteCollection(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const opts = deleteOptions(req);
    if (opts.dryRun?.includes('All')) ctx.dryRun = true;
    const match = this.filters(req, rp.def);
    const victims = this.opts.storage.cache.list(rp.def, rp.namespace).filter((o) => match(o.obj));
    const deleted: string[] = [];
    for (const v of victims) {
      try {
        const { obj } = await this.opts.storage.delete(rp.def, v.namespace, v.name, opts, ctx);
        deleted.push(this.render(rp, obj));
      } catch (err) {
        if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
      }
    }
    const apiVersion = groupVersion(rp.def.group, rp.version);
    return jsonResponse(200, `{"kind":"${rp.def.kind}List","apiVersion":"${apiVersion}","metadata":{"resourceVersion":"${this.opts.storage.cache.revision()}"},"items":[${deleted.join(',')}]}`);
  }

  // ---- subresources ---------------------------------------------------------

  private async updateScale(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const { def } = rp;
    const spec = def.scale!;
    const updated = await this.opts.storage.update(
      def,
      rp.namespace,
      rp.name,
      (current) => {
        const scale = toScale(def, current);
        let next: KObject;
        if (req.method.toUpperCase() === 'PUT') {
          next = decodeBody(req);
        } else {
          next = applyPatch(req.headers['content-type'], scale, req.body ?? Buffer.alloc(0), 'Scale') as KObject;
        }
        const replicas = (next.spec as { replicas?: unknown } | undefined)?.replicas;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw invalid('autoscaling', 'Scale', rp.name, [fieldErrors.invalid('spec.replicas', replicas ?? null, 'must be greater than or equal to 0')]);
        }
        const rv = next.metadata?.resourceVersion;
        if (rv && rv !== current.metadata?.resourceVersion) throw conflict(groupResource(def), rp.name);
        setPath(current, spec.specReplicasPath, replicas);
        return current;
      },
      ctx,
    );
    return jsonResponse(200, toScale(def, updated));
  }

  private async bind(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const body = decodeBody(req);
    return this.bindPod(rp.namespace, rp.name, body, ctx);
  }

  /** Assigns a pod to a node (pods/binding), failing if it is already assigned. */
  private async bindPod(namespace: string, podName: string, binding: KObject, ctx: WriteContext): Promise<ApiResponse> {
    const podDef = this.opts.registry.byKind('', 'Pod')!;
    const target = binding.target as { name?: string } | undefined;
    if (!target?.name) throw invalid('', 'Binding', podName, [fieldErrors.required('target.name')]);
    await this.opts.storage.update(
      podDef,
      namespace,
      podName,
      (pod) => {
        const spec = (pod.spec ??= {}) as { nodeName?: string };
        if (pod.metadata?.deletionTimestamp) throw conflict({ group: '', resource: 'pods' }, podName, `pod ${podName} is being deleted, cannot be assigned to a host`);
        if (spec.nodeName) throw conflict({ group: '', resource: 'pods' }, podName, `pod ${podName} is already assigned to node "${spec.nodeName}"`);
        spec.nodeName = target.name;
        return pod;
      },
      { ...ctx, fieldManager: ctx.fieldManager ?? 'scheduler' },
      'binding',
    );
    return jsonResponse(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  private async evict(req: ApiRequest, rp: ResourcePath, ctx: WriteContext): Promise<ApiResponse> {
    const body = decodeBody(req);
    const opts = (body.deleteOptions ?? {}) as DeleteOptions;
    await this.opts.storage.delete(rp.def, rp.namespace, rp.name, opts, ctx);
    return jsonResponse(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }
}

// ---- helpers ----------------------------------------------------------------

function pageNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function discoveryResponse(doc: unknown): ApiResponse {
  return { status: 200, headers: { 'content-type': AGGREGATED_DISCOVERY_CONTENT_TYPE, vary: 'Accept' }, body: JSON.stringify(doc) };
}

function listKey(o: CachedObject): string {
  return o.namespace ? `${o.namespace}/${o.name}` : o.name;
}

function includeObject(req: ApiRequest): IncludeObject {
  const v = req.query.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

/** The autoscaling/v1 Scale view of a scalable object. */
function toScale(def: ResourceDef, obj: KObject): KObject {
  const s = def.scale!;
  const selector = getPath(obj, s.labelSelectorPath);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata?.name,
      namespace: obj.metadata?.namespace,
      uid: obj.metadata?.uid,
      resourceVersion: obj.metadata?.resourceVersion,
      creationTimestamp: obj.metadata?.creationTimestamp,
    },
    spec: { replicas: (getPath(obj, s.specReplicasPath) as number | undefined) ?? 0 },
    status: {
      replicas: (getPath(obj, s.statusReplicasPath) as number | undefined) ?? 0,
      selector: selector ? formatLabelSelector(selector as never) : '',
    },
  };
}

const MAX_YAML_DEPTH = 300;

/**
 * The yaml parser recurses per nesting level; near the stack limit V8 may abort the whole
 * process (a fatal "RegExpCompiler allocation failed") instead of throwing. Refuse deep
 * documents first: flow brackets, and block indentation plus leading "- " per line.
 */
function checkYamlDepth(body: Buffer): void {
  let flow = 0;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === 0x0a) {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (ch === 0x20 || ch === 0x09) indent++;
      else if (ch === 0x2d && (body[i + 1] === 0x20 || body[i + 1] === 0x0a)) indent += 2;
      else lineStart = false;
      if (indent > MAX_YAML_DEPTH) throw badRequest(`the YAML body is nested more than ${MAX_YAML_DEPTH} levels deep`);
    }
    if (ch === 0x5b || ch === 0x7b) {
      if (++flow > MAX_YAML_DEPTH) throw badRequest(`the YAML body is nested more than ${MAX_YAML_DEPTH} levels deep`);
    } else if (ch === 0x5d || ch === 0x7d) flow = Math.max(0, flow - 1);
  }
}

/** Decodes JSON, YAML or protobuf into an object; rejects anything but a JSON object. */
export function decodeBody(req: ApiRequest): KObject {
  const body = req.body ?? Buffer.alloc(0);
  if (body.length > MAX_BODY_BYTES) throw requestEntityTooLarge(MAX_BODY_BYTES);
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  let value: unknown;
  if (ct === 'application/vnd.kubernetes.protobuf') {
    return decodeProtobufObject(body).object as KObject;
  } else if (ct === 'application/json' || ct === '' || ct === '*/*') {
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw badRequest(`the body of the request could not be decoded as JSON: ${(err as Error).message}`);
    }
  } else if (ct === 'application/yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') {
    checkYamlDepth(body);
    try {
      value = YAML.parse(body.toString('utf8'), { maxAliasCount: 100 });
    } catch (err) {
      throw badRequest(`the body of the request could not be decoded as YAML: ${(err as Error).message}`);
    }
  } else {
    throw unsupportedMediaType(ct);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the body of the request must be a JSON object');
  }
  const obj = value as KObject;
  if (obj.metadata !== undefined && (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
    throw badRequest('metadata must be an object');
  }
  return obj;
}

function deleteOptions(req: ApiRequest): DeleteOptions {
  let opts: DeleteOptions = {};
  if (req.body && req.body.length) {
    const b = decodeBody(req);
    opts = b as DeleteOptions;
  }
  const q = req.query;
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  const gp = q.get('gracePeriodSeconds');
  if (gp !== null) opts.gracePeriodSeconds = Number(gp);
  if (q.get('orphanDependents') !== null) opts.orphanDependents = queryBool(q, 'orphanDependents');
  if (q.getAll('dryRun').length) opts.dryRun = q.getAll('dryRun');
  if (opts.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(opts.propagationPolicy)) {
    throw badRequest(`invalid propagationPolicy: ${JSON.stringify(opts.propagationPolicy)}: must be one of Orphan, Foreground, Background`);
  }
  if (opts.gracePeriodSeconds !== undefined && !Number.isFinite(opts.gracePeriodSeconds)) {
    throw badRequest('gracePeriodSeconds must be a number');
  }
  return opts;
}

export function errorResponse(err: unknown): ApiResponse {
  let se: StatusError;
  if (err instanceof StatusError) se = err;
  else {
    console.error('skiff: internal error:', err);
    se = internalError(err);
  }
  const status: Status = se.toStatus();
  return jsonResponse(se.code, status);
}
