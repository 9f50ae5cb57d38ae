/**
 * Label selectors (k8s.io/apimachinery/pkg/labels/selector.go and
 * apis/meta/v1/helpers.go): the string syntax of `?labelSelector=`, the structured
 * metav1.LabelSelector of workloads, and label validation.
 */
import type { LabelSelector, LabelSelectorRequirement } from 'kubernetes-types/meta/v1.js';
import { badRequest, fieldErrors, fieldErrorString, type FieldError } from './errors.js';
import { labelValueMessages, qualifiedNameMessages } from './validation.js';

/** selection.Operator, spelled as upstream. */
export type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

/** One ANDed term of a selector. */
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface Selector {
  /** True when every requirement holds for `labels` (undefined = no labels). */
  matches(labels: Record<string, string> | undefined | null): boolean;
  /** True when the selector does not restrict anything (matches everything). */
  empty(): boolean;
  /** The canonical string form (requirements sorted by key, set values sorted). */
  toString(): string;
  requirements(): Requirement[];
  /** The single value `key` must equal, if the selector pins it (RequiresExactMatch). */
  exactValue(key: string): string | undefined;
  /** True for the selector that matches nothing (a null LabelSelector). */
  matchesNothing(): boolean;
}

const BINARY_OPERATORS: readonly Operator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(labels[r.key]);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(labels[r.key]);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const re = /^[+-]?[0-9]+$/;
      if (!re.test(labels[r.key]) || !re.test(r.values[0])) return false;
      const lv = BigInt(labels[r.key]);
      const rv = BigInt(r.values[0]);
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

function requirementString(r: Requirement): string {
  let s = r.operator === '!' ? `!${r.key}` : r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case 'in':
    case 'notin':
      s += ` ${r.operator} (`;
      break;
    case 'gt':
      s += '>';
      break;
    case 'lt':
      s += '<';
      break;
    default:
      s += r.operator;
  }
  s += r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  if (r.operator === 'in' || r.operator === 'notin') s += ')';
  return s;
}

class RequirementsSelector implements Selector {
  private readonly reqs: Requirement[];
  constructor(reqs: Requirement[]) {
    // Stable sort by key gives the deterministic order upstream's ByKey sort aims for.
    this.reqs = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  matches(labels: Record<string, string> | undefined | null): boolean {
    const l = labels ?? {};
    return this.reqs.every((r) => requirementMatches(r, l));
  }
  empty(): boolean {
    return this.reqs.length === 0;
  }
  toString(): string {
    return this.reqs.map(requirementString).join(',');
  }
  requirements(): Requirement[] {
    return this.reqs.map((r) => ({ ...r, values: [...r.values] }));
  }
  exactValue(key: string): string | undefined {
    const r = this.reqs.find((x) => x.key === key);
    if (!r) return undefined;
    if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
    return undefined;
  }
  matchesNothing(): boolean {
    return false;
  }
}

const NOTHING: Selector = {
  matches: () => false,
  empty: () => false,
  toString: () => '',
  requirements: () => [],
  exactValue: () => undefined,
  matchesNothing: () => true,
};

/** A selector that matches every object. */
export function everything(): Selector {
  return new RequirementsSelector([]);
}

/** A selector that matches no object (what a null LabelSelector means). */
export function nothing(): Selector {
  return NOTHING;
}

/** Builds a selector from requirements (unchecked; use {@link newRequirement} to validate). */
export function selectorFromRequirements(reqs: Requirement[]): Selector {
  return new RequirementsSelector(reqs);
}

/**
 * NewRequirement: validates key, operator arity and values. Returns the upstream
 * field errors; `path` prefixes the field names ("" prints as upstream's "<nil>").
 */
export function requirementErrors(key: string, operator: Operator, values: string[], path = ''): FieldError[] {
  const child = (f: string): string => (path ? `${path}.${f}` : f);
  const errs: FieldError[] = [];
  const keyMsgs = qualifiedNameMessages(key);
  if (keyMsgs.length) errs.push(fieldErrors.invalid(child('key'), key, keyMsgs.join('; ')));
  const vp = child('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(fieldErrors.invalid(vp, values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(fieldErrors.invalid(vp, values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(fieldErrors.invalid(vp, values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(fieldErrors.invalid(vp, values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!/^[+-]?[0-9]+$/.test(v)) errs.push(fieldErrors.invalid(`${vp}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(fieldErrors.notSupported(child('operator'), operator, [...BINARY_OPERATORS, 'exists', '!']));
  }
  values.forEach((v, i) => {
    const msgs = labelValueMessages(v);
    if (msgs.length) errs.push(fieldErrors.invalid(`${vp}[${i}][${key}]`, v, msgs.join('; ')));
  });
  return errs;
}

/** Go's field.Error.Error(): a nil path prints as "<nil>". */
function goFieldError(e: FieldError): string {
  return e.field ? fieldErrorString(e) : `<nil>: ${fieldErrorString(e)}`;
}

/** ErrorList.ToAggregate().Error(). */
function aggregate(errs: FieldError[]): string {
  const parts = errs.map(goFieldError);
  return parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
}

/** Creates a validated requirement; throws Error with upstream's aggregated message. */
export function newRequirement(key: string, operator: Operator, values: string[]): Requirement {
  const errs = requirementErrors(key, operator, values);
  if (errs.length) throw new Error(aggregate(errs));
  return { key, operator, values: [...values] };
}

// ---------------------------------------------------------------------------
// String syntax

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';
interface Item {
  tok: Tok;
  lit: string;
}

const STRING_TO_TOKEN: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};

