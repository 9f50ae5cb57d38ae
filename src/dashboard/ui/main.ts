/**
 * The dashboard's entry: sign-in, the namespace selector, hash routing and keyboard shortcuts.
 * Pages: overview, workloads, pods (and a pod's page), services, configuration, storage,
 * namespaces, images, and the YAML view of any object.
 */
import { html } from 'htm/preact';
import { render, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { R, api, collectionPath, getToken, resetDiscovery, setToken, setUnauthorizedHandler } from './api.js';
import { resetLive, useLive } from './live.js';
import { resetAccess } from './access.js';
import { Overview } from './overview.js';
import { PodList, PodPage } from './pods.js';
import { WorkloadPage, Workloads } from './workloads.js';
import { Config, Images, Namespaces, Services, Storage } from './resources.js';

/** The route: the path after `#`, split into segments. */
function currentRoute(): string[] {
  return location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

const NAV: [string, string, string][] = [
  ['', 'Overview', 'o'],
  ['workloads', 'Workloads', 'w'],
  ['pods', 'Pods', 'p'],
  ['services', 'Services', 's'],
  ['config', 'Config', 'c'],
  ['storage', 'Storage', 'v'],
  ['namespaces', 'Namespaces', 'n'],
  ['images', 'Images', 'i'],
];

function SignIn({ onSignIn }: { onSignIn: () => void }): VNode {
  const [token, setT] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setToken(token.trim());
    try {
      // Any authenticated request tells a good token from a bad one; namespaces is what the UI needs first.
      await api('/api/v1/namespaces?limit=1');
      onSignIn();
    } catch (err) {
      // 403 means the token is valid but may not list namespaces: still signed in, RBAC decides the rest.
      if ((err as { code?: number }).code === 403) return onSignIn();
      setToken(undefined);
      setError((err as { code?: number }).code === 401 ? 'error: You must be logged in to the server (Unauthorized)' : (err as Error).message);
    }
  };
  return html`<main class="signin">
    <h1>skiff</h1>
    <form onSubmit=${submit}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" placeholder="the kubeconfig's token, or: kubectl create token NAME" value=${token} onInput=${(e: Event) => setT((e.target as HTMLTextAreaElement).value)}></textarea>
      <button type="submit">Sign in</button>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </form>
    <p class="muted">The token is kept in this tab only (sessionStorage) and sent to this server's API.</p>
  </main>`;
}

function NamespaceSelect({ ns, setNs }: { ns: string; setNs: (ns: string) => void }): VNode {
  const live = useLive(collectionPath(R.namespaces));
  const names = [...live.items.values()].map((n) => n.metadata.name as string).sort();
  return html`<select aria-label="namespace" value=${ns} onChange=${(e: Event) => setNs((e.target as HTMLSelectElement).value)}>
    <option value="">All namespaces</option>
    ${names.map((n) => html`<option value=${n}>${n}</option>`)}
    ${ns && !names.includes(ns) ? html`<option value=${ns}>${ns}</option>` : null}
  </select>`;
}

/** The YAML page is loaded on demand: the YAML library is not needed for the first paint. */
function LazyYaml({ path }: { path: string }): VNode {
  const [Page, setPage] = useState<((p: { path: string }) => VNode) | undefined>();
  useEffect(() => {
    void import('./yaml-view.js').then((m) => setPage(() => m.YamlPage));
  }, []);
  return Page ? html`<${Page} path=${path} />` : html`<div class="page"><p class="muted">Loading…</p></div>`;
}

function App(): VNode {
  const [signedIn, setSignedIn] = useState(!!getToken());
  const [ns, setNsState] = useState(sessionStorage.getItem('skiff.ns') ?? '');
  const [filter, setFilter] = useState('');
  const route = useRoute();
  const setNs = (v: string) => {
    sessionStorage.setItem('skiff.ns', v);
    setNsState(v);
  };
  const signOut = () => {
    setToken(undefined);
    resetLive();
    resetAccess();
    resetDiscovery();
    setSignedIn(false);
  };
  useEffect(() => setUnauthorizedHandler(signOut), []);
  useEffect(() => {
    // Single-key shortcuts when not typing: the nav letters, and / for the filter.
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.closest('.terminal')) return;
      if (e.key === '/') {
        e.preventDefault();
        if (!document.getElementById('filter')) location.hash = '#/pods';
        setTimeout(() => document.getElementById('filter')?.focus(), 0);
        return;
      }
      const nav = NAV.find(([, , key]) => key === e.key);
      if (nav) location.hash = `#/${nav[0]}`;
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  if (!signedIn) {
    return html`<${SignIn} onSignIn=${() => {
      resetAccess();
      setSignedIn(true);
    }} />`;
  }
  const [page, a, b, c] = route;
  let body: VNode;
  if (!page) body = html`<${Overview} ns=${ns} />`;
  else if (page === 'workloads' && a && b && c) body = html`<${WorkloadPage} key=${route.join('/')} plural=${a} ns=${b} name=${c} />`;
  else if (page === 'workloads') body = html`<${Workloads} ns=${ns} plural=${a} />`;
  else if (page === 'pods' && a && b) body = html`<${PodPage} key=${route.join('/')} ns=${a} name=${b} />`;
  else if (page === 'pods') body = html`<${PodList} ns=${ns} filter=${filter} setFilter=${setFilter} />`;
  else if (page === 'services') body = html`<${Services} ns=${ns} />`;
  else if (page === 'config') body = html`<${Config} ns=${ns} />`;
  else if (page === 'storage') body = html`<${Storage} ns=${ns} />`;
  else if (page === 'namespaces') body = html`<${Namespaces} setNs=${setNs} />`;
  else if (page === 'images') body = html`<${Images} filter=${filter} setFilter=${setFilter} />`;
  else if (page === 'yaml' && a) body = html`<${LazyYaml} path=${a} />`;
  else body = html`<div class="page"><p class="error">No page ${location.hash}</p></div>`;
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/">skiff</a>
      <nav aria-label="main">
        ${NAV.map(([href, label, key]) => html`<a href=${'#/' + href} class=${page === href || (!page && !href) ? 'active' : ''} title=${`${label} (${key})`}>${label}</a>`)}
      </nav>
      <${NamespaceSelect} ns=${ns} setNs=${setNs} />
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main>${body}</main>
  </div>`;
}

const root = document.getElementById('app')!;
// The "Loading…" placeholder of index.html goes; the app takes the element over.
root.textContent = '';
render(html`<${App} />`, root);
