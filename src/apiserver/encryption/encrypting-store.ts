/**
 * A Store that encrypts the values of configured resources on their way in and decrypts them
 * on their way out, wrapped around the real store by the API server. The store underneath
 * keeps only keys and ciphertext and knows nothing about encryption; everything above (object
 * storage, the watch cache, which keeps decrypted objects in memory as upstream's cacher)
 * sees plaintext.
 */
import { StoreError, type Cancel, type KeyValue, type ListOptions, type ListResult, type Store, type WatchEvent, type WatchHandlers } from '../../store/types.js';
import type { ValueTransformer } from './transformer.js';

export class EncryptingStore implements Store {
  constructor(
    /** The real store. */
    readonly inner: Store,
    private transformer: ValueTransformer,
  ) {}

  /** Swaps the keys (a reloaded config); later writes use the new first key. */
  setTransformer(t: ValueTransformer): void {
    this.transformer = t;
  }

  private out(kv: KeyValue): KeyValue {
    return { ...kv, value: this.transformer.fromStorage(kv.key, kv.value).value };
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }
  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }
  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.out(kv);
  }
  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const r = await this.inner.list(prefix, opts);
    return { ...r, items: r.items.map((kv) => this.out(kv)) };
  }
  count(prefix: string): Promise<number> {
    return this.inner.count(prefix);
  }
  async create(key: string, value: string): Promise<KeyValue> {
    const kv = await this.inner.create(key, this.transformer.toStorage(key, value));
    return { ...kv, value };
  }
  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    try {
      const kv = await this.inner.update(key, this.transformer.toStorage(key, value), expectedModRevision);
      return { ...kv, value };
    } catch (err) {
      throw this.decryptError(err);
    }
  }
  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    try {
      return this.out(await this.inner.delete(key, expectedModRevision));
    } catch (err) {
      throw this.decryptError(err);
    }
  }

  /** A Conflict carries the current value; callers read it, so it must be plaintext too. */
  private decryptError(err: unknown): unknown {
    if (err instanceof StoreError && err.current) {
      return new StoreError(err.code, err.message, this.out(err.current), err.compactedRevision);
    }
    return err;
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Cancel {
    return this.inner.watch(prefix, afterRevision, {
      onEvents: (events) => {
        const out: WatchEvent[] = [];
        for (const ev of events) {
          try {
            const e: WatchEvent = { ...ev, value: ev.value === '' ? '' : this.transformer.fromStorage(ev.key, ev.value).value };
            if (ev.prevValue !== undefined) e.prevValue = this.transformer.fromStorage(ev.key, ev.prevValue).value;
            out.push(e);
          } catch (err) {
            // A value no configured key decrypts (written by a server with other keys) cannot
            // be shown; say so rather than hand ciphertext to the cache.
            console.error(`skiff: watch: ${(err as Error).message}`);
          }
        }
        if (out.length) handlers.onEvents(out);
      },
      onError: handlers.onError,
    });
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Rewrites every value of an encrypted resource that is not under the current write key
   * (plaintext, or an older key) through this store, so it is stored under the current key:
   * upstream's storage migration, done by the server itself at start and after a key change.
   * Returns how many values were rewritten.
   */
  async rewriteStale(): Promise<number> {
    let n = 0;
    for (const prefix of this.transformer.prefixes()) {
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.inner.list(prefix, { limit: 500, startAfter });
        for (const kv of page.items) {
          const { value, stale } = this.transformer.fromStorage(kv.key, kv.value);
          if (!stale) continue;
          try {
            await this.update(kv.key, value, kv.modRevision);
            n++;
          } catch (err) {
            // Written or deleted meanwhile: the writer used the current key.
            if (!(err instanceof StoreError && (err.code === 'Conflict' || err.code === 'NotFound'))) throw err;
          }
        }
        if (!page.more || !page.items.length) break;
        startAfter = page.items[page.items.length - 1].key;
      }
    }
    return n;
  }

  /** Counts stored values of encrypted resources by the key that encrypted them ('identity' for plaintext). */
  async keyUsage(): Promise<Map<string, number>> {
    const usage = new Map<string, number>();
    for (const prefix of this.transformer.prefixes()) {
      const { items } = await this.inner.list(prefix);
      for (const kv of items) {
        const name = kv.value.startsWith('k8s:enc:') ? kv.value.split(':').slice(2, 5).join(':') : 'identity';
        usage.set(name, (usage.get(name) ?? 0) + 1);
      }
    }
    return usage;
  }
}
