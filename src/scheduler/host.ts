/**
 * Runs the scheduler as an API client (the one rule): informers on Nodes and Pods feed it, and
 * its decisions go back through pods/binding, pod status and Events.
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod, Node } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { isReason } from '../api/errors.js';
import { Informer, type SharedInformerFactory } from '../client/informer.js';
import { NAMESPACES, NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES } from '../client/resources.js';
import { Recorder } from '../client/events.js';
import type { Client, KObject } from '../client/types.js';
import { ActionType, type StorageLister } from './framework.js';
import { Scheduler, type SchedulerHost, type SchedulerOptions } from './scheduler.js';
import { rfc3339 } from '../util/clock.js';

export interface RunningScheduler {
  scheduler: Scheduler;
  stop(): Promise<void>;
}

/** An API-backed SchedulerHost: binding, unschedulable reports, preemption. */
export function apiSchedulerHost(client: Client, schedulerName = 'default-scheduler'): SchedulerHost {
  const recorder = new Recorder(client, { component: schedulerName });
  return {
    async bind(pod: Pod, nodeName: string) {
      const md = pod.metadata!;
      await client.create(
        PODS,
        md.namespace,
        { apiVersion: 'v1', kind: 'Binding', metadata: { name: md.name, namespace: md.namespace, uid: md.uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
        { name: md.name, subresource: 'binding' },
      );
      recorder.event(pod as KObject, 'Normal', 'Scheduled', `Successfully assigned ${md.namespace}/${md.name} to ${nodeName}`);
    },
    async reportUnschedulable(pod: Pod, message: string) {
      const md = pod.metadata!;
      recorder.event(pod as KObject, 'Warning', 'FailedScheduling', message);
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (prev?.status === 'False' && prev.message === message) return;
      conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null as unknown as string, lastTransitionTime: rfc3339(Date.now()) });
      try {
        await client.patch(PODS, md.namespace, md.name!, 'merge', { status: { conditions } }, { subresource: 'status' });
      } catch (err) {
        if (!isReason(err, 'NotFound')) throw err;
      }
    },
    async evict(victim: Pod, preemptor: Pod) {
      const md = victim.metadata!;
      recorder.event(victim as KObject, 'Normal', 'Preempted', `Preempted by pod ${preemptor.metadata?.uid} on node ${victim.spec?.nodeName}`);
      try {
        await client.delete(PODS, md.namespace, md.name!, { preconditions: { uid: md.uid } });
      } catch (err) {
        if (!isReason(err, 'NotFound')) throw err;
      }
    },
    async nominate(pod: Pod, nodeName: string) {
      const md = pod.metadata!;
      await client.patch(PODS, md.namespace, md.name!, 'merge', { status: { nominatedNodeName: nodeName || null } }, { subresource: 'status' });
    },
  };
}

/**
 * Starts informers and the scheduling loop; resolves once the caches have synced. With a
 * shared informer factory (the controller manager's, in one process) the scheduler reads the
 * same caches as the controllers instead of keeping its own copy of every pod and node.
 */
export async function startScheduler(client: Client, opts: SchedulerOptions = {}, shared?: SharedInformerFactory): Promise<RunningScheduler> {
  const informer = (ref: typeof NODES) => (shared ? shared.informerFor<KObject>(ref) : new Informer<KObject>(client, ref));
  const nodes = informer(NODES);
  const pods = informer(PODS);
  const namespaces = informer(NAMESPACES);
  const claims = informer(PERSISTENT_VOLUME_CLAIMS);
  const volumes = informer(PERSISTENT_VOLUMES);
  const classes = informer(STORAGE_CLASSES);
  const storage: StorageLister = {
    claim: (ns, name) => claims.get(ns, name) as PersistentVolumeClaim | undefined,
    volume: (name) => volumes.get(undefined, name) as PersistentVolume | undefined,
    volumes: () => volumes.list() as PersistentVolume[],
    storageClass: (name) => classes.get(undefined, name) as StorageClass | undefined,
  };
  const scheduler = new Scheduler(apiSchedulerHost(client, opts.schedulerName), { storage, ...opts });
  const handlers: { remove(): void }[] = [];
  for (const [inf, resource] of [[claims, 'PersistentVolumeClaim'], [volumes, 'PersistentVolume'], [classes, 'StorageClass']] as const) {
    handlers.push(inf.addEventHandler({
      onAdd: (o) => scheduler.storageChanged(resource, ActionType.Add, undefined, o),
      onUpdate: (o, n) => scheduler.storageChanged(resource, ActionType.Update, o, n),
      onDelete: (o) => scheduler.storageChanged(resource, ActionType.Delete, o, undefined),
    }));
  }
  handlers.push(nodes.addEventHandler({
    onAdd: (n) => scheduler.addNode(n as Node),
    onUpdate: (o, n) => scheduler.updateNode(o as Node, n as Node),
    onDelete: (n) => scheduler.deleteNode(n as Node),
  }));
  handlers.push(pods.addEventHandler({
    onAdd: (p) => scheduler.addPod(p as Pod),
    onUpdate: (o, p) => scheduler.updatePod(o as Pod, p as Pod),
    onDelete: (p) => scheduler.deletePod(p as Pod),
  }));
  handlers.push(namespaces.addEventHandler({
    onAdd: (n) => scheduler.addNamespace?.(n as never),
    onUpdate: (o, n) => scheduler.updateNamespace?.(o as never, n as never),
    onDelete: (n) => scheduler.deleteNamespace?.(n as never),
  }));
  for (const i of [nodes, namespaces, claims, volumes, classes]) i.start();
  await Promise.all([nodes, namespaces, claims, volumes, classes].map((i) => i.waitForSync()));
  pods.start();
  await pods.waitForSync();
  scheduler.start();
  return {
    scheduler,
    async stop() {
      for (const h of handlers) h.remove();
      // Shared informers belong to their factory; only our own are stopped here.
      if (!shared) for (const i of [pods, nodes, namespaces, claims, volumes, classes]) i.stop();
      await scheduler.stop();
    },
  };
}
