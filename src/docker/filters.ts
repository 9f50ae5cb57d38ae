/**
 * Docker's `filters` query parameter (moby `api/types/filters`): a JSON object from filter
 * name to values, sent by the CLI as `{"dangling":{"true":true}}` and by docker-py as
 * `{"dangling":["true"]}`. Handlers check the names they accept and read the values.
 */
import { badParameter } from './errors.js';

/** Parsed filters: name → values. */
export type Filters = Map<string, string[]>;

/** Parses `filters`; an absent or empty parameter is no filter, malformed JSON a 400. */
export function parseFilters(text: string | null): Filters {
  const out: Filters = new Map();
  if (!text) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw badParameter(`invalid filter: ${text}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badParameter(`invalid filter: ${text}`);
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(value)) out.set(name, value.map(String));
    else if (value && typeof value === 'object') out.set(name, Object.entries(value as Record<string, unknown>).filter(([, on]) => on).map(([v]) => v));
    else throw badParameter(`invalid filter: ${name}=${JSON.stringify(value)}`);
  }
  return out;
}

/** Rejects filter names a handler does not know, as dockerd does (`invalid filter 'x'`). */
export function checkFilterNames(filters: Filters, allowed: readonly string[]): void {
  for (const name of filters.keys()) if (!allowed.includes(name)) throw badParameter(`invalid filter '${name}'`);
}

/** A boolean filter (`dangling=true|false|1|0`); undefined when not given. */
export function boolFilter(filters: Filters, name: string): boolean | undefined {
  const values = filters.get(name);
  if (!values?.length) return undefined;
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badParameter(`invalid filter '${name}=${values[values.length - 1]}'`);
}

/** Whether `labels` satisfy every `key` or `key=value` of a `label` filter. */
export function matchLabels(labels: Record<string, string> | null | undefined, wanted: string[] | undefined): boolean {
  if (!wanted?.length) return true;
  const l = labels ?? {};
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return w in l;
    return l[w.slice(0, eq)] === w.slice(eq + 1);
  });
}
