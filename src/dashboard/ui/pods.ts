/** The pod list (live from a watch, virtualized) and the pod page (containers, logs, exec, timeline). */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { R, api, collectionPath, objectPath, servedGroups, streamLines, withQuery, type K } from './api.js';
import { useLive } from './live.js';
import { age, eventsAsTimeline, matches, podRow, type TimelineEntry } from './model.js';
import { ActionButton, Badge, ErrorLine, Section, Table, VirtualTable, link, yamlHref } from './widgets.js';

/** The pod list of a namespace (or all), filtered as the user types. */
export function PodList({ ns, filter, setFilter, onlyNamespace }: { ns: string; filter: string; setFilter: (f: string) => void; onlyNamespace?: string }): VNode {
  const scope = onlyNamespace ?? ns;
  const live = useLive(collectionPath(R.pods, scope));
  const rows = useMemo(() => {
    const all = [...live.items.values()].map(podRow);
    const shown = filter ? all.filter((r) => matches(`${r.namespace} ${r.name} ${r.status} ${r.node} ${r.ip}`, filter)) : all;
    return shown.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }, [live.version, filter]);
  const now = Date.now();
  return html`<div class="page">
    <h1>${onlyNamespace === 'docker' ? 'Docker containers' : 'Pods'}</h1>
    <div class="toolbar">
      <input type="search" id="filter" placeholder="Filter (press /)" aria-label="filter pods" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
      <span class="muted" data-testid="pod-count">${live.synced ? `${rows.length} pods` : 'Loading…'}</span>
    </div>
    <${ErrorLine} error=${live.error} />
    <${VirtualTable} label="pods" count=${rows.length} head=${['Namespace', 'Name', 'Ready', 'Status', 'Restarts', 'Node', 'IP', 'Age']}
      row=${(i: number) => {
        const r = rows[i];
        return [r.namespace, link(`/pods/${r.namespace}/${r.name}`, r.name), r.ready, html`<${Badge} text=${r.status} />`, r.restarts, r.node, r.ip, age(r.created, now)];
      }} />
  </div>`;
}

/** The pod page. */
export function PodPage({ ns, name }: { ns: string; name: string }): VNode {
  const live = useLive(withQuery(collectionPath(R.pods, ns), { fieldSelector: `metadata.name=${name}` }));
  const pod = live.items.get(`${ns}/${name}`);
  const [error, setError] = useState<string | undefined>();
  const containers: string[] = (pod?.spec?.containers ?? []).map((c: K) => c.name);
  const [container, setContainer] = useState<string>('');
  const c = container || containers[0] || '';
  const path = objectPath(R.pods, ns, name);
  if (!pod) {
    return html`<div class="page"><h1>Pod ${name}</h1><p class="muted">${live.synced ? `pods "${name}" not found` : 'Loading…'}</p><${ErrorLine} error=${live.error} /></div>`;
  }
  const row = podRow(pod);
  const statuses: K[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return html`<div class="page">
    <h1>Pod ${name} <${Badge} text=${row.status} /></h1>
    <div class="toolbar">
      ${link(yamlHref(path), 'YAML', 'button')}
      <${ActionButton} access=${{ verb: 'delete', resource: 'pods', namespace: ns, name }} label="Delete" danger
        run=${async () => {
          if (confirm(`Delete pod ${name}?`)) await api(path, { method: 'DELETE' });
        }} onError=${setError} />
    </div>
    <${ErrorLine} error=${error} />
    <dl class="facts">
      <dt>Namespace</dt><dd>${ns}</dd><dt>Node</dt><dd>${row.node || '–'}</dd><dt>IP</dt><dd>${row.ip || '–'}</dd>
      <dt>Ready</dt><dd>${row.ready}</dd><dt>Restarts</dt><dd>${row.restarts}</dd><dt>Age</dt><dd>${age(row.created)}</dd>
    </dl>
    <${Section} title="Containers">
      <${Table} label="containers" head=${['Name', 'Image', 'State', 'Ready', 'Restarts']} empty="No container has started yet."
        rows=${statuses.map((s) => [s.name, s.image, containerState(s), s.ready ? 'yes' : 'no', s.restartCount ?? 0])} />
    </${Section}>
    <${Section} title="Conditions">
      <${Table} label="conditions" head=${['Type', 'Status', 'Reason', 'Message']}
        rows=${(pod.status?.conditions ?? []).map((k: K) => [k.type, k.status, k.reason ?? '', k.message ?? ''])} />
    </${Section}>
    <${Timeline} ns=${ns} kind="pod" name=${name} />
    ${containers.length > 1
      ? html`<label class="picker">Container <select value=${c} onChange=${(e: Event) => setContainer((e.target as HTMLSelectElement).value)}>${containers.map((n) => html`<option>${n}</option>`)}</select></label>`
      : null}
    ${pod.spec?.nodeName && statuses.length
      ? html`<${Logs} key=${`${ns}/${name}/${c}`} ns=${ns} name=${name} container=${c} />
          <${ExecPanel} ns=${ns} name=${name} container=${c} />`
      : html`<${Section} title="Logs"><p class="muted">No container has started yet: logs and exec appear once one has.</p></${Section}>`}
  </div>`;
}

function containerState(s: K): string {
  if (s.state?.running) return `Running since ${age(s.state.running.startedAt)}`;
  if (s.state?.waiting) return `Waiting: ${s.state.waiting.reason ?? ''}${s.state.waiting.message ? ` (${s.state.waiting.message})` : ''}`;
  if (s.state?.terminated) return `Terminated: ${s.state.terminated.reason ?? ''} (exit ${s.state.terminated.exitCode})`;
  return 'Unknown';
}

/**
 * An object's history: its Timeline (skiff.dev/v1) when the server keeps one, else its Events;
 * both live from watches. The Timeline ends with a diagnosis and what to do next. Watched by
 * name rather than fetched, so an object whose Timeline is not written yet costs no 404.
 */
export function Timeline({ ns, kind, name }: { ns: string; kind: 'pod' | 'deployment'; name: string }): VNode {
  const [served, setServed] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void servedGroups().then((g) => live && setServed(g.has('skiff.dev')));
    return () => {
      live = false;
    };
  }, []);
  const tlName = `${kind}.${name}`;
  const timelines = useLive(served ? `/apis/skiff.dev/v1/namespaces/${encodeURIComponent(ns)}/timelines?fieldSelector=${encodeURIComponent(`metadata.name=${tlName}`)}` : null);
  const timeline = timelines.items.get(`${ns}/${tlName}`);
  const wantEvents = served === false || (timelines.synced && !timeline);
  const involvedKind = kind === 'pod' ? 'Pod' : 'Deployment';
  const events = useLive(wantEvents ? withQuery(collectionPath(R.events, ns), { fieldSelector: `involvedObject.kind=${involvedKind},involvedObject.name=${name}` }) : null);
  const entries: TimelineEntry[] = timeline ? (timeline.entries ?? []) : eventsAsTimeline(events.items.values());
  const loading = served === undefined || (served && !timelines.synced) || (wantEvents && !events.synced);
  return html`<${Section} title=${timeline ? 'Timeline' : 'Events'}>
    ${timeline?.diagnosis ? html`<p class="diagnosis" role="status"><b>${timeline.diagnosis.summary}</b>${timeline.diagnosis.next ? html` — ${timeline.diagnosis.next}` : null}</p>` : null}
    <${ErrorLine} error=${timelines.error ?? events.error} />
    <${Table} label="timeline" empty=${loading ? 'Loading…' : 'Nothing recorded yet.'} head=${['Time', 'Type', 'Reason', 'Message', 'From']}
      rows=${entries.map((e) => [html`<time datetime=${e.time} title=${e.time}>${age(e.time)}</time>`, html`<${Badge} text=${e.type} />`, e.reason, e.message + (e.count && e.count > 1 ? ` (×${e.count})` : ''), e.source ?? ''])} />
  </${Section}>`;
}

