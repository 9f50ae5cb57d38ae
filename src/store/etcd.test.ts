import { after, before, describe } from 'node:test';
import { runStoreConformance } from './testing/conformance.js';
import { EtcdStore } from './etcd.js';
import { startEtcd, type EtcdServer } from './testing/etcd-server.js';
import type { Store } from './types.js';

describe('EtcdStore against a real etcd', () => {
  let etcd: EtcdServer | undefined;
  let n = 0;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  // One etcd for the file: each test gets its own key prefix; revisions are shared.
  runStoreConformance('etcd', async () => {
    if (!etcd) throw new Error('etcd did not start');
    const endpoint = etcd.endpoint;
    const keyPrefix = `/t${++n}-${process.pid}`;
    let store: Store = await EtcdStore.connect(endpoint, { keyPrefix });
    return {
      store,
      baseRevision: await store.revision(),
      async reopen() {
        await store.close();
        store = await EtcdStore.connect(endpoint, { keyPrefix });
        return store;
      },
      async dispose() {
        await store.close();
      },
    };
  });
});
