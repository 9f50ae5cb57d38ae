/**
 * Registry credentials in Docker's `config.json` (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`): `{"auths": {"<registry>": {"auth": base64("user:pass")}}}`.
 * Docker Hub's key is `https://index.docker.io/v1/`. Credential helpers (`credsStore`,
 * `credHelpers`) are not run; a clear error says so when they are the only source.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

/** Path of the docker config file. */
export function dockerConfigPath(override?: string): string {
  if (override) return override;
  const dir = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The key Docker uses in `auths` for a registry domain. */
export function authKey(domain: string): string {
  return domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

function readConfig(path: string): DockerConfig {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch (e) {
    throw new Error(`cannot parse ${path}: ${(e as Error).message} (fix or delete the file)`);
  }
}

/** Credentials for `domain`, or undefined (anonymous). */
export function loadCredentials(domain: string, configPath?: string): Credentials | undefined {
  const cfg = readConfig(dockerConfigPath(configPath));
  const auths = cfg.auths ?? {};
  const candidates = [authKey(domain), domain, `https://${domain}`, `http://${domain}`, `https://${domain}/v1/`, `https://${domain}/v2/`];
  if (domain === 'docker.io') candidates.push('index.docker.io', 'registry-1.docker.io');
  for (const k of candidates) {
    const a = auths[k];
    if (!a) continue;
    if (a.username && a.password) return { username: a.username, password: a.password };
    if (a.auth) {
      const dec = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i > 0) return { username: dec.slice(0, i), password: dec.slice(i + 1) };
    }
  }
  return undefined;
}

/** Stores credentials for `domain` (merging into the existing file, mode 0600). */
export function saveCredentials(domain: string, creds: Credentials, configPath?: string): string {
  const path = dockerConfigPath(configPath);
  const cfg = readConfig(path);
  cfg.auths = cfg.auths ?? {};
  cfg.auths[authKey(domain)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Parses a `WWW-Authenticate` header: scheme plus its parameters. */
export function parseAuthenticate(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  const re = /(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}
