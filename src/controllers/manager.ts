/**
 * The controller manager (kube-controller-manager): builds the shared informers and event
 * recorders, and runs every enabled controller — after winning leader election on the
 * Lease kube-system/kube-controller-manager when that is enabled, so that several managers
 * can run and only one acts. Losing the lease stops the controllers.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { realClock, type Clock } from '../util/clock.js';
import { Recorder, type EventRecorder } from '../client/events.js';
import { SharedInformerFactory } from '../client/informer.js';
import { LeaderElector } from '../client/leader-election.js';
import type { Client } from '../client/types.js';
import { newDeploymentController } from './deployment.js';
import { newGarbageCollector } from './garbage-collector.js';
import { newNamespaceController } from './namespace.js';
import { newNodeLifecycleController } from './node-lifecycle.js';
import { newPodGCController } from './pod-gc.js';
import { newReplicaSetController } from './replicaset.js';
import { newServiceAccountController } from './service-account.js';
import { newEndpointsController } from './endpoints.js';
import { newEndpointSliceController } from './endpointslice.js';
import { newRootCaController } from './root-ca.js';
import { newTokensController } from './service-account-token.js';
import { newCsrApprovingController, newCsrSigningController } from './csr.js';
import { newLoadBalancerController } from './service-lb.js';
import { newJobController } from './job.js';
import { newHorizontalPodAutoscalerController } from './hpa.js';
import { newCronJobController } from './cronjob.js';
import { newDaemonSetController } from './daemonset.js';
import { newStatefulSetController } from './statefulset.js';
import { newPersistentVolumeController } from './persistentvolume.js';
import { newClusterRoleAggregationController } from './clusterrole-aggregation.js';
import { newTimelineController } from './timeline.js';
import { newNodeIpamController } from './node-ipam.js';
import type { Controller, ControllerContext, ControllerFactory, ControllerOptions } from './types.js';

/** Every controller by name, with its default worker count (upstream --concurrent-* flags). */
export const CONTROLLERS: Record<string, { factory: ControllerFactory; workers: number }> = {
  deployment: { factory: newDeploymentController, workers: 5 },
  replicaset: { factory: newReplicaSetController, workers: 5 },
  garbagecollector: { factory: newGarbageCollector, workers: 20 },
  namespace: { factory: newNamespaceController, workers: 10 },
  'node-lifecycle': { factory: newNodeLifecycleController, workers: 1 },
  'pod-gc': { factory: newPodGCController, workers: 1 },
  serviceaccount: { factory: newServiceAccountController, workers: 1 },
  endpoints: { factory: newEndpointsController, workers: 5 },
  endpointslice: { factory: newEndpointSliceController, workers: 5 },
  job: { factory: newJobController, workers: 5 },
  horizontalpodautoscaling: { factory: (ctx) => newHorizontalPodAutoscalerController(ctx), workers: 5 },
  cronjob: { factory: (ctx) => newCronJobController(ctx), workers: 5 },
  daemonset: { factory: newDaemonSetController, workers: 2 },
  statefulset: { factory: newStatefulSetController, workers: 5 },
  persistentvolume: { factory: newPersistentVolumeController, workers: 1 },
  'service-lb': { factory: (ctx) => newLoadBalancerController(ctx, { pool: ctx.options.loadBalancerPool }), workers: 1 },
  'clusterrole-aggregation': { factory: newClusterRoleAggregationController, workers: 1 },
  timeline: { factory: (ctx) => newTimelineController(ctx, { retentionSeconds: ctx.options.timelineRetentionSeconds, coalesceMs: ctx.options.timelineCoalesceMs }), workers: 2 },
};

/** Controllers that need configuration to run; started only when it is given. */
function configuredControllers(options: ControllerOptions): Record<string, { factory: ControllerFactory; workers: number }> {
  const out: Record<string, { factory: ControllerFactory; workers: number }> = {};
  if (options.rootCaPem) out['root-ca-cert-publisher'] = { factory: (ctx) => newRootCaController(ctx, { caPem: options.rootCaPem! }), workers: 1 };
  if (options.signingCa) {
    out.csrapproving = { factory: newCsrApprovingController, workers: 1 };
    out.csrsigning = { factory: (ctx) => newCsrSigningController(ctx, { ca: options.signingCa! }), workers: 1 };
  }
  if (options.rootCaPem && options.legacyTokenSigner) {
    out['serviceaccount-token'] = { factory: (ctx) => newTokensController(ctx, { caPem: options.rootCaPem!, sign: options.legacyTokenSigner! }), workers: 1 };
  }
  if (options.clusterCidr) {
    out['node-ipam'] = { factory: (ctx) => newNodeIpamController(ctx, { clusterCidr: options.clusterCidr!, nodeCidrMaskSize: options.nodeCidrMaskSize }), workers: 1 };
  }
  return out;
}

