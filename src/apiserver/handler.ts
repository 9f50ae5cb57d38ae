/**
 * The API server's request handling: authentication, then routing by URL to discovery,
 * OpenAPI, metrics and the resource verbs. The verbs live beside it: crud.ts (get, list,
 * create, update, patch, delete, deletecollection), watch.ts, subresources.ts; decoding and
 * encoding in codec.ts. Transport-neutral: see request.ts.
 */
import { StatusError, badRequest, fieldErrors, invalid, methodNotAllowed, notFound, unauthorized, serviceUnavailable, type FieldError } from '../api/errors.js';
import type { KObject, Registry } from '../api/registry.js';
import { realClock, type Clock } from '../util/clock.js';
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
import type { ObjectStorage, UserInfo, WriteContext } from './objects.js';
import { jsonResponse, queryBool, writeOptionsKind, type ApiRequest, type ApiResponse } from './request.js';
import type { AgentTarget, NodeProxy } from './node-proxy.js';
import { METRICS_GROUP, metricsApiFromNodeProxy, type MetricsApi } from './metrics.js';
import { checkDryRun, decodeBody, errorResponse } from './codec.js';
import { pageNotFound, resolveResourcePath, type ResourcePath } from './routes.js';
import { createObject, deleteCollection, deleteObject, getObject, listObjects, patchObject, updateObject, type CrudEnv } from './crud.js';
import { serveWatch, type WatchOptions } from './watch.js';
import { bindPod, createAsSubresource, evict, getScale, updateScale } from './subresources.js';
import type { Authorizer, RequestAttributes } from './authz/types.js';
import { requestAttributes } from './authz/attributes.js';
import { forbiddenError } from './authz/forbidden.js';
import { impersonatedUser } from './authz/impersonation.js';

export interface HandlerOptions {
  registry: Registry;
  storage: ObjectStorage;
  /** Returns the user for a bearer token, or undefined. */
  authenticate(req: ApiRequest): UserInfo | undefined | Promise<UserInfo | undefined>;
  /** host:port clients should use, for legacy discovery. */
  serverAddress: string;
  clock?: Pick<Clock, 'now'>;
  /** Interval between watch bookmarks (ms). */
  bookmarkIntervalMs?: number;
  /** Relays pods/log, exec, attach and portforward to node agents. */
  nodeProxy?: NodeProxy;
  /** serviceaccounts/NAME/token (TokenRequest). */
  issueToken?: (namespace: string, name: string, request: KObject, user: UserInfo) => Promise<KObject>;
  /**
   * Create-only review resources (TokenReview, …), keyed `group/plural`: a POST answers 201 with
   * the filled-in object and stores nothing. The resource's `ResourceDef.review` is true.
   */
  reviews?: ReadonlyMap<string, (body: KObject, req: ApiRequest) => Promise<KObject>>;
  openApiSchemas?: Record<string, unknown>;
  /** metrics.k8s.io (default: scrapes the agents with the node proxy's token). */
  metrics?: MetricsApi;
  /**
   * Unauthenticated static content served before authentication (the web dashboard's assets
   * under /ui/): returns a response for the paths it owns, undefined for every other.
   */
  staticRoutes?: (req: ApiRequest) => ApiResponse | undefined;
  /** The authorization chain run after authentication on every request (none: everyone may do anything). */
  authorizer?: Authorizer;
  /** Audit backend: sees every request with its response (audit/auditor.ts). */
  audit?: { record(req: ApiRequest, res: ApiResponse, receivedMs: number): ApiResponse };
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export class ApiHandler {
  private openapiDocs?: OpenApi;
  private readonly metrics?: MetricsApi;
  private readonly crud: CrudEnv;
  private readonly watchOptions: WatchOptions;

  constructor(private readonly opts: HandlerOptions) {
    this.metrics = opts.metrics ?? metricsApiFromNodeProxy(opts.storage, opts.registry, opts.nodeProxy);
    const clock = opts.clock ?? realClock;
    const now = () => clock.now();
    this.crud = { storage: opts.storage, now };
    this.watchOptions = { cache: opts.storage.cache, now, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 30_000 };
  }

  /** Built on first use: rendering and hashing every group's document costs milliseconds at start. */
  private get openapi(): OpenApi {
    return (this.openapiDocs ??= new OpenApi(this.opts.registry, this.opts.openApiSchemas));
  }

  /** Handles one request; never throws (errors become Status responses). */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    if (!this.opts.audit) return this.handleRequest(req);
    const received = Date.now();
    return this.opts.audit.record(req, await this.handleRequest(req), received);
  }

