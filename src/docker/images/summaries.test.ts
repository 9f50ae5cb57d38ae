import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageInfo } from '../../image/image-index.js';
import { DockerError } from '../errors.js';
import { parseFilters } from '../filters.js';
import { displayName, filterImages, groupImages, imageHistory, matchingTags, untilSeconds } from './summaries.js';

function info(id: string, ref: string, created: string, labels?: Record<string, string>): ImageInfo {
  return {
    ref,
    id: `sha256:${id.padEnd(64, '0')}`,
    digest: `sha256:${id.padEnd(63, '0')}f`,
    size: 100,
    created,
    config: {
      created,
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
      history: [{ created_by: 'ADD rootfs' }, { created_by: 'ENV A=1', empty_layer: true }],
    },
    manifest: { schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:c', size: 1 }, layers: [{ mediaType: 'x', digest: 'sha256:l', size: 42 }] },
  };
}

const store = [
  info('aa', 'docker.io/library/busybox:latest', '2026-01-02T00:00:00Z', { tier: 'base' }),
  info('aa', 'localhost:5000/bb:1', '2026-01-02T00:00:00Z', { tier: 'base' }),
  info('aa', 'localhost:5000/bb@sha256:' + 'd'.repeat(64), '2026-01-02T00:00:00Z', { tier: 'base' }),
  info('bb', '', '2026-01-01T00:00:00Z'),
  info('cc', 'docker.io/user/app:2', '2026-01-03T00:00:00Z', { tier: 'app', team: 'x' }),
];

test('references group into images by ID, newest first, with familiar tags and digests', () => {
  const images = groupImages(store);
  assert.deepEqual(images.map((i) => [i.id.slice(7, 9), i.tags, i.digests]), [
    ['cc', ['user/app:2'], []],
    ['aa', ['busybox:latest', 'localhost:5000/bb:1'], ['localhost:5000/bb@sha256:' + 'd'.repeat(64)]],
    ['bb', [], []],
  ]);
});

test('list filters: dangling, label, reference globs, before/since, and unknown names', () => {
  const images = groupImages(store);
  const byName = (n: string) => images.find((i) => i.tags.some((t) => t.startsWith(n)))!;
  const ids = (f: string) => filterImages(images, parseFilters(f), byName).map((i) => i.id.slice(7, 9));
  assert.deepEqual(ids('{"dangling":{"true":true}}'), ['bb']);
  assert.deepEqual(ids('{"dangling":["false"]}'), ['cc', 'aa']);
  assert.deepEqual(ids('{"label":["tier=base"]}'), ['aa']);
  assert.deepEqual(ids('{"label":["team"]}'), ['cc']);
  assert.deepEqual(ids('{"reference":["localhost:5000/*"]}'), ['aa']);
  assert.deepEqual(ids('{"reference":["busybox"]}'), ['aa']);
  assert.deepEqual(ids('{"before":["user/app"]}'), ['aa', 'bb']);
  assert.deepEqual(ids('{"since":["busybox"]}'), ['cc']);
  assert.deepEqual(matchingTags(images[1]!, parseFilters('{"reference":["busybox"]}')).tags, ['busybox:latest']);
  assert.throws(() => ids('{"colour":["red"]}'), (e: DockerError) => e.status === 400 && /invalid filter 'colour'/.test(e.message));
  assert.throws(() => ids('{"dangling":["maybe"]}'), /invalid filter 'dangling=maybe'/);
  assert.throws(() => parseFilters('{nope'), /invalid filter/);
});

test('history is newest first, sizes pair with layers, the top row carries ID and tags', () => {
  const [, bb] = groupImages(store);
  const h = imageHistory(bb!);
  assert.deepEqual(h.map((r) => [r.Id === bb!.id, r.CreatedBy, r.Size, r.Tags]), [
    [true, 'ENV A=1', 0, ['busybox:latest', 'localhost:5000/bb:1']],
    [false, 'ADD rootfs', 42, null],
  ]);
});

test('until and names in errors read as dockerd writes them', () => {
  assert.equal(untilSeconds('1700000000', 0), 1700000000);
  assert.equal(untilSeconds('10m', 1_000_000_000), 1_000_000 - 600);
  assert.equal(untilSeconds('2026-01-01T00:00:00Z', 0), Date.parse('2026-01-01T00:00:00Z') / 1000);
  assert.equal(displayName('busybox'), 'busybox:latest');
  assert.equal(displayName('docker.io/library/busybox:1'), 'busybox:1');
  assert.equal(displayName('a1b2c3d4e5f6'), 'a1b2c3d4e5f6');
});
