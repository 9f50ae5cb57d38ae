import { runStoreConformance } from './testing/conformance.js';
import { MemoryStore } from './memory.js';

runStoreConformance('memory', async () => {
  const store = new MemoryStore();
  return { store, dispose: () => store.close() };
});
