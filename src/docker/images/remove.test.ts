import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startImageEngine, type ImageEngine } from '../testing/image-engine.js';

// docker images / inspect / history / tag / rmi / image prune through the real CLI.
describe('listing, tagging and removing images', () => {
  let e: ImageEngine;
  let busyboxId: string;

  before(async () => {
    e = await startImageEngine();
    busyboxId = (await e.docker(['inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
  });
  after(() => e?.close());

  test('images, inspect and history by name, full ID and short ID; unknown names are 404', async () => {
    assert.match(busyboxId, /^sha256:[0-9a-f]{64}$/);
    const short = busyboxId.slice(7, 19);
    for (const name of ['busybox', 'busybox:latest', 'docker.io/library/busybox', busyboxId, short, busyboxId.slice(7, 13)]) {
      const r = await e.docker(['image', 'inspect', '--format', '{{.Id}} {{.RepoTags}} {{.Os}} {{.RootFS.Type}}', name]);
      assert.equal(r.stdout.trim(), `${busyboxId} [busybox:latest] linux layers`, `${name}: ${r.stderr}`);
    }
    const images = await e.docker(['images', '--format', '{{.Repository}} {{.Tag}} {{.ID}}']);
    assert.equal(images.stdout.trim(), `busybox latest ${short}`);
    const history = await e.docker(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', 'busybox']);
    assert.match(history.stdout, new RegExp(`^${busyboxId} skiff import`));
    const missing = await e.docker(['image', 'inspect', 'nothere:1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: nothere:1/);
    const rmMissing = await e.docker(['rmi', 'nothere']);
    assert.match(rmMissing.stderr, /Error response from daemon: No such image: nothere:latest/);
  });

  test('tag, filters, and removing tags one by one', async () => {
    assert.equal((await e.docker(['tag', 'busybox', 'one:1'])).code, 0);
    assert.equal((await e.docker(['tag', short(busyboxId), 'localhost:5000/two'])).code, 0);
    const bad = await e.docker(['tag', 'busybox', 'Bad:tag']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid reference format/);
    const list = await e.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(list.stdout.trim().split('\n').sort(), ['busybox:latest', 'localhost:5000/two:latest', 'one:1']);
    const filtered = await e.docker(['images', '--filter', 'reference=one', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.equal(filtered.stdout.trim(), 'one:1');
    const glob = await e.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', 'localhost:5000/*']);
    assert.equal(glob.stdout.trim(), 'localhost:5000/two:latest');
    const badFilter = await e.docker(['images', '--filter', 'colour=red']);
    assert.match(badFilter.stderr, /invalid filter 'colour'/);

    // By ID with several repositories: dockerd's 409.
    const byId = await e.docker(['rmi', short(busyboxId)]);
    assert.equal(byId.code, 1);
    assert.match(byId.stderr, new RegExp(`conflict: unable to delete ${short(busyboxId)} \\(must be forced\\) - image is referenced in multiple repositories`));

    const untag = await e.docker(['rmi', 'one:1', 'localhost:5000/two']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal(untag.stdout, 'Untagged: one:1\nUntagged: localhost:5000/two:latest\n');
    assert.equal((await e.docker(['images', '-q'])).stdout.trim(), short(busyboxId));
  });

  test('an image a container uses is not removed without force; prune keeps it', async () => {
    assert.equal((await e.docker(['tag', 'busybox', 'used:1'])).code, 0);
    const container = 'c0ffee'.padEnd(64, '0');
    e.usedBy.set(busyboxId, [container]);
    try {
      // Another name is left: untagging is fine.
      assert.equal((await e.docker(['rmi', 'used:1'])).code, 0);
      const last = await e.docker(['rmi', 'busybox']);
      assert.equal(last.code, 1);
      assert.match(last.stderr, new RegExp(`conflict: unable to remove repository reference "busybox" \\(must force\\) - container ${container.slice(0, 12)} is using its referenced image ${short(busyboxId)}`));
      const byId = await e.docker(['rmi', busyboxId]);
      assert.match(byId.stderr, new RegExp(`unable to delete ${short(busyboxId)} \\(must be forced\\) - image is being used by running container ${container.slice(0, 12)}`));
      // Forced: the name goes, the image stays as <none> for the container.
      const forced = await e.docker(['rmi', '-f', 'busybox']);
      assert.equal(forced.stdout, 'Untagged: busybox:latest\n');
      const prune = await e.docker(['image', 'prune', '-f']);
      assert.equal(prune.code, 0, prune.stderr);
      const dangling = await e.docker(['images', '--filter', 'dangling=true', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
      assert.equal(dangling.stdout.trim(), `<none>:<none> ${short(busyboxId)}`);
    } finally {
      e.usedBy.delete(busyboxId);
    }
    // Unused now: prune deletes it and its blobs become garbage.
    const prune = await e.docker(['image', 'prune', '-f']);
    assert.match(prune.stdout, new RegExp(`deleted: ${busyboxId}`));
    assert.equal((await e.docker(['images', '-qa'])).stdout.trim(), '');
    assert.equal(e.store.list().length, 0);
  });
});

function short(id: string): string {
  return id.slice(7, 19);
}
