/**
 * The build context: a directory, filtered by `.dockerignore` (moby/patternmatcher rules:
 * Go filepath.Match globs plus `**`, `!` exceptions, the last matching pattern wins, a
 * pattern matching a directory excludes everything below it), and the source lookups COPY
 * and ADD need: glob matching of sources and content digests for the layer cache.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';

/** Converts one glob (Go filepath.Match syntax plus `**`) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` anything.
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when a pattern has glob characters. */
export function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

interface IgnoreRule {
  re: RegExp;
  negate: boolean;
}

/** `.dockerignore` rules. */
export class IgnoreMatcher {
  private readonly rules: IgnoreRule[];

  constructor(patterns: string[]) {
    this.rules = [];
    for (let p of patterns) {
      p = p.trim();
      if (!p || p.startsWith('#')) continue;
      let negate = false;
      if (p.startsWith('!')) {
        negate = true;
        p = p.slice(1).trim();
      }
      p = posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
      if (p === '.' || p === '') continue;
      this.rules.push({ re: globToRegExp(p), negate });
    }
  }

  /** Reads `<contextDir>/.dockerignore` (none = nothing ignored). */
  static forContext(contextDir: string): IgnoreMatcher {
    const f = join(contextDir, '.dockerignore');
    return new IgnoreMatcher(existsSync(f) ? readFileSync(f, 'utf8').split(/\r?\n/) : []);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether a context-relative path (no leading slash) is excluded. */
  ignores(rel: string): boolean {
    if (this.rules.length === 0) return false;
    const parts = rel.split('/');
    let excluded = false;
    for (const r of this.rules) {
      // A rule matches the path or any parent directory of it.
      let hit = false;
      for (let i = parts.length; i >= 1 && !hit; i--) hit = r.re.test(parts.slice(0, i).join('/'));
      if (hit) excluded = !r.negate;
    }
    return excluded;
  }

  /** Whether a directory could contain a re-included (`!`) path, so it must still be walked. */
  mayReinclude(rel: string): boolean {
    return this.rules.some((r) => r.negate && (r.re.source.startsWith(`^${rel.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) || r.re.source.includes('.*')));
  }
}

/** A context entry. */
export interface ContextEntry {
  /** Context-relative path, `/`-separated, no leading slash. */
  rel: string;
  abs: string;
  stat: Stats;
}

/** The build context directory with its ignore rules. */
export class BuildContext {
  readonly ignore: IgnoreMatcher;
  private all?: ContextEntry[];

  constructor(readonly dir: string, ignore?: IgnoreMatcher) {
    this.ignore = ignore ?? IgnoreMatcher.forContext(dir);
  }

  /** Every non-ignored entry, sorted by path (walked once). */
  entries(): ContextEntry[] {
    if (this.all) return this.all;
    const out: ContextEntry[] = [];
    const walk = (rel: string) => {
      const abs = rel ? join(this.dir, rel) : this.dir;
      for (const name of readdirSync(abs).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(abs, name));
        const ignored = this.ignore.ignores(r);
        if (!ignored) out.push({ rel: r, abs: join(abs, name), stat: st });
        if (st.isDirectory() && (!ignored || this.ignore.mayReinclude(r))) walk(r);
      }
    };
    walk('');
    this.all = out;
    return out;
  }

  /**
   * Resolves one COPY/ADD source (may hold globs) to context entries. Paths are cleaned
   * relative to the context root (`../x` cannot leave it). Throws when nothing matches.
   */
  match(src: string): ContextEntry[] {
    const clean = posix.normalize('/' + src).replace(/^\/+/, '').replace(/\/+$/, '');
    if (clean === '' || clean === '.') return [{ rel: '', abs: this.dir, stat: lstatSync(this.dir) }];
    if (!hasGlob(clean)) {
      const abs = join(this.dir, clean);
      if (!existsSync(abs) || this.ignore.ignores(clean)) {
        throw new Error(`"${src}" not found in the build context${this.ignore.ignores(clean) ? ' (it is excluded by .dockerignore)' : ''}`);
      }
      return [{ rel: clean, abs, stat: lstatSync(abs) }];
    }
    const re = globToRegExp(clean);
    const hits = this.entries().filter((e) => re.test(e.rel));
    if (hits.length === 0) throw new Error(`no source files were specified: "${src}" matches nothing in the build context`);
    return hits;
  }

  /** Entries under a directory entry (for copying a directory's content), sorted. */
  below(rel: string): ContextEntry[] {
    if (rel === '') return this.entries();
    return this.entries().filter((e) => e.rel.startsWith(rel + '/'));
  }
}

/**
 * Digest of a file tree for the layer cache: relative paths, types, modes, link targets and
 * file contents. (Timestamps are left out: builds are reproducible, so touching a file without
 * changing it keeps the cache.)
 */
export async function treeDigest(items: { rel: string; abs: string; stat: Stats }[]): Promise<string> {
  const h = createHash('sha256');
  for (const it of items) {
    const st = it.stat;
    h.update(`${it.rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(`L${readlinkSync(it.abs)}\0`);
    else if (st.isFile()) {
      h.update(`F${st.size}\0`);
      for await (const chunk of createReadStream(it.abs)) h.update(chunk as Buffer);
    }
  }
  return `sha256:${h.digest('hex')}`;
}
