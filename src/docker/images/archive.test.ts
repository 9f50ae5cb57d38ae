import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startImageEngine, type ImageEngine } from '../testing/image-engine.js';

// docker save / docker load through the engine, both ways and across two engines.
describe('docker save and docker load', () => {
  let e: ImageEngine;
  let other: ImageEngine;

  before(async () => {
    [e, other] = await Promise.all([startImageEngine(), startImageEngine()]);
  });
  after(async () => {
    await Promise.all([e?.close(), other?.close()]);
  });

  test('docker save busybox | docker load round-trips the image with its ID and tags', async () => {
    const id = (await e.docker(['inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.equal((await e.docker(['tag', 'busybox', 'localhost:5000/app:2'])).code, 0);
    const tar = join(e.dir, 'save.tar');
    const save = await e.docker(['save', '-o', tar, 'busybox', 'localhost:5000/app:2']);
    assert.equal(save.code, 0, save.stderr);
    const names = spawnSync('tar', ['-tf', tar]).stdout.toString().split('\n'); // the engines are idle here
    assert.ok(names.includes('manifest.json') && names.includes('index.json') && names.includes('oci-layout'), names.join(' '));

    const load = await other.docker(['load', '-i', tar]);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(load.stdout, 'Loaded image: busybox:latest\nLoaded image: localhost:5000/app:2\n');
    assert.equal((await other.docker(['inspect', '--format', '{{.Id}}', 'localhost:5000/app:2'])).stdout.trim(), id);

    // Through a pipe, as people type it: docker save x | docker load.
    assert.equal((await e.docker(['rmi', 'localhost:5000/app:2'])).code, 0);
    // (Asynchronously: both engines serve from this process.)
    const piped = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const sh = spawn('sh', ['-c', `docker -H unix://${other.socket} save localhost:5000/app:2 | docker -H unix://${e.socket} load`], { env: { ...process.env, DOCKER_CONFIG: e.dockerConfig } });
      let out = '';
      let err = '';
      sh.stdout.on('data', (d) => (out += d));
      sh.stderr.on('data', (d) => (err += d));
      sh.on('close', (code) => resolve({ code, out, err }));
    });
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.out, 'Loaded image: localhost:5000/app:2\n');
    assert.equal((await e.docker(['inspect', '--format', '{{.Id}}', 'localhost:5000/app:2'])).stdout.trim(), id);
  });

  test('save of a missing image is a 404; load of something that is not an image archive is a 400', async () => {
    const missing = await e.docker(['save', '-o', join(e.dir, 'x.tar'), 'nothere']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: nothere/);
    const junk = await e.docker(['load'], { input: 'this is not a tar archive\n'.repeat(50) });
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /invalid image archive/);
    assert.equal(new Set((await e.docker(['images', '-q'])).stdout.trim().split('\n')).size, 1);
  });
});
