/**
 * DATA_DIR/node-token: what `skiff agent --token-file` joins with. Written once (0600) by the
 * server; its bootstrap token is kept as the `kube-system/bootstrap-token-<id>` Secret, which
 * is recreated when missing so the file keeps working.
 */
import { join } from 'node:path';
import { isReason } from '../api/errors.js';
import { caCertHash, readIfExists, writeSecret } from '../client/cert.js';
import { formatNodeToken, newBootstrapToken, parseNodeToken } from '../client/node-token.js';
import { bootstrapTokenSecret, BOOTSTRAP_TOKEN_SECRET_PREFIX } from './authn/bootstrap-token.js';
import type { ApiServer } from './server.js';
import type { KObject } from '../api/registry.js';

export const NODE_TOKEN_FILE = 'node-token';

/** Ensures the node token file and its bootstrap token Secret; returns the file's path. */
export async function ensureNodeToken(server: Pick<ApiServer, 'opts' | 'pki' | 'storage' | 'registry' | 'cache'>, user: Parameters<ApiServer['storage']['create']>[3]['user']): Promise<string> {
  const file = join(server.opts.dataDir, NODE_TOKEN_FILE);
  const hash = caCertHash(server.pki.caCertPem);
  let token: string | undefined;
  const existing = readIfExists(file);
  if (existing) {
    try {
      const parsed = parseNodeToken(existing);
      if (parsed.caHash === hash) token = parsed.bootstrapToken;
    } catch {
      /* rewritten below */
    }
  }
  if (!token) {
    token = newBootstrapToken();
    writeSecret(file, formatNodeToken({ caHash: hash, bootstrapToken: token }) + '\n');
  }
  const def = server.registry.byKind('', 'Secret')!;
  const id = token.split('.')[0];
  if (!server.cache.get(def, 'kube-system', BOOTSTRAP_TOKEN_SECRET_PREFIX + id)) {
    await server.storage.create(def, 'kube-system', bootstrapTokenSecret(token, 'skiff node join token (DATA_DIR/node-token)') as KObject, { user }).catch((err) => {
      if (!isReason(err, 'AlreadyExists')) throw err;
    });
  }
  return file;
}