const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => '=!(),><'.includes(c);

/** The upstream lexer: identifiers/keywords, and greedy special-symbol operators. */
function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[pos])) {
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos])) {
        buf += s[pos];
        const t = STRING_TO_TOKEN[buf];
        if (t) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let buf = '';
    while (pos < s.length && !isSpecial(s[pos]) && !isWhitespace(s[pos])) buf += s[pos++];
    const t = STRING_TO_TOKEN[buf];
    items.push({ tok: t ?? 'id', lit: buf });
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In value context the keywords `in`/`notin` are ordinary identifiers. */
  private lookahead(values: boolean): Item {
    const it = this.items[this.pos];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }
  private consume(values: boolean): Item {
    const it = this.lookahead(values);
    this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(true);
      if (tok === 'id' || tok === '!') {
        let r: Requirement;
        try {
          r = this.parseRequirement();
        } catch (e) {
          throw new Error(`unable to parse requirement: ${(e as Error).message}`);
        }
        reqs.push(r);
        const t = this.consume(true);
        if (t.tok === 'eos') return reqs;
        if (t.tok === ',') {
          const t2 = this.lookahead(true);
          if (t2.tok !== 'id' && t2.tok !== '!') throw new Error(`found '${t2.lit}', expected: identifier after ','`);
          continue;
        }
        throw new Error(`found '${t.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === 'eos') return reqs;
      throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private parseRequirement(): Requirement {
    let operator: Operator | undefined;
    let t = this.consume(true);
    if (t.tok === '!') {
      operator = '!';
      t = this.consume(true);
    }
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyMsgs = qualifiedNameMessages(key);
    if (keyMsgs.length) throw new Error(goFieldError(fieldErrors.invalid('', key, keyMsgs.join('; '))));
    // "!key" is complete by itself; whatever follows is the caller's problem ("!a=b" fails there).
    if (operator === '!') return newRequirement(key, '!', []);
    const next = this.lookahead(true).tok;
    if (next === 'eos' || next === ',') return newRequirement(key, 'exists', []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...values].sort());
  }

  private parseOperator(): Operator {
    const { tok, lit } = this.consume(false);
    switch (tok) {
      case 'in':
        return 'in';
      case '=':
        return '=';
      case '==':
        return '==';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      case 'notin':
        return 'notin';
      case '!=':
        return '!=';
      default:
        throw new Error(`found '${lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume(true);
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead(true);
    if (tok === 'id' || tok === ',') {
      const s = this.parseIdentifiersList();
      if (this.consume(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.consume(true);
      return new Set(['']);
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume(true);
      if (tok === 'id') {
        s.add(lit);
        const t2 = this.lookahead(true);
        if (t2.tok === ',') continue;
        if (t2.tok === ')') return s;
        throw new Error(`found '${t2.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        // "(," ",)" and ",," all denote the empty value.
        if (s.size === 0) s.add('');
        const t2 = this.lookahead(true).tok;
        if (t2 === ')') {
          s.add('');
          return s;
        }
        if (t2 === ',') s.add('');
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): Set<string> {
    const t = this.lookahead(true).tok;
    if (t === 'eos' || t === ',') return new Set(['']);
    const { tok, lit } = this.consume(true);
    if (tok === 'id') return new Set([lit]);
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/** Parses an error message-for-message like labels.Parse; throws Error. */
export function parseRequirements(s: string): Requirement[] {
  return new Parser(lex(s)).parse();
}

/**
 * Parses the `labelSelector` string syntax (`a=b,c!=d,e in (f,g),!h`).
 * Throws StatusError 400 BadRequest with upstream's message.
 */
export function parseSelector(s: string): Selector {
  try {
    return new RequirementsSelector(parseRequirements(s));
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

/** A selector that matches exactly the given labels (empty/undefined matches everything). */
export function selectorFromSet(set: Record<string, string> | undefined | null): Selector {
  return new RequirementsSelector(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

const LS_OPERATORS: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: null/undefined selects nothing, `{}` selects
 * everything. Throws StatusError 400 for an invalid selector.
 */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (ls === undefined || ls === null) return NOTHING;
  const reqs: Requirement[] = [];
  try {
    for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push(newRequirement(k, '=', [v]));
    for (const expr of ls.matchExpressions ?? []) {
      const op = LS_OPERATORS[expr.operator];
      if (!op) throw new Error(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
      reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
    }
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  return new RequirementsSelector(reqs);
}

/** metav1.FormatLabelSelector: the string kubectl shows; `<none>` when empty, `<error>` when invalid. */
export function formatLabelSelector(ls: LabelSelector | undefined | null): string {
  let sel: Selector;
  try {
    sel = selectorFromLabelSelector(ls);
  } catch {
    return '<error>';
  }
  return sel.toString() || '<none>';
}

// ---------------------------------------------------------------------------
// Validation (apis/meta/v1/validation)

/** ValidateLabelName. */
export function validateLabelName(name: string, fieldPath: string): FieldError[] {
  return qualifiedNameMessages(name).map((m) => fieldErrors.invalid(fieldPath, name, m));
}

/** ValidateLabels: every key a qualified name, every value a label value; errors at `fieldPath`. */
export function validateLabels(labels: Record<string, string> | undefined | null, fieldPath = 'metadata.labels'): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...validateLabelName(k, fieldPath));
    if (typeof v !== 'string') {
      errs.push(fieldErrors.invalid(fieldPath, v, 'must be a string'));
      continue;
    }
    for (const m of labelValueMessages(v)) errs.push(fieldErrors.invalid(fieldPath, v, m));
  }
  return errs;
}

/** ValidateLabelSelectorRequirement. */
export function validateLabelSelectorRequirement(sr: LabelSelectorRequirement, fieldPath: string): FieldError[] {
  const errs: FieldError[] = [];
  const values = sr.values ?? [];
  switch (sr.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(fieldErrors.required(`${fieldPath}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(fieldErrors.forbidden(`${fieldPath}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    default:
      errs.push(fieldErrors.invalid(`${fieldPath}.operator`, sr.operator, 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(sr.key ?? '', `${fieldPath}.key`));
  values.forEach((v, i) => {
    for (const m of labelValueMessages(v)) errs.push(fieldErrors.invalid(`${fieldPath}.values[${i}]`, v, m));
  });
  return errs;
}

/** ValidateLabelSelector (a null selector is valid here; callers decide if it is required). */
export function validateLabelSelector(ls: LabelSelector | undefined | null, fieldPath: string): FieldError[] {
  if (!ls) return [];
  const errs = validateLabels(ls.matchLabels, `${fieldPath}.matchLabels`);
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    errs.push(...validateLabelSelectorRequirement(expr, `${fieldPath}.matchExpressions[${i}]`));
  });
  return errs;
}
