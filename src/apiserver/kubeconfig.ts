/**
 * Writes kubeconfig files for the cluster: a standalone one in the data directory, and an
 * entry merged into the user's ~/.kube/config that leaves their other clusters alone.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';

export interface KubeconfigOptions {
  /** API server URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** CA certificate (PEM) that signed the serving certificate. */
  caPem: string;
  /** Bearer token. */
  token?: string;
  /** Client certificate and key (PEM), as kubeadm's admin.conf. */
  clientCert?: { certPem: string; keyPem: string };
  /** Name of the context, and of the cluster entry. */
  contextName: string;
  /** Name of the user entry; defaults to `<contextName>-admin`. */
  user?: string;
  /**
   * The cluster's data directory, recorded in the context as the extension
   * {@link DATA_DIR_EXTENSION} so skiff commands run with this context find the cluster's
   * image store and settings.
   */
  dataDir?: string;
}

/** Name of the context extension holding `{ dataDir }`. */
export const DATA_DIR_EXTENSION = 'skiff.dev/data-dir';

interface Named { name: string; [k: string]: unknown }
interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  'current-context'?: string;
  [k: string]: unknown;
}

function entries(o: KubeconfigOptions): { cluster: Named; user: Named; context: Named } {
  const user = o.user ?? `${o.contextName}-admin`;
  return {
    cluster: {
      name: o.contextName,
      cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') },
    },
    user: {
      name: user,
      user: {
        ...(o.clientCert ? { 'client-certificate-data': b64(o.clientCert.certPem), 'client-key-data': b64(o.clientCert.keyPem) } : {}),
        ...(o.token ? { token: o.token } : {}),
      },
    },
    context: {
      name: o.contextName,
      context: { cluster: o.contextName, user, ...(o.dataDir ? { extensions: [{ name: DATA_DIR_EXTENSION, extension: { dataDir: o.dataDir } }] } : {}) },
    },
  };
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Writes a kubeconfig holding only this cluster (mode 0600). */
export function writeKubeconfig(path: string, opts: KubeconfigOptions): void {
  const e = entries(opts);
  const doc: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [e.cluster],
    users: [e.user],
    contexts: [e.context],
    'current-context': opts.contextName,
    preferences: {},
  };
  writeAtomic(path, stringify(doc));
}

/**
 * Adds or replaces this cluster's cluster, user and context entries in an existing kubeconfig
 * (creating it if missing) and makes the context current. Other entries and unknown top-level
 * keys are kept. A file that is not a kubeconfig is left untouched and an error is thrown.
 */
export function mergeIntoUserKubeconfig(path: string, opts: KubeconfigOptions): void {
  let doc: KubeconfigDoc = {};
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    const parsed: unknown = text.trim() ? parse(text) : {};
    if (parsed === null || parsed === undefined) doc = {};
    else if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path} is not a kubeconfig file`);
    else doc = parsed as KubeconfigDoc;
  }
  const e = entries(opts);
  const upsert = (list: unknown, item: Named): Named[] => {
    const arr = Array.isArray(list) ? (list as Named[]) : [];
    const i = arr.findIndex((x) => x && x.name === item.name);
    if (i >= 0) arr[i] = item;
    else arr.push(item);
    return arr;
  };
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.clusters = upsert(doc.clusters, e.cluster);
  doc.users = upsert(doc.users, e.user);
  doc.contexts = upsert(doc.contexts, e.context);
  doc['current-context'] = opts.contextName;
  writeAtomic(path, stringify(doc));
}
