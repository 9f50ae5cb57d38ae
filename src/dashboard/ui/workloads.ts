/**
 * Workloads: Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs; and a
 * workload's page with scale, restart, roll back and rollout history (as kubectl rollout does).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { R, api, collectionPath, jsonPatch, mergePatch, objectPath, type K, type ResourceType } from './api.js';
import { useLive } from './live.js';
import { REVISION, age, ownedReplicaSets, restartPatch, rollbackPatch } from './model.js';
import { ActionButton, ErrorLine, Section, Table, link, yamlHref } from './widgets.js';
import { Timeline } from './pods.js';
import { useCan } from './access.js';

/** The kinds on the workloads page, with how each one's readiness reads. */
const KINDS: { r: ResourceType; title: string; ready: (o: K) => string; scalable: boolean; restartable: boolean }[] = [
  { r: R.deployments, title: 'Deployments', ready: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, scalable: true, restartable: true },
  { r: R.statefulsets, title: 'StatefulSets', ready: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, scalable: true, restartable: true },
  { r: R.daemonsets, title: 'DaemonSets', ready: (o) => `${o.status?.numberReady ?? 0}/${o.status?.desiredNumberScheduled ?? 0}`, scalable: false, restartable: true },
  { r: R.replicasets, title: 'ReplicaSets', ready: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, scalable: true, restartable: false },
  { r: R.jobs, title: 'Jobs', ready: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`, scalable: false, restartable: false },
  { r: R.cronjobs, title: 'CronJobs', ready: (o) => `${o.spec?.schedule ?? ''}${o.spec?.suspend ? ' (suspended)' : ''}`, scalable: false, restartable: false },
];

function sorted(items: Map<string, K>): K[] {
  return [...items.values()].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

function KindSection({ kind, ns }: { kind: (typeof KINDS)[number]; ns: string }): VNode {
  const live = useLive(collectionPath(kind.r, ns));
  const rows = useMemo(() => sorted(live.items), [live.version]);
  return html`<${Section} title=${`${kind.title} (${rows.length})`}>
    <${ErrorLine} error=${live.error} />
    <${Table} label=${kind.title.toLowerCase()} empty=${live.synced ? `No ${kind.title.toLowerCase()}.` : 'Loading…'} head=${['Namespace', 'Name', kind.r.kind === 'CronJob' ? 'Schedule' : 'Ready', 'Age', '']}
      rows=${rows.map((o) => [
        o.metadata.namespace,
        link(`/workloads/${kind.r.plural}/${o.metadata.namespace}/${o.metadata.name}`, o.metadata.name),
        kind.ready(o),
        age(o.metadata.creationTimestamp),
        link(yamlHref(objectPath(kind.r, o.metadata.namespace, o.metadata.name)), 'YAML'),
      ])} />
  </${Section}>`;
}

/** One kind at a time (a tab each): six watches at once would take every connection the browser has. */
export function Workloads({ ns, plural }: { ns: string; plural?: string }): VNode {
  const kind = KINDS.find((k) => k.r.plural === plural) ?? KINDS[0];
  return html`<div class="page"><h1>Workloads</h1>
    <nav class="tabs" aria-label="workload kinds">
      ${KINDS.map((k) => html`<a href=${`#/workloads/${k.r.plural}`} class=${k === kind ? 'active' : ''} aria-current=${k === kind ? 'page' : undefined}>${k.title}</a>`)}
    </nav>
    <${KindSection} key=${kind.r.plural} kind=${kind} ns=${ns} />
  </div>`;
}

/** One workload's page: its state, the controls the user may use, and for Deployments the rollout history. */
export function WorkloadPage({ plural, ns, name }: { plural: string; ns: string; name: string }): VNode {
  const kind = KINDS.find((k) => k.r.plural === plural);
  const live = useLive(kind ? `${collectionPath(kind.r, ns)}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}` : null);
  const obj = live.items.get(`${ns}/${name}`);
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  if (!kind) return html`<div class="page"><p class="error">unknown workload kind ${plural}</p></div>`;
  const path = objectPath(kind.r, ns, name);
  if (!obj) return html`<div class="page"><h1>${kind.r.kind} ${name}</h1><p class="muted">${live.synced ? `${kind.r.plural} "${name}" not found` : 'Loading…'}</p></div>`;
  return html`<div class="page">
    <h1>${kind.r.kind} ${name}</h1>
    <div class="toolbar">
      ${link(yamlHref(path), 'YAML', 'button')}
      ${kind.scalable ? html`<${ScaleControl} r=${kind.r} ns=${ns} name=${name} current=${obj.spec?.replicas ?? 0} onError=${setError} onDone=${setNotice} />` : null}
      ${kind.restartable
        ? html`<${ActionButton} access=${{ verb: 'patch', resource: plural, group: kind.r.group, namespace: ns, name }} label="Restart"
            run=${async () => {
              await mergePatch(path, restartPatch());
              setNotice(`${kind.r.kind.toLowerCase()}.${kind.r.group}/${name} restarted`);
            }} onError=${setError} />`
        : null}
      <${ActionButton} access=${{ verb: 'delete', resource: plural, group: kind.r.group, namespace: ns, name }} label="Delete" danger
        run=${async () => {
          if (confirm(`Delete ${kind.r.kind} ${name}?`)) await api(path, { method: 'DELETE' });
        }} onError=${setError} />
    </div>
    <${ErrorLine} error=${error} />
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <dl class="facts">
      <dt>Namespace</dt><dd>${ns}</dd><dt>Status</dt><dd>${kind.ready(obj)}</dd><dt>Age</dt><dd>${age(obj.metadata.creationTimestamp)}</dd>
      <dt>Images</dt><dd>${(obj.spec?.template?.spec?.containers ?? obj.spec?.jobTemplate?.spec?.template?.spec?.containers ?? []).map((c: K) => c.image).join(', ')}</dd>
    </dl>
    ${kind.r === R.deployments ? html`<${RolloutHistory} deployment=${obj} onError=${setError} onDone=${setNotice} />` : null}
    ${kind.r === R.deployments ? html`<${Timeline} ns=${ns} kind="deployment" name=${name} />` : null}
  </div>`;
}

/** Replicas, set through the scale subresource (as `kubectl scale`). */
function ScaleControl({ r, ns, name, current, onError, onDone }: { r: ResourceType; ns: string; name: string; current: number; onError: (e?: string) => void; onDone: (m?: string) => void }): VNode | null {
  const [want, setWant] = useState<string>('');
  const allowed = useCan({ verb: 'patch', resource: r.plural, group: r.group, subresource: 'scale', namespace: ns, name });
  if (!allowed) return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    onError(undefined);
    const n = Number(want === '' ? current : want);
    try {
      await mergePatch(`${objectPath(r, ns, name)}/scale`, { spec: { replicas: n } });
      onDone(`${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${name} scaled to ${n}`);
      setWant('');
    } catch (err) {
      onError((err as Error).message);
    }
  };
  return html`<form class="inline" onSubmit=${submit}>
    <label>Replicas <input type="number" min="0" aria-label="replicas" value=${want === '' ? String(current) : want} onInput=${(e: Event) => setWant((e.target as HTMLInputElement).value)} /></label>
    <button type="submit">Scale</button>
  </form>`;
}

/** ReplicaSets by revision, with "roll back" to the previous one (`kubectl rollout undo`). */
function RolloutHistory({ deployment, onError, onDone }: { deployment: K; onError: (e?: string) => void; onDone: (m?: string) => void }): VNode {
  const ns = deployment.metadata.namespace;
  const rsLive = useLive(collectionPath(R.replicasets, ns));
  const owned = useMemo(() => ownedReplicaSets(deployment, rsLive.items.values()), [rsLive.version, deployment.metadata.uid]);
  const path = objectPath(R.deployments, ns, deployment.metadata.name);
  return html`<${Section} title="Rollout history"
    right=${html`<${ActionButton} access=${{ verb: 'patch', resource: 'deployments', group: 'apps', namespace: ns, name: deployment.metadata.name }} label="Roll back"
      run=${async () => {
        const p = rollbackPatch(deployment, rsLive.items.values());
        if ('error' in p) throw new Error(`error: ${p.error}`);
        await jsonPatch(path, p.ops);
        onDone(`deployment.apps/${deployment.metadata.name} rolled back (to revision ${p.revision})`);
      }} onError=${onError} />`}>
    <${Table} label="replicasets" empty="No ReplicaSets yet." head=${['Revision', 'ReplicaSet', 'Replicas', 'Ready', 'Images', 'Age']}
      rows=${owned.map((rs) => [
        rs.metadata.annotations?.[REVISION] ?? '',
        link(`/workloads/replicasets/${ns}/${rs.metadata.name}`, rs.metadata.name),
        rs.spec?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        (rs.spec?.template?.spec?.containers ?? []).map((c: K) => c.image).join(', '),
        age(rs.metadata.creationTimestamp),
      ])} />
  </${Section}>`;
}
