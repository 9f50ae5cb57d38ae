import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryRef, indexEntry, resolveReference, withoutReference, withReference, type ImageInfo, type IndexEntry } from './image-index.js';
import { MediaTypes } from './oci.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string) => ({ mediaType: MediaTypes.ociManifest, digest: d(c), size: 10 });

/** An infoFor that knows every entry: image ID = the manifest digest with the letter after it. */
function infoFor(e: IndexEntry): ImageInfo {
  const idChar = String.fromCharCode(e.digest.charCodeAt(7) + 1);
  return {
    ref: entryRef(e), digest: e.digest, id: d(idChar), size: 1,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    manifest: { schemaVersion: 2, config: desc(idChar), layers: [] },
  };
}

test('withReference replaces a tag, and keeps an untagged entry only while no tag names the manifest', () => {
  let entries = withReference([], 'docker.io/library/a:1', desc('a'));
  assert.deepEqual(entries, [indexEntry('docker.io/library/a:1', desc('a'))]);
  assert.equal(entryRef(entries[0]!), 'docker.io/library/a:1');
  entries = withReference(entries, 'docker.io/library/a:1', desc('b'));
  assert.deepEqual(entries.map((e) => e.digest), [d('b')]);
  // Untagged while tagged: nothing added.
  assert.equal(withReference(entries, '', desc('b')).length, 1);
  // Untagged twice: once.
  entries = withReference(withReference(entries, '', desc('c')), '', desc('c'));
  assert.deepEqual(entries.map((e) => [entryRef(e), e.digest]), [['docker.io/library/a:1', d('b')], ['', d('c')]]);
});

test('resolveReference finds by tag, familiar name, digest, repo@digest and short ID', () => {
  const entries = [indexEntry('docker.io/library/busybox:latest', desc('a')), indexEntry('example.com/x/y:2', desc('c')), indexEntry('', desc('e'))];
  const r = (ref: string) => resolveReference(entries, ref, infoFor)?.digest;
  assert.equal(r('busybox'), d('a'));
  assert.equal(r('docker.io/library/busybox:latest'), d('a'));
  assert.equal(r('busybox:other'), undefined);
  assert.equal(r('example.com/x/y:2'), d('c'));
  assert.equal(r(d('e')), d('e'), 'untagged by manifest digest');
  assert.equal(r(d('f')), d('e'), 'by image ID');
  assert.equal(r('d'.repeat(12)), d('c'), 'short image ID');
  assert.equal(r(d('9')), undefined);
  assert.equal(r('Not A Ref!'), undefined);
  const byDigest = resolveReference(entries, `example.com/x/y@${d('c')}`, infoFor)!;
  assert.equal(byDigest.ref, `example.com/x/y@${d('c')}`, 'the reference asked for, not the tag');
});

test('withoutReference drops one tag by name, every tag of the image by ID', () => {
  const entries = [indexEntry('docker.io/library/a:1', desc('a')), indexEntry('docker.io/library/a:2', desc('a')), indexEntry('docker.io/library/b:1', desc('c'))];
  const info = resolveReference(entries, 'a:1', infoFor)!;
  const byName = withoutReference(entries, 'a:1', info);
  assert.deepEqual(byName.removed, ['docker.io/library/a:1']);
  assert.equal(byName.keep.length, 2);
  const byId = withoutReference(entries, d('b'), info);
  assert.deepEqual(byId.removed, ['docker.io/library/a:1', 'docker.io/library/a:2']);
  assert.deepEqual(byId.keep.map(entryRef), ['docker.io/library/b:1']);
});
