/** The shape every controller shares, and what the manager hands each one. */
import type { Clock } from '../util/clock.js';
import type { EventRecorder } from '../client/events.js';
import type { SharedInformerFactory } from '../client/informer.js';
import type { Client, ResourceRef } from '../client/types.js';
import type { LegacyTokenClaims } from './service-account-token.js';
import type { CertKeyPem } from '../client/cert.js';

/** Tunables of the controllers; every field has the upstream default. */
export interface ControllerOptions {
  /** ReplicaSet: most pods created or deleted in one sync (upstream BurstReplicas 500). */
  burstReplicas?: number;
  /** Node lifecycle: how long a node may go without renewing its lease before it is Unknown (50 s). */
  nodeMonitorGracePeriodSeconds?: number;
  /** Node lifecycle: how often node health is checked (5 s). */
  nodeMonitorPeriodSeconds?: number;
  /** Pod GC: terminated pods kept before the oldest are deleted (12,500). */
  terminatedPodGCThreshold?: number;
  /** Pod GC: how often it runs (20 s). */
  podGCPeriodSeconds?: number;
  /** Garbage collector: the resources whose ownerReferences it follows. */
  gcResources?: readonly ResourceRef[];
  /** Namespace controller: the namespaced resources emptied when a namespace is deleted. */
  namespacedResources?: readonly ResourceRef[];
  /** The cluster CA (PEM) published as the kube-root-ca.crt ConfigMap in every namespace. */
  rootCaPem?: string;
  /** Signs legacy service-account tokens (the API server's key); with rootCaPem, runs the tokens controller. */
  legacyTokenSigner?: (claims: LegacyTokenClaims) => Promise<string>;
  /** The cluster CA (certificate and key): with it the CSR approver and signer run. */
  signingCa?: CertKeyPem;
  /** Addresses for type=LoadBalancer Services (default 127.0.1.0/24, reachable from the host). */
  loadBalancerPool?: string;
  /** Timeline recorder: how long a Timeline outlives its object (3600 s). */
  timelineRetentionSeconds?: number;
  /** Timeline recorder: least time between two writes of one Timeline (1000 ms). */
  timelineCoalesceMs?: number;
  /** Node IPAM: the range node pod subnets are cut from (upstream --cluster-cidr); without it the controller is off. */
  clusterCidr?: string;
  /** Node IPAM: prefix length of each node's pod subnet (upstream --node-cidr-mask-size, 24). */
  nodeCidrMaskSize?: number;
  /** Controllers to run (default: all), by name. */
  enabled?: readonly string[];
  /** Controllers not to run, by name (kube-controller-manager's `--controllers=*,-name`). */
  disabled?: readonly string[];
}

/** Builds an event recorder writing with `source.component` = component. */
export type RecorderFactory = (component: string) => EventRecorder;

/** Everything a controller needs; built by the manager (or by a test). */
export interface ControllerContext {
  client: Client;
  informers: SharedInformerFactory;
  recorder: RecorderFactory;
  clock: Clock;
  options: ControllerOptions;
  log?: (msg: string) => void;
}

/** A running controller. */
export interface Controller {
  readonly name: string;
  /** Waits for its informers to sync, then runs `workers` workers; resolves after stop(). */
  run(workers: number): Promise<void>;
  stop(): void;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;
