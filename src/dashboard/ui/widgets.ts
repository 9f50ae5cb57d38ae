/** Small shared pieces of the dashboard's pages: tables, a virtualized table, links, errors, buttons. */
import { html } from 'htm/preact';
import type { ComponentChildren, VNode } from 'preact';
import { useState } from 'preact/hooks';
import { visibleRange } from './model.js';
import { useCan, type Access } from './access.js';

/** A hash link. */
export function link(href: string, text: ComponentChildren, cls = ''): VNode {
  return html`<a href=${'#' + href} class=${cls}>${text}</a>`;
}

/** The page to view and edit an object's YAML. */
export function yamlHref(path: string): string {
  return `/yaml/${encodeURIComponent(path)}`;
}

/** An error line, worded as the server's Status says it. */
export function ErrorLine({ error }: { error?: string }): VNode | null {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

/** A page section with a heading. */
export function Section({ title, children, right }: { title: string; children: ComponentChildren; right?: ComponentChildren }): VNode {
  return html`<section><div class="section-head"><h2>${title}</h2>${right}</div>${children}</section>`;
}

/** A plain table for short lists. */
export function Table({ head, rows, empty = 'None.', label }: { head: string[]; rows: ComponentChildren[][]; empty?: string; label?: string }): VNode {
  if (!rows.length) return html`<p class="muted">${empty}</p>`;
  return html`<table aria-label=${label}>
    <thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
  </table>`;
}

const ROW = 28;

/**
 * A table that renders only the rows in view (plus overscan): 1,000 pods cost the DOM of ~40.
 * Row i is rendered by `row(i)` as an array of cells; the header stays put.
 */
export function VirtualTable({ head, count, row, label, height = 560 }: { head: string[]; count: number; row: (i: number) => ComponentChildren[]; label: string; height?: number }): VNode {
  const [top, setTop] = useState(0);
  // The box grows with its rows up to `height`, so `height` is what can ever be in view.
  const { start, end } = visibleRange(top, height, ROW, count);
  const rows: VNode[] = [];
  for (let i = start; i < end; i++) rows.push(html`<tr key=${i} style=${`height:${ROW}px`}>${row(i).map((c) => html`<td>${c}</td>`)}</tr>`);
  return html`<div class="vscroll" style=${`max-height:${height}px`} onScroll=${(e: Event) => setTop((e.currentTarget as HTMLElement).scrollTop)}>
    <table aria-label=${label} aria-rowcount=${count}>
      <thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead>
      <tbody>
        ${start > 0 ? html`<tr class="spacer" style=${`height:${start * ROW}px`}></tr>` : null}
        ${rows}
        ${end < count ? html`<tr class="spacer" style=${`height:${(count - end) * ROW}px`}></tr>` : null}
      </tbody>
    </table>
  </div>`;
}

/** A button shown only when the user may do what it does; `run` errors are shown beside it. */
export function ActionButton({ access, label, run, onError, danger, title }: { access: Access; label: string; run: () => Promise<unknown>; onError: (msg: string | undefined) => void; danger?: boolean; title?: string }): VNode | null {
  const allowed = useCan(access);
  const [busy, setBusy] = useState(false);
  if (!allowed) return null;
  return html`<button type="button" class=${danger ? 'danger' : ''} disabled=${busy} title=${title} onClick=${async () => {
    setBusy(true);
    onError(undefined);
    try {
      await run();
    } catch (err) {
      onError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }}>${label}</button>`;
}

/** A state-coloured badge (Running, Pending, Warning, …). */
export function Badge({ text }: { text: string }): VNode {
  const cls = /^(Running|Ready|True|Succeeded|Completed|Normal|Bound|Active)$/.test(text) ? 'ok' : /^(Pending|ContainerCreating|Terminating|Init:)/.test(text) ? 'warn' : 'bad';
  return html`<span class=${'badge ' + cls}>${text}</span>`;
}
