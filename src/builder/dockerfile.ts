/**
 * Dockerfile parsing into build stages. `dockerfile-ast` finds the instructions, their
 * line numbers and the `# escape=` directive; this module reads each instruction's text
 * itself (continuation lines joined, comment lines inside continuations dropped, leading
 * `--flag[=value]` options split off, JSON exec form recognised) so that every instruction
 * is handled by one set of rules, and reports problems as `Dockerfile:LINE: …`.
 */
import { DockerfileParser } from 'dockerfile-ast';

/** Instructions the builder understands (upper case). */
export const KNOWN_INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER',
  'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Flags each instruction accepts; anything else is an error (as in BuildKit). */
const ALLOWED_FLAGS: Record<string, string[]> = {
  FROM: ['platform'],
  RUN: ['network', 'security', 'mount'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'checksum', 'link', 'keep-git-dir', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

/** One instruction as written. */
export interface Instruction {
  /** 1-based line of the keyword in the Dockerfile. */
  line: number;
  /** Upper-case keyword, e.g. `RUN`. */
  keyword: string;
  /** Options before the arguments: `--from=build` → { from: 'build' }; a bare `--link` → ''. */
  flags: Record<string, string>;
  /** Arguments after the flags, continuation lines joined. */
  args: string;
  /** Exec (JSON array) form, when the arguments are one. */
  json?: string[];
  /** The instruction as one line, for progress output and history. */
  text: string;
}

/** One `FROM … [AS name]` section. */
export interface Stage {
  index: number;
  /** Lower-cased `AS` name, if any. */
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARG instructions before the first FROM (usable in FROM lines). */
  globalArgs: Instruction[];
  stages: Stage[];
  escape: string;
}

/** A Dockerfile problem; `line` is 1-based (0 when not tied to a line). */
export class DockerfileError extends Error {
  override name = 'DockerfileError';
  constructor(readonly line: number, message: string, file = 'Dockerfile') {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
  }
}

/** Joins continuation lines: the escape char at a line end continues it; comment and blank lines in between vanish. */
function joinContinuations(text: string, escape: string): string {
  const lines = text.split(/\r?\n/);
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (i > 0 && (/^\s*#/.test(l) || l.trim() === '')) continue;
    const trimmed = l.replace(/\s+$/, '');
    if (i < lines.length - 1 && trimmed.endsWith(escape)) l = trimmed.slice(0, -1);
    out += l;
  }
  return out;
}

/** Splits leading `--name[=value]` options off an argument string. */
export function splitFlags(s: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = s.trimStart();
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    let v = m[2] ?? '';
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    flags[m[1]!.toLowerCase()] = v;
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.trim() };
}

/** Parses the exec form: a JSON array of strings, else undefined (then it is shell form, as in Docker). */
export function parseJsonForm(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

/** Parses a single instruction line (also used for ONBUILD triggers). */
export function parseInstruction(text: string, line: number, escape = '\\', file = 'Dockerfile'): Instruction {
  const joined = joinContinuations(text, escape).trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
  if (!m) throw new DockerfileError(line, 'empty instruction', file);
  const keyword = m[1]!.toUpperCase();
  if (!KNOWN_INSTRUCTIONS.has(keyword)) {
    throw new DockerfileError(line, `unknown instruction: ${m[1]} (supported: ${[...KNOWN_INSTRUCTIONS].join(', ')})`, file);
  }
  let args = m[2]!.trim();
  let flags: Record<string, string> = {};
  const allowed = ALLOWED_FLAGS[keyword];
  if (allowed) {
    const r = splitFlags(args);
    flags = r.flags;
    args = r.rest;
    for (const f of Object.keys(flags)) {
      if (!allowed.includes(f)) throw new DockerfileError(line, `unknown flag: --${f} (${keyword} accepts ${allowed.map((a) => `--${a}`).join(', ')})`, file);
    }
  }
  if ((keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') && /^<<-?\s*["']?[A-Za-z_]/.test(args)) {
    throw new DockerfileError(line, `heredocs (${keyword} <<EOF) are not supported yet; put the script in a file and COPY it`, file);
  }
  const needsArgs = !['HEALTHCHECK'].includes(keyword);
  if (needsArgs && args === '') throw new DockerfileError(line, `${keyword} requires at least one argument`, file);
  const inst: Instruction = { line, keyword, flags, args, text: joined.replace(/\s+/g, ' ') };
  const json = ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME', 'COPY', 'ADD'].includes(keyword) ? parseJsonForm(args) : undefined;
  if (json) inst.json = json;
  return inst;
}

/** Parses Dockerfile text into global ARGs and stages. */
export function parseDockerfile(content: string, file = 'Dockerfile'): ParsedDockerfile {
  const df = DockerfileParser.parse(content);
  const escape = df.getEscapeCharacter() || '\\';
  const lines = content.split('\n');
  const textOf = (r: { start: { line: number; character: number }; end: { line: number; character: number } }) => {
    if (r.start.line === r.end.line) return lines[r.start.line]!.slice(r.start.character, r.end.character);
    const parts = [lines[r.start.line]!.slice(r.start.character)];
    for (let l = r.start.line + 1; l < r.end.line; l++) parts.push(lines[l]!);
    parts.push(lines[r.end.line]!.slice(0, r.end.character));
    return parts.join('\n');
  };
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const raw of df.getInstructions()) {
    const line = raw.getRange().start.line + 1;
    const inst = parseInstruction(textOf(raw.getRange()), line, escape, file);
    if (inst.keyword === 'FROM') {
      const words = inst.args.split(/\s+/);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') {
        name = words[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9._-]*$/.test(name)) throw new DockerfileError(line, `invalid stage name ${JSON.stringify(words[2])}: use letters, digits, '.', '_' and '-', starting with a letter`, file);
        if (names.has(name)) throw new DockerfileError(line, `duplicate stage name ${JSON.stringify(name)}`, file);
        names.add(name);
      } else if (words.length !== 1) {
        throw new DockerfileError(line, 'FROM requires either one argument, or three: FROM <source> [AS <name>]', file);
      }
      stages.push({ index: stages.length, ...(name ? { name } : {}), from: inst, instructions: [] });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (!cur) {
      if (inst.keyword !== 'ARG') throw new DockerfileError(line, `${inst.keyword} before the first FROM: only ARG may come before FROM`, file);
      globalArgs.push(inst);
      continue;
    }
    if (inst.keyword === 'ONBUILD') {
      const trig = inst.args.split(/\s+/)[0]!.toUpperCase();
      if (trig === 'ONBUILD' || trig === 'FROM' || trig === 'MAINTAINER') {
        throw new DockerfileError(line, `${trig} isn't allowed as an ONBUILD trigger`, file);
      }
      parseInstruction(inst.args, line, escape, file); // validate now, run later
    }
    cur.instructions.push(inst);
  }
  if (stages.length === 0) throw new DockerfileError(0, 'file with no instructions: a Dockerfile needs at least one FROM', file);
  return { globalArgs, stages, escape };
}
