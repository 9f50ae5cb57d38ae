/**
 * Registry credentials on the Docker socket. The CLI keeps them in its own config.json
 * (`docker login` only asks the daemon to check them, `POST /auth`) and sends them with every
 * pull and push as `X-Registry-Auth`: base64url JSON `{"username","password","serveraddress"}`
 * (`e30=`, `{}`, when it has none). Builds get all of them at once in `X-Registry-Config`
 * (`{"<registry>": {"username","password"}}`). When a request carries none, the daemon
 * falls back to a docker config.json of its own (what `skiff login` writes).
 */
import type { IncomingMessage } from 'node:http';
import type { Credentials } from '../../image/registry/auth.js';
import { loadCredentials } from '../../image/registry/auth.js';
import { RegistryClient, RegistryError } from '../../image/registry/client.js';
import { DEFAULT_DOMAIN } from '../../image/reference.js';
import { badParameter, DockerError } from '../errors.js';

/** Where the daemon's own registry settings come from. */
export interface RegistrySettings {
  /** The daemon's docker config.json, used when a request carries no credentials (default: the registry client's, $DOCKER_CONFIG or ~/.docker). */
  dockerConfig?: string;
  /** Registries spoken to over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
}

interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
}

function decodeJson(header: string): unknown {
  const text = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badParameter('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
}

function credentialsOf(a: AuthConfig | undefined): Credentials | undefined {
  if (!a) return undefined;
  if (a.username && a.password) return { username: a.username, password: a.password };
  if (a.auth) {
    const dec = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i > 0) return { username: dec.slice(0, i), password: dec.slice(i + 1) };
  }
  return undefined;
}

/** Credentials in an `X-Registry-Auth` header; undefined when it is absent or empty (`e30=`). */
export function registryAuthHeader(req: IncomingMessage): Credentials | undefined {
  const h = req.headers['x-registry-auth'];
  if (typeof h !== 'string' || !h) return undefined;
  return credentialsOf(decodeJson(h) as AuthConfig);
}

/** Credentials by registry domain from `X-Registry-Config` (builds). */
export function registryConfigHeader(req: IncomingMessage): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  const h = req.headers['x-registry-config'];
  if (typeof h !== 'string' || !h) return out;
  const all = decodeJson(h) as Record<string, AuthConfig>;
  for (const [server, a] of Object.entries(all ?? {})) {
    const c = credentialsOf(a);
    if (c) out.set(registryDomain(server), c);
  }
  return out;
}

/** `https://index.docker.io/v1/` → `docker.io`, `http://127.0.0.1:5000/v2/` → `127.0.0.1:5000`. */
export function registryDomain(serverAddress: string | undefined): string {
  const s = (serverAddress ?? '').trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!s || s === 'index.docker.io' || s === 'registry-1.docker.io' || s === 'registry.hub.docker.com') return DEFAULT_DOMAIN;
  return s;
}

/** What a request's credentials for `domain` are: its own, else the daemon's config.json. */
export function credentialsFor(domain: string, fromRequest: Credentials | undefined, settings: RegistrySettings): Credentials | undefined {
  return fromRequest ?? loadCredentials(domain, settings.dockerConfig);
}

/**
 * `POST /auth`: checks credentials against the registry's `/v2/` (Basic, or the Bearer token
 * flow on a challenge), as dockerd does. 401 with dockerd's words when they are refused.
 */
export async function checkLogin(body: unknown, settings: RegistrySettings): Promise<{ Status: string; IdentityToken: string }> {
  if (!body || typeof body !== 'object') throw badParameter('invalid JSON body: expected {"username","password","serveraddress"}');
  const a = body as AuthConfig;
  const creds = credentialsOf(a);
  if (!creds) throw badParameter('username and password are required to log in');
  const domain = registryDomain(a.serveraddress);
  const client = new RegistryClient(domain, { credentials: creds, insecure: settings.insecureRegistries, retries: 2 });
  try {
    await client.ping();
  } catch (e) {
    if (e instanceof RegistryError && (e.status === 401 || e.status === 403)) {
      throw new DockerError(401, `login attempt to ${client.baseUrl}/v2/ failed with status: ${e.status} ${e.status === 401 ? 'Unauthorized' : 'Forbidden'}`);
    }
    throw new DockerError(500, `${(e as Error).message.replace(/ \(run `skiff login.*$/, '')} (check that ${domain} is a registry and is reachable)`);
  }
  return { Status: 'Login Succeeded', IdentityToken: '' };
}
