/**
 * Pod Security admission, as upstream's built-in PodSecurity plugin
 * (k8s.io/pod-security-admission/admission): pods are held to their namespace's `enforce`
 * level (refused with `violates PodSecurity "LEVEL:VERSION": …`), `warn` violations become
 * `Warning` headers and `audit` violations audit annotations; workloads (Deployments, Jobs, …)
 * get warnings and audit annotations only; a namespace whose enforce level tightens warns about
 * its existing pods that would violate it; exempt usernames, namespaces and runtime classes
 * are not checked.
 */
import { forbidden, invalid } from '../../../api/errors.js';
import { jsonEqual } from '../../../api/meta.js';
import type { KObject, Registry, ResourceDef } from '../../../api/registry.js';
import type { AdmissionPlugin, WriteContext } from '../../objects.js';
import type { WatchCache } from '../../watch-cache.js';
import {
  AUDIT_ANNOTATIONS,
  compareLevels,
  equivalent,
  fullyPrivileged,
  LABELS,
  levelVersionString,
  policyToEvaluate,
  sameLevelVersion,
  versionString,
  type LevelVersion,
  type Policy,
} from './api.js';
import type { Json } from './check.js';
import { DEFAULT_POD_SECURITY_CONFIG, type PodSecurityConfig } from './config.js';
import { Evaluator, forbiddenDetail, forbiddenReason, type AggregateResult } from './evaluator.js';
import { hasPodTemplate, podTemplateOf } from './pod-spec.js';

export interface PodSecurityOptions {
  cache: WatchCache;
  registry: Registry;
  config?: PodSecurityConfig;
  /** How many existing pods a namespace label change checks (upstream: 3000). */
  maxPodsToCheck?: number;
}

function warn(ctx: WriteContext, message: string): void {
  ctx.warnings?.push(message);
}

function annotate(ctx: WriteContext, key: string, value: string): void {
  if (ctx.auditAnnotations) ctx.auditAnnotations[key] = value;
}

/** Upstream's isSignificantPodUpdate: only container images (and added containers) change what a pod may do. */
function significantPodUpdate(pod: Json, old: Json): boolean {
  const s = pod.spec ?? {};
  const o = old.spec ?? {};
  const images = (list: Json[] | undefined) => (list ?? []).map((c) => c?.image);
  if ((s.containers ?? []).length !== (o.containers ?? []).length) return true;
  if ((s.initContainers ?? []).length !== (o.initContainers ?? []).length) return true;
  if (!jsonEqual(images(s.containers), images(o.containers)) || !jsonEqual(images(s.initContainers), images(o.initContainers))) return true;
  for (const c of (s.ephemeralContainers ?? []) as Json[]) {
    const oc = ((o.ephemeralContainers ?? []) as Json[]).find((x) => x?.name === c?.name);
    if (!oc || oc.image !== c?.image) return true;
  }
  return false;
}

