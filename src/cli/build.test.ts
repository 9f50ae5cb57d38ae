import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerBuildCommands } from './build.js';
import { ImageStore } from '../image/store.js';
import { busyboxStore } from '../image/testing/busybox-store.js';
import { startRegistry } from '../image/registry/server.js';
import { rootOnly } from '../../test/support/root.js';

/** Runs `skiff <args>` in process. */
async function skiff(...args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerBuildCommands(program);
  await program.parseAsync(['node', 'skiff', ...args]);
}

test('CLI: build, tag, push, pull, image save', rootOnly, async () => {
  const env = await busyboxStore();
  const reg = await startRegistry({ store: ImageStore.open(join(env.dir, 'registry')), port: 0 });
  const log = console.log;
  const err = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    const data = env.store.dataDir;
    const ctx = join(env.dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nARG MSG\nRUN echo "$MSG" > /msg\nCMD ["cat", "/msg"]\n');
    await skiff('build', '-q', '-t', 'cli/app:1', '--build-arg', 'MSG=hi', '--data-dir', data, ctx);
    const built = env.store.resolve('cli/app:1');
    assert.deepEqual(built?.config.config?.Cmd, ['cat', '/msg']);
    const dest = `127.0.0.1:${reg.port}/cli/app:1`;
    await skiff('tag', 'cli/app:1', dest, '--data-dir', data);
    await skiff('push', dest, '--data-dir', data);
    const other = join(env.dir, 'other');
    await skiff('pull', dest, '--data-dir', other);
    assert.equal(ImageStore.open(other).resolve(dest)?.digest, built!.digest);
    const out = join(env.dir, 'save.tar');
    await skiff('image', 'save', '-o', out, '--data-dir', data, 'cli/app:1');
    assert.ok(existsSync(out));
    const reloaded = ImageStore.open(join(env.dir, 'reload'));
    assert.deepEqual(await reloaded.loadArchive(out), ['docker.io/cli/app:1']);
    assert.equal(reloaded.resolve('cli/app:1')?.digest, built!.digest);
  } finally {
    console.log = log;
    console.error = err;
    await reg.close();
    env.cleanup();
  }
});
