/**
 * View and edit any object as YAML. Save is a PUT of the edited object with the resourceVersion
 * it was loaded at, so a change made meanwhile is refused (409) instead of overwritten, and the
 * server's Status is shown as kubectl shows it (`Error from server (Conflict): Operation cannot
 * be fulfilled on …`). Validation is the server's: its 422 message is shown the same way.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import { api, type K } from './api.js';
import { ErrorLine } from './widgets.js';
import { useCan } from './access.js';

/** Splits an object path into what an access review names. */
export function accessOfPath(path: string): { group: string; resource: string; namespace?: string; name: string } | undefined {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  return { group: m[1] ?? '', namespace: m[2] && decodeURIComponent(m[2]), resource: m[3], name: decodeURIComponent(m[4]) };
}

/** Drops what only clutters an edit (managedFields), as `kubectl edit` shows objects. */
function forEditing(obj: K): K {
  const copy = structuredClone(obj);
  if (copy.metadata) delete copy.metadata.managedFields;
  return copy;
}

export function YamlPage({ path }: { path: string }): VNode {
  const [text, setText] = useState<string>('');
  const [loaded, setLoaded] = useState<K | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [editing, setEditing] = useState(false);
  const attrs = accessOfPath(path);
  const mayUpdate = useCan(attrs ? { verb: 'update', ...attrs } : null);
  const load = async () => {
    setError(undefined);
    try {
      const obj = await api(path);
      setLoaded(obj);
      setText(stringify(forEditing(obj)));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    setEditing(false);
    setNotice(undefined);
    void load();
  }, [path]);
  const save = async () => {
    setError(undefined);
    setNotice(undefined);
    let obj: K;
    try {
      obj = parse(text) as K;
      if (!obj || typeof obj !== 'object') throw new Error('the edited document is not an object');
    } catch (err) {
      setError(`error: ${(err as Error).message}`);
      return;
    }
    try {
      const saved = await api(path, { method: 'PUT', body: obj });
      setLoaded(saved);
      setText(stringify(forEditing(saved)));
      setEditing(false);
      setNotice(`${attrs?.resource ?? 'object'} "${attrs?.name ?? ''}" edited (resourceVersion ${saved.metadata?.resourceVersion})`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const title = loaded ? `${loaded.kind} ${loaded.metadata?.name}` : path;
  return html`<div class="page">
    <h1>${title}</h1>
    <p class="muted"><code>${path}</code>${loaded ? ` · resourceVersion ${loaded.metadata?.resourceVersion}` : ''}</p>
    <div class="toolbar">
      ${editing
        ? html`<button type="button" onClick=${save}>Save</button><button type="button" onClick=${() => {
            setEditing(false);
            void load();
          }}>Cancel</button>`
        : html`${mayUpdate && loaded ? html`<button type="button" onClick=${() => setEditing(true)}>Edit</button>` : null}<button type="button" onClick=${load}>Reload</button>`}
    </div>
    <${ErrorLine} error=${error} />
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <textarea class="yaml" aria-label="yaml" spellcheck=${false} readOnly=${!editing} value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>
  </div>`;
}