export function podSecurityAdmission(opts: PodSecurityOptions): AdmissionPlugin {
  const config = opts.config ?? DEFAULT_POD_SECURITY_CONFIG;
  const evaluator = new Evaluator();
  const maxPods = opts.maxPodsToCheck ?? 3000;
  const nsDef = opts.registry.byKind('', 'Namespace')!;
  const podDef = opts.registry.byKind('', 'Pod')!;
  const exempt = config.exemptions;

  const exemptNamespaceWarning = (name: string, policy: Policy, labels: Record<string, string>): string | undefined => {
    const d = config.defaults;
    if (fullyPrivileged(policy) || (equivalent(policy.enforce, d.enforce) && equivalent(policy.audit, d.audit) && equivalent(policy.warn, d.warn))) return undefined;
    const parts: string[] = [];
    for (const [mode, level, version] of [['enforce', LABELS.enforce, LABELS.enforceVersion], ['audit', LABELS.audit, LABELS.auditVersion], ['warn', LABELS.warn, LABELS.warnVersion]] as const) {
      const lv = policy[mode];
      if (lv.level !== 'privileged' && (level in labels || version in labels)) parts.push(`${mode}=${levelVersionString(lv)}`);
    }
    return `namespace ${JSON.stringify(name)} is exempt from Pod Security, and the policy (${parts.join(', ')}) will be ignored`;
  };

  /** Warnings for the pods already in a namespace whose enforce level is about to tighten. */
  const evaluatePodsInNamespace = (namespace: string, enforce: LevelVersion): string[] => {
    const pods = opts.cache.list(podDef, namespace).map((c) => c.obj as Json);
    // As upstream's prioritizePods: one pod per controller first, so a big ReplicaSet does not crowd out the rest.
    const seen = new Set<string>();
    const first: Json[] = [];
    const rest: Json[] = [];
    for (const pod of pods) {
      if (pod.spec?.runtimeClassName && exempt.runtimeClasses.includes(pod.spec.runtimeClassName)) continue;
      const ctl = ((pod.metadata?.ownerReferences ?? []) as Json[]).find((r) => r.controller);
      if (!ctl) first.push(pod);
      else if (seen.has(ctl.uid)) rest.push(pod);
      else {
        seen.add(ctl.uid);
        first.push(pod);
      }
    }
    const ordered = [...first, ...rest];
    const checked = ordered.slice(0, maxPods);
    const byWarning = new Map<string, { podName: string; count: number }>();
    for (const pod of checked) {
      const r = evaluator.evaluateAggregate(enforce, pod.metadata ?? {}, pod.spec ?? {});
      if (r.allowed) continue;
      const w = forbiddenReason(r);
      const c = byWarning.get(w);
      if (!c) byWarning.set(w, { podName: pod.metadata?.name, count: 1 });
      else {
        c.count++;
        if (pod.metadata?.name < c.podName) c.podName = pod.metadata?.name;
      }
    }
    const out: string[] = [];
    if (checked.length < ordered.length) out.push(`new PodSecurity enforce level only checked against the first ${checked.length} of ${ordered.length} existing pods`);
    if (byWarning.size) out.push(`existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelVersionString(enforce))}`);
    const podWarnings = [...byWarning].map(([w, c]) =>
      c.count === 1 ? `${c.podName}: ${w}` : c.count === 2 ? `${c.podName} (and 1 other pod): ${w}` : `${c.podName} (and ${c.count - 1} other pods): ${w}`,
    );
    return [...out, ...podWarnings.sort()];
  };

  const validateNamespace = (op: string, obj: KObject, old: KObject | undefined, ctx: WriteContext) => {
    const name = obj.metadata?.name ?? '';
    const labels = obj.metadata?.labels ?? {};
    const { policy, errors } = policyToEvaluate(labels, config.defaults);
    if (op === 'CREATE') {
      if (errors.length) throw invalid('', 'Namespace', name, errors);
      if (exempt.namespaces.includes(name)) {
        const w = exemptNamespaceWarning(name, policy, labels);
        if (w) warn(ctx, w);
      }
      return;
    }
    const before = policyToEvaluate(old?.metadata?.labels ?? {}, config.defaults);
    if (errors.length && (!before.errors.length || !jsonEqual(errors, before.errors))) throw invalid('', 'Namespace', name, errors);
    const [n, o] = [policy.enforce, before.policy.enforce];
    if (sameLevelVersion(n, o) || n.level === 'privileged') return;
    if (versionString(n.version) === versionString(o.version) && compareLevels(n.level, o.level) < 1) return;
    if (exempt.namespaces.includes(name)) {
      const w = exemptNamespaceWarning(name, policy, labels);
      if (w) warn(ctx, w);
      return;
    }
    for (const w of evaluatePodsInNamespace(name, n)) warn(ctx, w);
  };

  /** Runs enforce (pods only), audit and warn for one pod (template). */
  const evaluate = (def: ResourceDef, name: string, policy: Policy, policyErrors: string | undefined, metadata: Json, spec: Json, ctx: WriteContext, enforce: boolean) => {
    if (spec.runtimeClassName && exempt.runtimeClasses.includes(spec.runtimeClassName)) {
      annotate(ctx, AUDIT_ANNOTATIONS.exempt, 'runtimeClass');
      return;
    }
    if (policyErrors) annotate(ctx, AUDIT_ANNOTATIONS.error, `Failed to parse policy: ${policyErrors}`);
    const results = new Map<string, AggregateResult>();
    const result = (lv: LevelVersion) => {
      const k = levelVersionString(lv);
      let r = results.get(k);
      if (!r) results.set(k, (r = evaluator.evaluateAggregate(lv, metadata, spec)));
      return r;
    };
    let refusal: Error | undefined;
    if (enforce) {
      annotate(ctx, AUDIT_ANNOTATIONS.enforcePolicy, levelVersionString(policy.enforce));
      const r = result(policy.enforce);
      if (!r.allowed) refusal = forbidden({ group: def.group, resource: def.plural }, name, `violates PodSecurity ${JSON.stringify(levelVersionString(policy.enforce))}: ${forbiddenDetail(r)}`);
    }
    const a = result(policy.audit);
    if (!a.allowed) annotate(ctx, AUDIT_ANNOTATIONS.auditViolations, `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.audit))}: ${forbiddenDetail(a)}`);
    if (refusal) throw refusal;
    const w = result(policy.warn);
    if (!w.allowed) warn(ctx, `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.warn))}: ${forbiddenDetail(w)}`);
  };

  return (op, def, obj, old, ctx) => {
    if (op !== 'CREATE' && op !== 'UPDATE') return;
    if (def === nsDef) return validateNamespace(op, obj, old, ctx);
    const isPod = def === podDef;
    if (!isPod && !hasPodTemplate(def.group, def.kind)) return;
    const namespace = obj.metadata?.namespace ?? '';
    if (exempt.namespaces.includes(namespace)) return annotate(ctx, AUDIT_ANNOTATIONS.exempt, 'namespace');
    if (exempt.usernames.includes(ctx.user.name)) return annotate(ctx, AUDIT_ANNOTATIONS.exempt, 'user');
    const ns = opts.cache.get(nsDef, '', namespace);
    const { policy, errors } = policyToEvaluate(ns?.obj.metadata?.labels ?? {}, config.defaults);
    const errText = errors.length ? errors.map((e) => `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`).join(', ') : undefined;
    if (isPod) {
      if (!errText && fullyPrivileged(policy)) return;
      if (op === 'UPDATE' && old && !significantPodUpdate(obj as Json, old as Json)) return;
      return evaluate(def, obj.metadata?.name ?? '', policy, errText, obj.metadata ?? {}, (obj as Json).spec ?? {}, ctx, true);
    }
    if (!errText && policy.warn.level === 'privileged' && policy.audit.level === 'privileged') return;
    const t = podTemplateOf(def.group, def.kind, obj);
    if (!t) return;
    // Status writes of controllers leave the template alone; upstream skips subresources.
    if (op === 'UPDATE' && old && jsonEqual(t, podTemplateOf(def.group, def.kind, old))) return;
    return evaluate(def, obj.metadata?.name ?? '', policy, errText, t.metadata, t.spec, ctx, false);
  };
}
