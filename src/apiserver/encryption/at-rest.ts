/**
 * Encryption at rest as the API server runs it: the store wrapped in an {@link EncryptingStore}
 * keyed by `pki/encryption-config.yaml`; plaintext and older-key values rewritten at start;
 * the file reloaded when it changes (upstream's `--encryption-provider-config-automatic-reload`),
 * after which values under an older key are rewritten with the new one. `skiff secrets
 * rotate-key` relies on that reload when a server is running.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Registry } from '../../api/registry.js';
import type { Store } from '../../store/types.js';
import { loadOrCreateEncryptionConfig, parseEncryptionConfig } from './config.js';
import { EncryptingStore } from './encrypting-store.js';
import { ValueTransformer } from './transformer.js';

export interface EncryptionAtRest {
  store: EncryptingStore;
  /** Rewrites stale values, then follows the config file. Call once the watch cache runs. */
  start(): Promise<void>;
  stop(): void;
}

/** How often the config file's mtime is checked. */
const RELOAD_POLL_MS = 1000;

export function encryptionAtRest(store: Store, configPath: string, registry: Registry, log: (m: string) => void = (m) => console.error(`skiff: ${m}`)): EncryptionAtRest {
  const enc = new EncryptingStore(store, new ValueTransformer(loadOrCreateEncryptionConfig(configPath), registry));
  let watching = false;
  let busy: Promise<void> = Promise.resolve();
  const rewrite = async () => {
    const n = await enc.rewriteStale();
    if (n) log(`encryption at rest: rewrote ${n} stored value(s) with the current key`);
  };
  const reload = () => {
    busy = busy.then(async () => {
      try {
        enc.setTransformer(new ValueTransformer(parseEncryptionConfig(readFileSync(configPath, 'utf8'), configPath), registry));
        log(`encryption at rest: reloaded ${configPath}`);
        await rewrite();
      } catch (err) {
        log(`encryption at rest: keeping the previous keys: ${(err as Error).message}`);
      }
    });
  };
  return {
    store: enc,
    async start() {
      await rewrite();
      watchFile(configPath, { interval: RELOAD_POLL_MS }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino) reload();
      });
      watching = true;
    },
    stop() {
      if (watching) unwatchFile(configPath);
      watching = false;
    },
  };
}
