import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestHex, isSha256Digest, layerMediaType, MediaTypes, selectPlatform, sha256Digest } from './oci.js';

test('digests: only well-formed sha256 digests become hex', () => {
  const ok = sha256Digest('');
  assert.equal(ok, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(digestHex(ok), ok.slice(7));
  assert.equal(isSha256Digest(ok), true);
  for (const bad of ['sha256:../../etc', 'sha512:' + 'a'.repeat(64), ok.toUpperCase(), ok.slice(0, -1)]) {
    assert.equal(isSha256Digest(bad), false, bad);
    assert.throws(() => digestHex(bad), /malformed digest/);
  }
});

test('selectPlatform picks linux/<arch>, or the one manifest of a list without platforms', () => {
  const m = (arch?: string) => ({ mediaType: MediaTypes.ociManifest, digest: sha256Digest(arch ?? ''), size: 1, ...(arch ? { platform: { os: 'linux', architecture: arch } } : {}) });
  assert.equal(selectPlatform([m('arm64'), m('amd64')], 'amd64')?.platform?.architecture, 'amd64');
  assert.equal(selectPlatform([m('arm64')], 'amd64'), undefined);
  assert.equal(selectPlatform([m()], 'amd64')?.digest, m().digest);
  assert.equal(selectPlatform([m(), m()], 'amd64'), undefined);
  assert.equal(selectPlatform([], 'amd64'), undefined);
});

test('layer media types follow compression', () => {
  assert.equal(layerMediaType('none'), MediaTypes.ociLayer);
  assert.equal(layerMediaType('gzip'), MediaTypes.ociLayerGzip);
  assert.equal(layerMediaType('zstd'), MediaTypes.ociLayerZstd);
});
