import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { escapesContext, receiveContext } from './build-context.js';

async function tarOf(entries: { name: string; body?: string; type?: 'link'; linkname?: string }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, ...(e.type ? { type: e.type, linkname: e.linkname } : {}) }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ctx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('escaping paths', () => {
  for (const p of ['../x', 'a/../../x', '/etc/passwd', 'a/..']) assert.equal(escapesContext(p), true, p);
  for (const p of ['a', 'a/b', '..a', 'a..b/c', '.dockerignore']) assert.equal(escapesContext(p), false, p);
});

test('plain and gzip contexts unpack', async (t) => {
  const dir = tempDir(t);
  const tar = await tarOf([{ name: 'Dockerfile', body: 'FROM scratch\n' }, { name: 'src/a.txt', body: 'a' }]);
  await receiveContext(Readable.from([tar]), join(dir, 'plain'));
  assert.equal(readFileSync(join(dir, 'plain/src/a.txt'), 'utf8'), 'a');
  await receiveContext(Readable.from([gzipSync(tar)]), join(dir, 'gz'));
  assert.equal(readFileSync(join(dir, 'gz/Dockerfile'), 'utf8'), 'FROM scratch\n');
});

test('not a tar, other compressions, escaping entries and hardlinks are 400s', async (t) => {
  const dir = tempDir(t);
  const reject = (body: Buffer, re: RegExp) => assert.rejects(receiveContext(Readable.from([body]), join(dir, 'c')), (e: Error & { status?: number }) => e.status === 400 && re.test(e.message));
  await reject(Buffer.from('hello, not a tar'.repeat(64)), /not a valid tar archive/);
  await reject(Buffer.concat([Buffer.from('BZh91AY'), Buffer.alloc(600)]), /bzip2-compressed/);
  await reject(await tarOf([{ name: '../evil', body: 'x' }]), /paths outside it \("\.\.\/evil"\)/);
  await reject(await tarOf([{ name: 'ok' }, { name: 'link', type: 'link', linkname: '../../etc/passwd' }]), /outside it|not a valid tar/);
  await assert.rejects(receiveContext(Readable.from([]), join(dir, 'empty')), /build context is empty/);
  assert.equal(existsSync(join(dir, 'evil')), false);
});