  private async handleRequest(req: ApiRequest): Promise<ApiResponse> {
    try {
      return withWarnings(req, await this.route(req));
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
    const staticResponse = this.opts.staticRoutes?.(req);
    if (staticResponse) return staticResponse;
    const user = req.user ?? (await this.opts.authenticate(req));
    if (!user) throw unauthorized();
    req.user = await impersonatedUser(req.headers, user, this.opts.authorizer);
    await this.authorize(requestAttributes(req.user, req.method, req.path, req.query));

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
        if (!this.metrics) throw serviceUnavailable('the server is currently unable to handle the request (metrics.k8s.io: no node agents to scrape)');
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
    const rp = resolveResourcePath(reg, group, version, rest);
    return this.serveResource(req, rp);
  }

  private async serveResource(req: ApiRequest, rp: ResourcePath): Promise<ApiResponse> {
    const { def, name, subresource } = rp;
    const m = req.method.toUpperCase();
    const dryRun = req.query.getAll('dryRun');
    const ctx: WriteContext = {
      user: req.user!,
      // Checked before any verb runs: reads ignore dryRun, as upstream's do.
      dryRun: dryRun.length > 0 && m !== 'GET' && checkDryRun(m, dryRun),
      fieldManager: req.query.get('fieldManager') ?? undefined,
      warnings: (req.warnings ??= []),
      auditAnnotations: (req.auditAnnotations ??= {}),
    };
    if (ctx.fieldManager) checkFieldManager(m, ctx.fieldManager);
    const storage = this.opts.storage;
    if (def.review) {
      const review = this.opts.reviews?.get(`${def.group}/${def.plural}`);
      if (name || m !== 'POST' || !review) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
      return jsonResponse(201, await review(decodeBody(req), req));
    }
    if (!name) {
      if (m === 'GET') return queryBool(req.query, 'watch') ? serveWatch(this.watchOptions, req, rp) : listObjects(this.crud, req, rp);
      if (m === 'POST') return def.createAs ? createAsSubresource(storage, req, rp, ctx) : createObject(this.crud, req, rp, ctx);
      if (m === 'DELETE') {
        // Upstream registers deletecollection of a namespaced resource only under a namespace,
        // so DELETE /api/v1/pods finds no such route and is 405 (never "every pod everywhere").
        if (def.namespaced && !rp.namespace) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
        return deleteCollection(this.crud, req, rp, ctx);
      }
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    if (def.namespaced && !rp.namespace) throw pageNotFound();
    switch (subresource) {
      case '':
      case 'status':
      case 'approval':
        if (m === 'GET') return getObject(this.crud, req, rp);
        if (m === 'PUT') return updateObject(this.crud, req, rp, ctx);
        if (m === 'PATCH') return patchObject(this.crud, req, rp, ctx);
        if (m === 'DELETE' && !subresource) return deleteObject(this.crud, req, rp, ctx);
        break;
      case 'scale':
        if (m === 'GET') return getScale(storage, rp);
        if (m === 'PUT' || m === 'PATCH') return updateScale(storage, req, rp, ctx);
        break;
      case 'finalize':
        if (m === 'PUT') return updateObject(this.crud, req, rp, ctx);
        break;
      case 'binding':
        if (m === 'POST') return bindPod(storage, def, rp.namespace, name, decodeBody(req), ctx);
        break;
      case 'eviction':
        if (m === 'POST') return evict(storage, req, rp, ctx);
        break;
      case 'log':
        if (m !== 'GET') break;
        return await this.nodeProxy().log(rp.namespace, name, req.query);
      case 'exec':
      case 'attach':
      case 'portforward':
        throw badRequest('Upgrade request required');
      case 'token':
        if (m !== 'POST' || !this.opts.issueToken) break;
        return jsonResponse(201, await this.opts.issueToken(rp.namespace, name, decodeBody(req), req.user!));
      default:
        throw serviceUnavailable(`${def.plural}/${subresource} is not served by this server yet`);
    }
    throw methodNotAllowed(`the server does not allow this method on the requested resource`);
  }

  /** Throws upstream's 403 unless the authorization chain allows `attrs`. */
  private async authorize(attrs: RequestAttributes): Promise<void> {
    if (!this.opts.authorizer) return;
    const r = await this.opts.authorizer.authorize(attrs);
    if (r.decision !== 'allow') throw forbiddenError(attrs, r.reason);
  }

  /** The node proxy, for the HTTP layer's upgrade path. */
  nodeProxyOrThrow(): NodeProxy {
    return this.nodeProxy();
  }

  private nodeProxy(): NodeProxy {
    if (!this.opts.nodeProxy) throw serviceUnavailable('this server does not relay pod streams');
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
      req.user = await impersonatedUser(req.headers, user, this.opts.authorizer);
      const segs = req.path.split('/').slice(1).map(decodeURIComponent);
      // /api/v1/namespaces/{ns}/pods/{name}/{sub}
      if (segs.length !== 7 || segs[0] !== 'api' || segs[2] !== 'namespaces' || segs[4] !== 'pods' || !['exec', 'attach', 'portforward'].includes(segs[6])) {
        throw badRequest(`upgrade is only supported for pods/exec, pods/attach and pods/portforward`);
      }
      const sub = segs[6];
      // A WebSocket upgrade is a GET; upstream also requires create on the subresource
      // (AuthorizePodWebsocketUpgradeCreatePermission), the verb the SPDY POST needs.
      const attrs = requestAttributes(req.user, req.method, req.path, req.query);
      await this.authorize(attrs);
      if (attrs.verb !== 'create') await this.authorize({ ...attrs, verb: 'create' });
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
}

/** Upstream's FieldManagerMaxLength, in bytes. */
const FIELD_MANAGER_MAX_BYTES = 128;

/** Anything but what Go's unicode.IsPrint accepts: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const NOT_PRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu;

/**
 * Upstream's ValidateFieldManager, run before the body is decoded: at most 128 bytes and only
 * printable characters, else 422 naming the options kind. The manager name is stored in every
 * managedFields entry, so a huge or binary one would bloat or corrupt every object it touches.
 */
function checkFieldManager(method: string, fieldManager: string): void {
  // DeleteOptions carry no field manager.
  const kind = method === 'DELETE' ? undefined : writeOptionsKind(method);
  if (!kind) return;
  const errs: FieldError[] = [];
  if (Buffer.byteLength(fieldManager) > FIELD_MANAGER_MAX_BYTES) {
    errs.push({ type: 'FieldValueTooLong', field: 'fieldManager', detail: `may not be more than ${FIELD_MANAGER_MAX_BYTES} bytes` });
  }
  for (const m of fieldManager.matchAll(NOT_PRINTABLE)) {
    const cp = m[0].codePointAt(0)!;
    // Go reports the rune as %#U and its byte offset, not the UTF-16 index.
    const at = Buffer.byteLength(fieldManager.slice(0, m.index));
    const rune = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    errs.push(fieldErrors.invalid('fieldManager', fieldManager, `invalid character ${rune} (at position ${at})`));
  }
  if (errs.length) throw invalid('meta.k8s.io', kind, '', errs);
}

/** Admission warnings as RFC 7234 `Warning: 299 - "text"` values, which client-go prints as `Warning: text`. */
function withWarnings(req: ApiRequest, res: ApiResponse): ApiResponse {
  if (!req.warnings?.length) return res;
  // Header values are ASCII; a stray byte from a user's annotation must not make the response fail.
  const value = req.warnings.map((w) => `299 - ${JSON.stringify(w).replace(/[^\x20-\x7e]/g, '?')}`).join(', ');
  return { ...res, headers: { ...(res.headers ?? {}), warning: value } };
}

function discoveryResponse(doc: unknown): ApiResponse {
  return { status: 200, headers: { 'content-type': AGGREGATED_DISCOVERY_CONTENT_TYPE, vary: 'Accept' }, body: JSON.stringify(doc) };
}
