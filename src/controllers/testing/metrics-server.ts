/**
 * A stand-in for metrics-server in controller tests: serves metrics.k8s.io PodMetrics that
 * the test writes itself (create, delete, get, list by label selector), so an autoscaler test
 * states the usage it wants instead of running containers. Upstream serves this group from
 * metrics-server through the aggregator, not from the API server's storage, and its HPA
 * tests fake the metrics client the same way.
 */
import { alreadyExists, methodNotAllowed, notFound } from '../../api/errors.js';
import { parseSelector } from '../../api/labels.js';
import type { Client, DeleteOptions, KObject, ListOptions, ObjectList, ResourceRef, WatchEvent, WatchOptions } from '../../client/types.js';

export class MetricsServerStandIn implements Client {
  private readonly pods = new Map<string, KObject>();

  async get<T>(r: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    const o = this.pods.get(`${namespace}/${name}`);
    if (!o) throw notFound({ group: r.group, resource: r.resource }, name);
    return structuredClone(o) as T;
  }

  async list<T>(_r: ResourceRef, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const sel = opts.labelSelector ? parseSelector(opts.labelSelector) : undefined;
    const items = [...this.pods.values()]
      .filter((o) => (!namespace || o.metadata?.namespace === namespace) && (!sel || sel.matches(o.metadata?.labels)))
      .map((o) => structuredClone(o) as T);
    return { metadata: { resourceVersion: '' }, items };
  }

  async create<T>(r: ResourceRef, namespace: string | undefined, obj: T): Promise<T> {
    const o = structuredClone(obj) as KObject;
    const md = (o.metadata ??= {});
    md.namespace = namespace ?? md.namespace;
    const key = `${md.namespace}/${md.name}`;
    if (this.pods.has(key)) throw alreadyExists({ group: r.group, resource: r.resource }, md.name ?? '');
    o.apiVersion = `${r.group}/${r.version}`;
    o.kind = r.kind;
    this.pods.set(key, o);
    return structuredClone(o) as T;
  }

  async delete<T = unknown>(r: ResourceRef, namespace: string | undefined, name: string, _opts?: DeleteOptions): Promise<T> {
    const o = this.pods.get(`${namespace}/${name}`);
    if (!o) throw notFound({ group: r.group, resource: r.resource }, name);
    this.pods.delete(`${namespace}/${name}`);
    return o as T;
  }

  watch<T>(_r: ResourceRef, _ns: string | undefined, _opts: WatchOptions, _onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): { cancel(): void } {
    queueMicrotask(() => onClose(methodNotAllowed('metrics.k8s.io serves only get, list, and (in tests) create and delete')));
    return { cancel: () => {} };
  }

  async update<T>(): Promise<T> { throw methodNotAllowed('metrics.k8s.io serves only get, list, and (in tests) create and delete'); }
  async patch<T>(): Promise<T> { throw methodNotAllowed('metrics.k8s.io serves only get, list, and (in tests) create and delete'); }
}
