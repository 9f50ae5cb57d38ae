/**
 * Image references, parsed and normalised the way Docker does it
 * (github.com/distribution/reference: ParseNormalizedNamed + TagNameOnly):
 *
 *   busybox                  → docker.io/library/busybox:latest
 *   user/app:1               → docker.io/user/app:1
 *   localhost:5000/app       → localhost:5000/app:latest
 *   app@sha256:<64 hex>      → docker.io/library/app@sha256:<64 hex>   (no tag added)
 *
 * The first path component is a registry host when it contains "." or ":", is "localhost",
 * or has an upper-case letter; otherwise the image lives on docker.io.
 */

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';

/** A parsed, normalised reference. `repository` is `domain/path`. */
export interface ImageReference {
  /** Registry host (and port), e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  /** `algorithm:hex`, e.g. `sha256:…`. */
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const ANCHORED_ID = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** Thrown for references Docker would reject; the message matches Docker's. */
export class InvalidReferenceError extends Error {
  constructor(readonly input: string, why: string) {
    super(`invalid reference format${why ? `: ${why}` : ''}: ${JSON.stringify(input)}`);
    this.name = 'InvalidReferenceError';
  }
}

/** Parses and normalises `input` (adds docker.io, library/, and :latest when there is no tag or digest). */
export function parseReference(input: string): ImageReference {
  const ref = parseNormalized(input);
  if (!ref.tag && !ref.digest) ref.tag = 'latest';
  return ref;
}

/** Like {@link parseReference} but does not add `:latest` (a repository name, or name@digest). */
export function parseNormalized(input: string): ImageReference {
  if (ANCHORED_ID.test(input)) {
    throw new InvalidReferenceError(input, 'cannot specify 64-byte hexadecimal strings');
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(input, 'invalid digest');
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new InvalidReferenceError(input, 'invalid checksum digest length');
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, 'invalid tag');
  }
  if (!rest) throw new InvalidReferenceError(input, 'repository name must have at least one component');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (!DOMAIN.test(domain)) throw new InvalidReferenceError(input, 'invalid domain');
  if (path.toLowerCase() !== path) throw new InvalidReferenceError(input, 'repository name must be lowercase');
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT.test(c)) throw new InvalidReferenceError(input, '');
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(input, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const r: ImageReference = { domain, path };
  if (tag) r.tag = tag;
  if (digest) r.digest = digest;
  return r;
}

/** `domain/path`, e.g. `docker.io/library/busybox`. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full string: `domain/path[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return repositoryOf(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** Normalises a user-typed reference: `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short form Docker prints: `busybox:latest`, `user/app:1`, `localhost:5000/app:latest`. */
export function familiarString(ref: ImageReference | string): string {
  const r = typeof ref === 'string' ? parseNormalized(ref) : ref;
  let name = repositoryOf(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : r.path;
  }
  return name + (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}
