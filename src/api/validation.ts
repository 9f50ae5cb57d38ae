/**
 * Upstream validators (k8s.io/apimachinery/pkg/util/validation, api/validate/content,
 * api/validation/objectmeta.go) with their messages word for word.
 *
 * Two layers, as upstream: `*Messages(value)` return the bare message strings
 * (what upstream's IsXxx functions return); the `isXxx(value, fieldPath)` forms wrap
 * each message into an Invalid {@link FieldError} at `fieldPath`.
 */
import { fieldErrors, type FieldError } from './errors.js';

// ---------------------------------------------------------------------------
// Message builders (validation.go)

/** MaxLenError. */
export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/** RegexError: `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join('or ')}regex used for validation is '${fmt}')`;
}

/** EmptyError. */
export function emptyError(): string {
  return 'must be non-empty';
}

/** InclusiveRangeError. */
export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

// ---------------------------------------------------------------------------
// Formats

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_ERR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
export const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_ERR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
export const DNS1035_LABEL_MAX_LENGTH = 63;

const LABEL_KEY_CHAR_FMT = '[A-Za-z0-9]';
const LABEL_KEY_EXT_CHAR_FMT = '[-A-Za-z0-9_.]';
const LABEL_KEY_FMT = `(${LABEL_KEY_CHAR_FMT}${LABEL_KEY_EXT_CHAR_FMT}*)?${LABEL_KEY_CHAR_FMT}`;
const LABEL_KEY_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_MAX_LENGTH = 63;
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
export const LABEL_VALUE_MAX_LENGTH = 63;

const C_IDENTIFIER_FMT = '[A-Za-z_][A-Za-z0-9_]*';
const C_IDENTIFIER_ERR =
  "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const ENV_VAR_NAME_ERR =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_MAP_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const PERCENT_FMT = '[0-9]+%';
const PERCENT_ERR = "a valid percent string must be a numeric string followed by an ending '%'";

const anchored = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const dns1123LabelRe = anchored(DNS1123_LABEL_FMT);
const dns1123SubdomainRe = anchored(DNS1123_SUBDOMAIN_FMT);
const dns1035LabelRe = anchored(DNS1035_LABEL_FMT);
const labelKeyRe = anchored(LABEL_KEY_FMT);
const labelValueRe = anchored(LABEL_VALUE_FMT);
const cIdentifierRe = anchored(C_IDENTIFIER_FMT);
const envVarNameRe = anchored(ENV_VAR_NAME_FMT);
const configMapKeyRe = anchored(CONFIG_MAP_KEY_FMT);
const percentRe = anchored(PERCENT_FMT);

/** Go's len() counts bytes, not UTF-16 units. */
function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// ---------------------------------------------------------------------------
// Bare message validators (upstream IsXxx)

