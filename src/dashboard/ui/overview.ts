/** The overview page: nodes with capacity and allocation, pods by phase, recent warnings, version. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import { R, collectionPath, type K } from './api.js';
import { useGet, useLive } from './live.js';
import { age, bytes, nodeUsage, phaseCounts } from './model.js';
import { Badge, ErrorLine, Section, Table, link } from './widgets.js';

function pct(used: number, total: number): string {
  return total ? `${Math.round((used / total) * 100)}%` : '–';
}

export function Overview({ ns }: { ns: string }): VNode {
  const nodes = useLive(collectionPath(R.nodes));
  const pods = useLive(collectionPath(R.pods));
  const events = useLive(collectionPath(R.events, ns));
  const version = useGet('/version');
  const usage = useMemo(() => nodeUsage(nodes.items.values(), pods.items.values()), [nodes.version, pods.version]);
  const phases = useMemo(() => {
    const scoped = ns ? [...pods.items.values()].filter((p) => p.metadata?.namespace === ns) : pods.items.values();
    return phaseCounts(scoped);
  }, [pods.version, ns]);
  const warnings = useMemo(
    () =>
      [...events.items.values()]
        .filter((e) => e.type === 'Warning')
        .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')))
        .slice(0, 20),
    [events.version],
  );
  const v = version.value as K | undefined;
  return html`<div class="page">
    <h1>Overview</h1>
    <p class="muted">${v ? `skiff ${v.gitVersion ?? ''} (${v.platform ?? ''})` : ''}</p>
    <${Section} title=${`Nodes (${usage.length})`}>
      <${ErrorLine} error=${nodes.error} />
      <${Table} label="nodes" empty=${nodes.synced ? 'No nodes.' : 'Loading…'} head=${['Name', 'Status', 'CPU requested', 'Memory requested', 'Pods']}
        rows=${usage.map((u) => [
          u.name,
          html`<${Badge} text=${u.ready ? 'Ready' : 'NotReady'} />`,
          `${u.cpuMilli.requested}m / ${u.cpuMilli.allocatable}m (${pct(u.cpuMilli.requested, u.cpuMilli.allocatable)})`,
          `${bytes(u.memory.requested)} / ${bytes(u.memory.allocatable)} (${pct(u.memory.requested, u.memory.allocatable)})`,
          `${u.pods.running} / ${u.pods.allocatable}`,
        ])} />
    </${Section}>
    <${Section} title="Pods by phase">
      <div class="tiles" aria-label="pods by phase">
        ${['Running', 'Pending', 'Succeeded', 'Failed', 'Unknown'].map((p) => html`<a class="tile" href="#/pods"><b>${phases[p] ?? 0}</b><span>${p}</span></a>`)}
      </div>
    </${Section}>
    <${Section} title="Recent warnings">
      <${ErrorLine} error=${events.error} />
      <${Table} label="warnings" empty="No warnings." head=${['Age', 'Object', 'Reason', 'Message']}
        rows=${warnings.map((e) => [
          age(e.lastTimestamp ?? e.eventTime),
          e.involvedObject?.kind === 'Pod' ? link(`/pods/${e.involvedObject.namespace}/${e.involvedObject.name}`, `pod/${e.involvedObject.name}`) : `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
          e.reason,
          e.message,
        ])} />
    </${Section}>
  </div>`;
}
