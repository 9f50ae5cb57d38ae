/** Services with endpoints, ConfigMaps, Secrets (hidden until revealed), PVCs, namespaces, images. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { R, collectionPath, objectPath, type K, type ResourceType } from './api.js';
import { useLive } from './live.js';
import { age, bytes } from './model.js';
import { Badge, ErrorLine, Section, Table, link, yamlHref } from './widgets.js';
import { PodList } from './pods.js';

function useSorted(r: ResourceType, ns: string): { rows: K[]; error?: string; synced: boolean } {
  const live = useLive(collectionPath(r, ns));
  const rows = useMemo(
    () => [...live.items.values()].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)),
    [live.version],
  );
  return { rows, error: live.error, synced: live.synced };
}

const yaml = (r: ResourceType, o: K) => link(yamlHref(objectPath(r, o.metadata.namespace, o.metadata.name)), o.metadata.name);

export function Services({ ns }: { ns: string }): VNode {
  const svcs = useSorted(R.services, ns);
  const eps = useLive(collectionPath(R.endpoints, ns));
  const endpointsOf = (s: K) => {
    const ep = eps.items.get(`${s.metadata.namespace}/${s.metadata.name}`);
    const out: string[] = [];
    for (const sub of ep?.subsets ?? []) for (const a of sub.addresses ?? []) for (const p of sub.ports ?? [{}]) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
    return out.length ? out.join(', ') : '<none>';
  };
  return html`<div class="page"><h1>Services</h1>
    <${ErrorLine} error=${svcs.error} />
    <${Table} label="services" empty=${svcs.synced ? 'No services.' : 'Loading…'} head=${['Namespace', 'Name', 'Type', 'Cluster IP', 'Ports', 'Endpoints', 'Age']}
      rows=${svcs.rows.map((s) => [
        s.metadata.namespace,
        yaml(R.services, s),
        s.spec?.type ?? 'ClusterIP',
        s.spec?.clusterIP ?? '',
        (s.spec?.ports ?? []).map((p: K) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(', '),
        endpointsOf(s),
        age(s.metadata.creationTimestamp),
      ])} />
  </div>`;
}

/** One Secret: keys listed, values only after "Reveal" (decoded from base64). */
function SecretRow({ s }: { s: K }): VNode {
  const [shown, setShown] = useState(false);
  const data: Record<string, string> = s.data ?? {};
  const decode = (v: string) => {
    try {
      return new TextDecoder().decode(Uint8Array.from(atob(v), (ch) => ch.charCodeAt(0)));
    } catch {
      return v;
    }
  };
  return html`<tr>
    <td>${s.metadata.namespace}</td><td>${yaml(R.secrets, s)}</td><td>${s.type ?? 'Opaque'}</td>
    <td>${Object.keys(data).length === 0 ? html`<span class="muted">no data</span>` : shown
      ? html`<dl class="kv">${Object.entries(data).map(([k, v]) => html`<dt>${k}</dt><dd><code>${decode(v)}</code></dd>`)}</dl>`
      : html`<span class="muted">${Object.keys(data).join(', ')}: ••••••</span>`}</td>
    <td><button type="button" onClick=${() => setShown(!shown)}>${shown ? 'Hide' : 'Reveal'}</button></td>
  </tr>`;
}

export function Config({ ns }: { ns: string }): VNode {
  const cms = useSorted(R.configmaps, ns);
  const secrets = useSorted(R.secrets, ns);
  return html`<div class="page"><h1>Configuration</h1>
    <${Section} title=${`ConfigMaps (${cms.rows.length})`}>
      <${ErrorLine} error=${cms.error} />
      <${Table} label="configmaps" head=${['Namespace', 'Name', 'Keys', 'Age']}
        rows=${cms.rows.map((c) => [c.metadata.namespace, yaml(R.configmaps, c), Object.keys({ ...c.data, ...c.binaryData }).join(', '), age(c.metadata.creationTimestamp)])} />
    </${Section}>
    <${Section} title=${`Secrets (${secrets.rows.length})`}>
      <${ErrorLine} error=${secrets.error} />
      ${secrets.rows.length
        ? html`<table aria-label="secrets"><thead><tr><th>Namespace</th><th>Name</th><th>Type</th><th>Data</th><th></th></tr></thead>
            <tbody>${secrets.rows.map((s) => html`<${SecretRow} key=${s.metadata.uid} s=${s} />`)}</tbody></table>`
        : html`<p class="muted">No secrets.</p>`}
    </${Section}>
  </div>`;
}

export function Storage({ ns }: { ns: string }): VNode {
  const pvcs = useSorted(R.pvcs, ns);
  return html`<div class="page"><h1>Persistent volume claims</h1>
    <${ErrorLine} error=${pvcs.error} />
    <${Table} label="pvcs" empty=${pvcs.synced ? 'No claims.' : 'Loading…'} head=${['Namespace', 'Name', 'Status', 'Volume', 'Capacity', 'Access modes', 'Storage class', 'Age']}
      rows=${pvcs.rows.map((p) => [
        p.metadata.namespace,
        yaml(R.pvcs, p),
        html`<${Badge} text=${p.status?.phase ?? 'Pending'} />`,
        p.spec?.volumeName ?? '',
        p.status?.capacity?.storage ?? p.spec?.resources?.requests?.storage ?? '',
        (p.spec?.accessModes ?? []).join(', '),
        p.spec?.storageClassName ?? '',
        age(p.metadata.creationTimestamp),
      ])} />
  </div>`;
}

export function Namespaces({ setNs }: { setNs: (ns: string) => void }): VNode {
  const live = useSorted(R.namespaces, '');
  return html`<div class="page"><h1>Namespaces</h1>
    <${ErrorLine} error=${live.error} />
    <${Table} label="namespaces" head=${['Name', 'Status', 'Age', '']}
      rows=${live.rows.map((n) => [
        link(yamlHref(objectPath(R.namespaces, undefined, n.metadata.name)), n.metadata.name),
        html`<${Badge} text=${n.status?.phase ?? 'Active'} />`,
        age(n.metadata.creationTimestamp),
        html`<button type="button" onClick=${() => setNs(n.metadata.name)}>Select</button>`,
      ])} />
  </div>`;
}

/**
 * Images: what each node reports in its status (`images`), and Docker's containers (pods in the
 * `docker` namespace). The built-in registry listens on a port of its own, another origin this
 * page's token cannot reach, so its catalog is not listed here.
 */
export function Images({ filter, setFilter }: { filter: string; setFilter: (f: string) => void }): VNode {
  const nodes = useLive(collectionPath(R.nodes));
  const rows = useMemo(() => {
    const out: [string, string, string][] = [];
    for (const n of nodes.items.values()) {
      for (const img of n.status?.images ?? []) {
        const names: string[] = img.names ?? [];
        out.push([n.metadata.name, names.filter((x) => !x.includes('@sha256:')).join(', ') || names[0] || '', img.sizeBytes ? bytes(img.sizeBytes) : '']);
      }
    }
    return out.sort((a, b) => a[1].localeCompare(b[1]));
  }, [nodes.version]);
  return html`<div class="page"><h1>Images</h1>
    <${Section} title=${`On nodes (${rows.length})`}>
      <${ErrorLine} error=${nodes.error} />
      <${Table} label="images" empty="No node reports images." head=${['Node', 'Image', 'Size']} rows=${rows} />
      <p class="muted">The built-in registry serves its catalog on its own port (<code>/v2/_catalog</code>), not through this origin.</p>
    </${Section}>
    <${PodList} ns="docker" onlyNamespace="docker" filter=${filter} setFilter=${setFilter} />
  </div>`;
}