export function dns1123LabelMessages(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!dns1123LabelRe.test(value)) {
    // A valid subdomain that is not a valid label can only be wrong by its dots.
    if (dns1123SubdomainRe.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function dns1123SubdomainMessages(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!dns1123SubdomainRe.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

export function dns1035LabelMessages(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1035_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1035_LABEL_MAX_LENGTH));
  if (!dns1035LabelRe.test(value)) errs.push(regexError(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  return errs;
}

/** IsQualifiedName / IsLabelKey: `[prefix/]name`, prefix a DNS subdomain. */
export function qualifiedNameMessages(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else for (const m of dns1123SubdomainMessages(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (byteLength(name) > LABEL_KEY_MAX_LENGTH) errs.push(`name part ${maxLenError(LABEL_KEY_MAX_LENGTH)}`);
  if (!labelKeyRe.test(name)) errs.push(`name part ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function labelValueMessages(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!labelValueRe.test(value)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

export function cIdentifierMessages(value: string): string[] {
  return cIdentifierRe.test(value) ? [] : [regexError(C_IDENTIFIER_ERR, C_IDENTIFIER_FMT, 'my_name', 'MY_NAME', 'MyName')];
}

function chDirPrefixMessages(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

/** IsEnvVarName: container env names are wider than C identifiers. */
export function envVarNameMessages(value: string): string[] {
  const errs: string[] = [];
  if (!envVarNameRe.test(value)) errs.push(regexError(ENV_VAR_NAME_ERR, ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  errs.push(...chDirPrefixMessages(value));
  return errs;
}

/** IsConfigMapKey: keys of ConfigMap/Secret data. */
export function configMapKeyMessages(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!configMapKeyRe.test(value)) errs.push(regexError(CONFIG_MAP_KEY_ERR, CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  errs.push(...chDirPrefixMessages(value));
  return errs;
}

export function portNumMessages(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** IsValidPortName (IANA_SVC_NAME). */
export function portNameMessages(port: string): string[] {
  const errs: string[] = [];
  if (byteLength(port) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function percentMessages(value: string): string[] {
  return percentRe.test(value) ? [] : [regexError(PERCENT_ERR, PERCENT_FMT, '1%', '93%')];
}

// ---------------------------------------------------------------------------
// FieldError forms

function asInvalid(fieldPath: string, value: unknown, msgs: string[]): FieldError[] {
  return msgs.map((m) => fieldErrors.invalid(fieldPath, value, m));
}

export function isDNS1123Label(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, dns1123LabelMessages(value));
}
export function isDNS1123Subdomain(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, dns1123SubdomainMessages(value));
}
export function isDNS1035Label(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, dns1035LabelMessages(value));
}
/** Label keys and annotation keys. */
export function isQualifiedName(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, qualifiedNameMessages(value));
}
export function isValidLabelValue(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, labelValueMessages(value));
}
export function isCIdentifier(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, cIdentifierMessages(value));
}
export function isEnvVarName(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, envVarNameMessages(value));
}
export function isConfigMapKey(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, configMapKeyMessages(value));
}
export function isValidPortNum(port: number, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, port, portNumMessages(port));
}
export function isValidPortName(port: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, port, portNameMessages(port));
}
export function isValidPercent(value: string, fieldPath = ''): FieldError[] {
  return asInvalid(fieldPath, value, percentMessages(value));
}

/** ValidateNonnegativeField. */
export function validateNonnegative(fieldPath: string, value: number): FieldError[] {
  return value < 0 ? [fieldErrors.invalid(fieldPath, value, 'must be greater than or equal to 0')] : [];
}

/** The largest int32, the range of upstream's replica counts and most other integer fields. */
export const MAX_INT32 = 2147483647;

/**
 * A non-negative int32 field (spec.replicas and the like). Upstream's typed decoding refuses a
 * fraction or an out-of-range number before validation runs; without Go types the check lives
 * here, and it matters: a replica count of 1e23 would have a controller create pods forever.
 */
export function validateNonnegativeInt32(fieldPath: string, value: unknown): FieldError[] {
  if (typeof value !== 'number' || !Number.isInteger(value)) return [fieldErrors.invalid(fieldPath, value, 'must be an integer')];
  if (value > MAX_INT32) return [fieldErrors.invalid(fieldPath, value, `must be less than or equal to ${MAX_INT32}`)];
  return validateNonnegative(fieldPath, value);
}

// ---------------------------------------------------------------------------
// Object metadata

/** TotalAnnotationSizeLimitB: 256 KiB over all keys and values. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** ValidateAnnotations: keys are qualified names (case-insensitive), total size bounded. */
export function validateAnnotations(annotations: Record<string, string> | undefined | null, fieldPath = 'metadata.annotations'): FieldError[] {
  const errs: FieldError[] = [];
  if (!annotations) return errs;
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of qualifiedNameMessages(k.toLowerCase())) errs.push(fieldErrors.invalid(fieldPath, k, m));
    total += byteLength(k) + byteLength(typeof v === 'string' ? v : String(v));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldErrors.tooLong(fieldPath, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/** Which rule a resource's names follow (upstream's ValidateNameFunc choices). */
export type NameRule = 'DNS1123Subdomain' | 'DNS1123Label' | 'DNS1035Label' | 'PathSegment';

/** ValidatePathSegmentName: names that only have to be usable in a URL path (RBAC roles, …). */
export function pathSegmentNameMessages(name: string, prefix: boolean): string[] {
  if (!prefix && (name === '.' || name === '..')) return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes('/')) errs.push("may not contain '/'");
  if (name.includes('%')) errs.push("may not contain '%'");
  return errs;
}

/**
 * The bare messages for a name under `rule`. With `prefix` (generateName) a trailing
 * dash is allowed, since random characters will follow it (upstream maskTrailingDash).
 */
export function nameMessages(name: string, rule: NameRule, prefix = false): string[] {
  if (rule === 'PathSegment') return pathSegmentNameMessages(name, prefix);
  // Upstream drops the last two characters (not one) before appending 'a'; kept verbatim
  // because it decides which prefixes validate.
  if (prefix && name.length > 1 && name.endsWith('-')) name = `${name.slice(0, -2)}a`;
  switch (rule) {
    case 'DNS1123Subdomain':
      return dns1123SubdomainMessages(name);
    case 'DNS1123Label':
      return dns1123LabelMessages(name);
    case 'DNS1035Label':
      return dns1035LabelMessages(name);
  }
}

/**
 * The name part of ValidateObjectMeta: `generateName` if set must be a valid prefix,
 * `name` is required ("name or generateName is required") and must follow `rule`.
 * Pass a bare string to check just a name. `fieldPath` is the metadata path.
 */
export function validateObjectMetaName(
  meta: string | { name?: string; generateName?: string } | undefined,
  fieldPath = 'metadata',
  rule: NameRule = 'DNS1123Subdomain',
): FieldError[] {
  const m = typeof meta === 'string' ? { name: meta } : (meta ?? {});
  const child = (f: string): string => (fieldPath ? `${fieldPath}.${f}` : f);
  const errs: FieldError[] = [];
  if (m.generateName) {
    for (const msg of nameMessages(m.generateName, rule, true)) errs.push(fieldErrors.invalid(child('generateName'), m.generateName, msg));
  }
  if (!m.name) {
    errs.push(fieldErrors.required(child('name'), 'name or generateName is required'));
  } else {
    for (const msg of nameMessages(m.name, rule, false)) errs.push(fieldErrors.invalid(child('name'), m.name, msg));
  }
  return errs;
}