/** Most lines of log kept in the page: a chatty container must not eat the tab's memory. */
const MAX_LOG_LINES = 5000;

/** A container's log, followed live (`pods/NAME/log?follow=true`). */
function Logs({ ns, name, container }: { ns: string; name: string; container: string }): VNode {
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [run, setRun] = useState(0);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!container) return;
    const ac = new AbortController();
    let buf: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const add = buf;
      buf = [];
      setLines((old) => {
        const next = old.concat(add);
        return next.length > MAX_LOG_LINES ? next.slice(-MAX_LOG_LINES) : next;
      });
    };
    setLines([]);
    setError(undefined);
    const path = withQuery(`${objectPath(R.pods, ns, name)}/log`, { container, follow: 'true', tailLines: '1000' });
    streamLines(path, (line) => {
      buf.push(line);
      timer ??= setTimeout(flush, 50);
    }, ac.signal).catch((err) => !ac.signal.aborted && setError((err as Error).message));
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [ns, name, container, run]);
  useEffect(() => {
    const el = pre.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return html`<${Section} title="Logs" right=${html`<button onClick=${() => setRun((n) => n + 1)}>Reconnect</button>`}>
    <${ErrorLine} error=${error} />
    <pre class="logs" ref=${pre} aria-label="logs" tabIndex="0">${lines.join('\n')}</pre>
  </${Section}>`;
}

/** The exec terminal, loaded on demand (xterm.js is most of the bundle). */
function ExecPanel({ ns, name, container }: { ns: string; name: string; container: string }): VNode | null {
  const [Terminal, setTerminal] = useState<((p: { ns: string; name: string; container: string; command: string }) => VNode) | undefined>();
  const [command, setCommand] = useState('sh');
  const [session, setSession] = useState(0);
  const [error, setError] = useState<string | undefined>();
  const open = async () => {
    try {
      const m = await import('./terminal.js');
      setTerminal(() => m.ExecTerminal);
      setSession((n) => n + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return html`<${Section} title="Exec">
    <form class="toolbar" onSubmit=${(e: Event) => {
      e.preventDefault();
      void open();
    }}>
      <input aria-label="command" value=${command} onInput=${(e: Event) => setCommand((e.target as HTMLInputElement).value)} />
      <${ActionButton} access=${{ verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns, name }} label=${session ? 'Run again' : 'Run'} run=${open} onError=${setError} />
    </form>
    <${ErrorLine} error=${error} />
    ${Terminal && session ? html`<${Terminal} key=${session} ns=${ns} name=${name} container=${container} command=${command} />` : null}
  </${Section}>`;
}
