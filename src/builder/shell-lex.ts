/**
 * Dockerfile word processing, as BuildKit's `frontend/dockerfile/shell/lex.go` does it:
 * quotes are removed, the escape character (`\` or the `# escape=` directive's) escapes the
 * next character, and `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
 * `${VAR+alt}`, `${VAR:?message}` and `${VAR?message}` expand from the build environment.
 * Single quotes keep everything literal; inside double quotes only `"`, `$` and the escape
 * character can be escaped.
 *
 * Used for the instructions Docker expands: ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL,
 * USER, VOLUME, WORKDIR, ARG (and ONBUILD triggers when they run). RUN, CMD and ENTRYPOINT are
 * left to the shell in the container.
 */

/** Thrown for `${VAR:?msg}` with VAR unset, or an unterminated `${` / quote. */
export class ExpansionError extends Error {
  override name = 'ExpansionError';
}

type Env = Map<string, string> | Record<string, string>;

function lookup(env: Env, name: string): string | undefined {
  return env instanceof Map ? env.get(name) : Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
}

const NAME_CHAR = /[A-Za-z0-9_]/;

class Lexer {
  pos = 0;
  constructor(readonly s: string, readonly env: Env, readonly escape: string) {}

  peek(): string | undefined {
    return this.s[this.pos];
  }

  /**
   * Reads until `stop` (unquoted, unescaped) or the end. With `split`, unquoted whitespace
   * separates words (and whitespace produced by unquoted expansions splits too, as in a shell).
   */
  process(stop: string | undefined, split: boolean): string[] {
    const words: string[] = [];
    let cur = '';
    let inWord = false;
    const flush = () => {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    };
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (stop !== undefined && ch === stop) {
        this.pos++;
        flush();
        return words;
      }
      if (split && /\s/.test(ch)) {
        this.pos++;
        flush();
        continue;
      }
      if (ch === "'") {
        cur += this.singleQuoted();
        inWord = true;
      } else if (ch === '"') {
        cur += this.doubleQuoted();
        inWord = true;
      } else if (ch === '$') {
        const v = this.dollar();
        if (split) {
          // Unquoted expansion: split on whitespace.
          const parts = v.split(/\s+/);
          for (let i = 0; i < parts.length; i++) {
            if (i > 0) flush();
            if (parts[i] !== '') {
              cur += parts[i];
              inWord = true;
            }
          }
        } else {
          cur += v;
          inWord = true;
        }
      } else if (ch === this.escape) {
        this.pos++;
        if (this.pos < this.s.length) cur += this.s[this.pos++];
        else cur += ch; // a trailing escape stays
        inWord = true;
      } else {
        cur += ch;
        this.pos++;
        inWord = true;
      }
    }
    if (stop !== undefined) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
    flush();
    return words;
  }

  singleQuoted(): string {
    this.pos++; // '
    const end = this.s.indexOf("'", this.pos);
    if (end < 0) throw new ExpansionError("unexpected end of statement while looking for matching single-quote");
    const v = this.s.slice(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  doubleQuoted(): string {
    this.pos++; // "
    let out = '';
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      if (ch === this.escape) {
        const next = this.s[this.pos + 1];
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.pos += 2;
          continue;
        }
      }
      out += ch;
      this.pos++;
    }
    throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
  }

  dollar(): string {
    this.pos++; // $
    const ch = this.peek();
    if (ch === '{') {
      this.pos++;
      let name = '';
      while (this.pos < this.s.length && NAME_CHAR.test(this.s[this.pos]!)) name += this.s[this.pos++];
      if (!name) throw new ExpansionError(`bad substitution: missing variable name after \${`);
      const value = lookup(this.env, name);
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return value ?? '';
      }
      let colon = false;
      if (c === ':') {
        colon = true;
        this.pos++;
      }
      const op = this.peek();
      if (op !== '-' && op !== '+' && op !== '?') throw new ExpansionError(`unsupported modifier (${op ?? 'end'}) in substitution of ${name}`);
      this.pos++;
      const word = this.process('}', false).join('');
      const set = colon ? value !== undefined && value !== '' : value !== undefined;
      if (op === '-') return set ? value! : word;
      if (op === '+') return set ? word : '';
      if (!set) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
      return value!;
    }
    let name = '';
    while (this.pos < this.s.length && NAME_CHAR.test(this.s[this.pos]!)) name += this.s[this.pos++];
    if (!name) return '$';
    return lookup(this.env, name) ?? '';
  }
}

/** Expands and unquotes one word (the whole string is one word: spaces are kept). */
export function expandWord(word: string, env: Env, escape = '\\'): string {
  return new Lexer(word, env, escape).process(undefined, false).join('');
}

/** Expands, unquotes and splits a string into words the way a shell would. */
export function expandWords(s: string, env: Env, escape = '\\'): string[] {
  return new Lexer(s, env, escape).process(undefined, true);
}

/**
 * Splits a string into raw words on unquoted whitespace, keeping quotes and escapes in place
 * (Docker's parseNameVal/parseWords step before each word is expanded with {@link expandWord}).
 */
export function splitRawWords(s: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (!quote && /\s/.test(ch)) {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    if (ch === escape && quote !== "'" && i + 1 < s.length) {
      cur += ch + s[++i];
      continue;
    }
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    cur += ch;
  }
  if (cur) words.push(cur);
  return words;
}

/**
 * Parses `key=value …` pairs (ENV, LABEL, ARG) with expansion, or the legacy one-pair form
 * `KEY value with spaces`. Keys are expanded and unquoted too (LABEL "a b"=c).
 */
export function parseKeyValues(s: string, env: Env, escape = '\\', opts: { allowBareKeys?: boolean } = {}): [string, string | undefined][] {
  const words = splitRawWords(s.trim(), escape);
  if (words.length === 0) return [];
  const first = words[0]!;
  const firstEq = indexOfUnquoted(first, '=', escape);
  if (firstEq < 0 && !opts.allowBareKeys) {
    // Legacy form: the first word is the key, the rest of the line the value.
    const rest = s.trim().slice(s.trim().indexOf(first) + first.length).trim();
    return [[expandWord(first, env, escape), expandWord(rest, env, escape)]];
  }
  const out: [string, string | undefined][] = [];
  for (const w of words) {
    const eq = indexOfUnquoted(w, '=', escape);
    if (eq < 0) {
      if (!opts.allowBareKeys) throw new ExpansionError(`${JSON.stringify(w)} is not of the form key=value`);
      out.push([expandWord(w, env, escape), undefined]);
      continue;
    }
    out.push([expandWord(w.slice(0, eq), env, escape), expandWord(w.slice(eq + 1), env, escape)]);
  }
  return out;
}

function indexOfUnquoted(w: string, ch: string, escape: string): number {
  let quote: string | undefined;
  for (let i = 0; i < w.length; i++) {
    const c = w[i]!;
    if (c === escape && quote !== "'") {
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ch) return i;
  }
  return -1;
}
