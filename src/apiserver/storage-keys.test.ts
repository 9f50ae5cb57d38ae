import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../api/resources/index.js';
import { parseStorageKey, resourcePrefixOf, storageKey, storagePrefix } from './storage-keys.js';

const registry = defaultRegistry();

test('keys follow /registry/{group|core}/{plural}/[{namespace}/]{name} and parse back', () => {
  const pods = registry.byKind('', 'Pod')!;
  const nodes = registry.byKind('', 'Node')!;
  const deployments = registry.byKind('apps', 'Deployment')!;
  assert.equal(storageKey(pods, 'default', 'web-1'), '/registry/core/pods/default/web-1');
  assert.equal(storageKey(nodes, undefined, 'n1'), '/registry/core/nodes/n1');
  assert.equal(storageKey(deployments, 'ns', 'd'), '/registry/apps/deployments/ns/d');
  assert.deepEqual(parseStorageKey(pods, '/registry/core/pods/default/web-1'), { namespace: 'default', name: 'web-1' });
  assert.deepEqual(parseStorageKey(nodes, '/registry/core/nodes/n1'), { namespace: '', name: 'n1' });
  for (const def of registry.all) {
    const key = storageKey(def, def.namespaced ? 'ns' : undefined, 'x');
    assert.equal(resourcePrefixOf(key), storagePrefix(def), def.plural);
  }
  assert.equal(resourcePrefixOf('/registry/core'), undefined);
  assert.equal(resourcePrefixOf('/other/core/pods/x'), undefined);
});
