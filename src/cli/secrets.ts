/**
 * `skiff secrets rotate-key`: encryption-at-rest key rotation, upstream's documented procedure
 * done in one command. A new key goes first in `DATA_DIR/pki/encryption-config.yaml` (old keys
 * stay, so everything stays readable), then every Secret is rewritten under the new key:
 * - a server running on this data dir notices the changed file, reloads it and rewrites every
 *   value itself (the write-through goes through its own store, so its watch cache and
 *   watchers stay consistent); this command waits until the store shows only the new key;
 * - with no server running, this command rewrites the store itself (offline).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR } from './defaults.js';
import { addKey, encryptionConfigPath, loadOrCreateEncryptionConfig, stringifyEncryptionConfig } from '../apiserver/encryption/config.js';
import { EncryptingStore } from '../apiserver/encryption/encrypting-store.js';
import { ValueTransformer } from '../apiserver/encryption/transformer.js';
import { defaultRegistry } from '../api/resources/index.js';
import { openStore } from '../store/open.js';
import { writeSecret } from '../client/cert.js';
import { HttpTransport, loadKubeconfig } from '../client/rest.js';

interface RotateFlags {
  dataDir: string;
  store?: string;
  timeout: string;
}

/** True when the API server of this data dir answers /readyz. */
async function serverRunning(dataDir: string): Promise<boolean> {
  const kubeconfig = join(dataDir, 'kubeconfig');
  if (!existsSync(kubeconfig)) return false;
  try {
    const t = new HttpTransport(loadKubeconfig(kubeconfig));
    const res = await Promise.race([t.request({ method: 'GET', path: '/readyz' }), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 3000).unref())]);
    return res.status === 200;
  } catch {
    return false;
  }
}

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('encryption at rest of Secrets');
  secrets
    .command('rotate-key')
    .description('add a new encryption key (used for all writes from now on) and re-encrypt every Secret with it')
    .option('--data-dir <dir>', 'data directory of the cluster', DEFAULT_DATA_DIR)
    .option('--store <spec>', 'the store the server uses, if not DATA_DIR/state.db (etcd://host:port)')
    .option('--timeout <s>', 'seconds to wait for a running server to finish re-encrypting', '60')
    .action(async (flags: RotateFlags) => {
      const storeSpec = flags.store ?? join(flags.dataDir, 'state.db');
      if (!flags.store && !existsSync(storeSpec)) throw new Error(`no store at ${storeSpec} (is --data-dir right? pass --store for etcd)`);
      const path = encryptionConfigPath(flags.dataDir);
      const { config, keyName } = addKey(loadOrCreateEncryptionConfig(path));
      const running = await serverRunning(flags.dataDir);
      writeSecret(path, stringifyEncryptionConfig(config));
      console.log(`skiff: added encryption key ${keyName} to ${path}`);
      // Opened afresh for every look: a SQLite store reads at the revision it saw when opened.
      const open = async () => new EncryptingStore(await openStore(storeSpec, { compactIntervalMs: 0 }), new ValueTransformer(config, defaultRegistry()));
      if (!running) {
        const store = await open();
        try {
          const n = await store.rewriteStale();
          console.log(`skiff: re-encrypted ${n} stored value(s) with ${keyName} (offline: no server was running on ${flags.dataDir})`);
        } finally {
          await store.close();
        }
        return;
      }
      const deadline = Date.now() + Number(flags.timeout) * 1000;
      for (;;) {
        const store = await open();
        const usage = await store.keyUsage().finally(() => store.close());
        const others = [...usage].filter(([k]) => !k.endsWith(`:${keyName}`));
        if (!others.length) {
          const total = [...usage.values()].reduce((a, b) => a + b, 0);
          console.log(`skiff: the running API server re-encrypted every stored value (${total}) with ${keyName}`);
          return;
        }
        if (Date.now() > deadline) {
          throw new Error(`the running API server has not re-encrypted ${others.map(([k, n]) => `${n} value(s) under ${k}`).join(', ')} after ${flags.timeout} s; its log says why`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    });
}
