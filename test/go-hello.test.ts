/**
 * End to end: `skiff image bootstrap go` + building examples/go-hello (multi-stage, Go
 * compiled in the builder stage, shipped FROM scratch), then running the binary from the
 * image's layer and asking it for a greeting. Needs root (overlay, runc) and golang-go.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '../src/image/store.js';
import { bootstrapGo } from '../src/builder/bootstrap.js';
import { build } from '../src/builder/builder.js';
import { createProgress } from '../src/builder/progress.js';
import { freePort } from './support/ports.js';

const haveGo = existsSync('/usr/lib/go/bin/go');

test('examples/go-hello builds offline into a scratch image that serves Hello, world!', { skip: !haveGo && 'golang-go is not installed', timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-gohello-'));
  try {
    const store = ImageStore.open(dir);
    await bootstrapGo(store);
    const ref = 'localhost:5000/go-hello:latest';
    const r = await build({ store, contextDir: join(import.meta.dirname, '..', 'examples', 'go-hello'), tags: [ref], progress: createProgress('quiet') });
    const cfg = r.image.config.config!;
    assert.deepEqual(cfg.Entrypoint, ['/go-hello']);
    assert.deepEqual(cfg.ExposedPorts, { '8080/tcp': {} });
    assert.equal(cfg.User, '65534:65534');
    assert.equal(r.image.manifest.layers.length, 1, 'scratch + one COPY');
    assert.ok(r.image.size < 10e6, `small image (${r.image.size} bytes)`);

    const again = await build({ store, contextDir: join(import.meta.dirname, '..', 'examples', 'go-hello'), tags: [ref], progress: createProgress('quiet') });
    assert.equal(again.cached, again.steps, 'rebuild is all cache hits');
    assert.equal(again.digest, r.digest);

    // The binary is static: run it straight from the layer snapshot.
    const [layer] = await store.unpack(ref);
    const port = await freePort();
    const child = spawn(join(layer!, 'go-hello'), [], { env: { PORT: String(port) }, stdio: 'ignore' });
    try {
      let body = '';
      for (let i = 0; i < 100 && !body; i++) {
        try {
          body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        } catch {
          await new Promise((res) => setTimeout(res, 50));
        }
      }
      assert.equal(body, 'Hello, world!\n');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