export interface ManagerOptions {
  client: Client;
  clock?: Clock;
  options?: ControllerOptions;
  /** Run only after winning the lease (default: disabled; set for multi-manager setups). */
  leaderElection?: false | {
    identity?: string;
    namespace?: string;
    name?: string;
    leaseDurationSeconds?: number;
    renewDeadlineSeconds?: number;
    retryPeriodSeconds?: number;
  };
  /**
   * The client each controller writes with, by controller name (upstream's
   * --use-service-account-credentials: one identity per controller); default `client`.
   * Informers, events and leader election always use `client`.
   */
  clientFor?: (controller: string) => Client;
  /** Worker counts by controller name (defaults in CONTROLLERS). */
  workers?: Record<string, number>;
  log?: (msg: string) => void;
}

/** A running manager. */
export interface ControllerManager {
  readonly informers: SharedInformerFactory;
  /** Names of the controllers that run now (empty while waiting for the lease). */
  running(): string[];
  /** Resolves once the controllers have been started (immediately without leader election). */
  started: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the controller manager. Usage (all-in-one):
 *   const mgr = startControllerManager({ client });  …  await mgr.stop();
 */
export function startControllerManager(opts: ManagerOptions): ControllerManager {
  const clock = opts.clock ?? realClock;
  const options = opts.options ?? {};
  const informers = new SharedInformerFactory(opts.client, { clock });
  const recorders = new Map<string, EventRecorder>();
  const host = hostname();
  const ctx: ControllerContext = {
    client: opts.client, informers, clock, options, log: opts.log,
    recorder: (component) => {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = new Recorder(opts.client, { component, host, clock })));
      return r;
    },
  };
  let controllers: Controller[] = [];
  let runs: Promise<void>[] = [];
  let markStarted!: () => void;
  const started = new Promise<void>((r) => { markStarted = r; });

  const startAll = () => {
    const all = { ...CONTROLLERS, ...configuredControllers(options) };
    const names = Object.keys(all).filter((n) => (!options.enabled || options.enabled.includes(n)) && !options.disabled?.includes(n));
    controllers = names.map((n) => all[n].factory(opts.clientFor ? { ...ctx, client: opts.clientFor(n) } : ctx));
    runs = controllers.map((c) => c.run(opts.workers?.[c.name] ?? all[c.name]?.workers ?? 1).catch((err) => {
      opts.log?.(`controller ${c.name} failed: ${(err as Error).message}`);
    }));
    informers.start();
    opts.log?.(`started controllers: ${names.join(', ')}`);
    markStarted();
  };
  const stopAll = async () => {
    for (const c of controllers) c.stop();
    informers.stop();
    await Promise.all(runs);
    controllers = [];
  };

  let elector: LeaderElector | undefined;
  let electorRun: Promise<void> | undefined;
  if (opts.leaderElection) {
    const le = opts.leaderElection;
    elector = new LeaderElector({
      client: opts.client, clock,
      name: le.name ?? 'kube-controller-manager', namespace: le.namespace ?? 'kube-system',
      identity: le.identity ?? `${host}_${randomUUID()}`,
      leaseDurationSeconds: le.leaseDurationSeconds, renewDeadlineSeconds: le.renewDeadlineSeconds, retryPeriodSeconds: le.retryPeriodSeconds,
      onStartedLeading: startAll,
      onStoppedLeading: () => {
        opts.log?.('leader election lost: stopping controllers');
        void stopAll();
      },
    });
    electorRun = elector.run();
  } else {
    startAll();
  }

  return {
    informers,
    started,
    running: () => controllers.map((c) => c.name),
    async stop() {
      elector?.stop();
      await electorRun;
      await stopAll();
    },
  };
}
