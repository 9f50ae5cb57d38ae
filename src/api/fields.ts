/**
 * Field selectors (k8s.io/apimachinery/pkg/fields/selector.go): `?fieldSelector=`
 * terms `k=v`, `k==v`, `k!=v` joined by commas; `\` escapes `\`, `,` and `=` in values.
 */
import { badRequest } from './errors.js';

/** One term of a field selector. */
export interface FieldTerm {
  field: string;
  /** `=` covers both `=` and `==`. */
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  /** True when every term holds; `get` returns a field's value (undefined reads as ""). */
  matches(get: (field: string) => string | undefined): boolean;
  empty(): boolean;
  /** The distinct field names the selector uses, so a server can reject unsupported ones. */
  fields(): string[];
  terms(): FieldTerm[];
  /** The value `field` must equal (RequiresExactMatch), for index lookups like spec.nodeName. */
  exactValue(field: string): string | undefined;
  toString(): string;
}

/** EscapeValue: escapes `\`, `,` and `=` so a value survives a round trip. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** UnescapeValue, with upstream's error messages. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v, i.e. its code point.
    else if (c === ',' || c === '=') throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas not preceded by an escaping backslash (escapes are kept). */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const TERM_OPERATORS = ['!=', '==', '='] as const;

function splitTerm(term: string): [string, (typeof TERM_OPERATORS)[number], string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

class TermsSelector implements FieldSelector {
  constructor(private readonly items: FieldTerm[]) {}
  matches(get: (field: string) => string | undefined): boolean {
    return this.items.every((t) => ((get(t.field) ?? '') === t.value) === (t.operator === '='));
  }
  empty(): boolean {
    return this.items.length === 0;
  }
  fields(): string[] {
    return [...new Set(this.items.map((t) => t.field))];
  }
  terms(): FieldTerm[] {
    return this.items.map((t) => ({ ...t }));
  }
  exactValue(field: string): string | undefined {
    return this.items.find((t) => t.field === field && t.operator === '=')?.value;
  }
  toString(): string {
    return this.items.map((t) => `${t.field}${t.operator}${escapeFieldValue(t.value)}`).join(',');
  }
}

/** Parses a field selector like fields.ParseSelector; throws Error with upstream's message. */
export function parseFieldTerms(selector: string): FieldTerm[] {
  // Upstream sorts the raw terms, which fixes the order of toString().
  const parts = splitTerms(selector).sort();
  const items: FieldTerm[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [field, op, rhs] = split;
    items.push({ field, operator: op === '!=' ? '!=' : '=', value: unescapeFieldValue(rhs) });
  }
  return items;
}

/** Parses the `fieldSelector` syntax; throws StatusError 400 BadRequest. */
export function parseFieldSelector(selector: string): FieldSelector {
  try {
    return new TermsSelector(parseFieldTerms(selector));
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

/** A selector requiring each field to equal the given value (fields.SelectorFromSet). */
export function fieldSelectorFromSet(set: Record<string, string>): FieldSelector {
  return new TermsSelector(Object.keys(set).sort().map((field) => ({ field, operator: '=' as const, value: set[field] })));
}

/**
 * Rejects fields outside `supported` with upstream's 400 (`field label not supported: foo`).
 * `metadata.name` and `metadata.namespace` are supported on every resource upstream,
 * so they are always allowed.
 */
export function checkSupportedFields(sel: FieldSelector, supported: Iterable<string>): void {
  const ok = new Set(['metadata.name', 'metadata.namespace', ...supported]);
  for (const f of sel.fields()) {
    if (!ok.has(f)) throw badRequest(`field label not supported: ${f}`);
  }
}

/**
 * Reads a dotted field path (`spec.nodeName`, `involvedObject.kind`) from an object
 * as a string, for use as the `get` of {@link FieldSelector.matches}.
 */
export function fieldGetter(obj: unknown): (field: string) => string | undefined {
  return (field) => {
    let cur: unknown = obj;
    for (const part of field.split('.')) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    if (cur === undefined || cur === null) return undefined;
    return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
  };
}
