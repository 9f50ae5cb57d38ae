import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../test/support/ports.js';
import { startDebianRegistry, type DebianRegistry } from '../../image/testing/registry.js';
import { startImageEngine, type ImageEngine } from '../testing/image-engine.js';

// docker pull / push / login / tag through the engine against Debian's docker-registry.
describe('docker pull, push, tag and login against a registry', () => {
  let e: ImageEngine;
  /** A second engine with its own store: pulls there download for real. */
  let other: ImageEngine;
  let reg: DebianRegistry;
  let locked: DebianRegistry;

  before(async () => {
    [e, other, reg, locked] = await Promise.all([startImageEngine(), startImageEngine(), startDebianRegistry(), startDebianRegistry({ htpasswd: { username: 'alice', password: 's3cret' } })]);
  });
  after(async () => {
    await Promise.all([e?.close(), other?.close(), reg?.stop(), locked?.stop()]);
  });

  test('tag + push shows dockerd progress; pull back by tag and by digest; docker images lists it', async () => {
    const name = `${reg.address}/team/bb`;
    assert.equal((await e.docker(['tag', 'busybox', `${name}:v1`])).code, 0);
    const push = await e.docker(['push', `${name}:v1`]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${name}\\]`));
    assert.match(push.stdout, /[0-9a-f]{12}: Pushed/);
    const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    // The registry really has it under that digest.
    const head = await fetch(`http://${reg.address}/v2/team/bb/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(head.headers.get('docker-content-digest'), digest);

    const again = await e.docker(['push', `${name}:v1`]);
    assert.match(again.stdout, /Layer already exists/);

    assert.equal((await e.docker(['rmi', `${name}:v1`])).code, 0);
    const pull = await e.docker(['pull', `${name}:v1`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /v1: Pulling from team\/bb/);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${name}:v1`));
    const upToDate = await e.docker(['pull', `${name}:v1`]);
    assert.match(upToDate.stdout, new RegExp(`Status: Image is up to date for ${name}:v1`));

    const byDigest = await e.docker(['pull', `${name}@${digest}`]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    const images = await e.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    const busyboxId = (await e.docker(['inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.ok(images.stdout.includes(`${name}:v1 ${busyboxId.slice(7, 19)}`), images.stdout);
    const inspect = await e.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', `${name}@${digest}`]);
    assert.deepEqual(JSON.parse(inspect.stdout), [`${name}@${digest}`]);
  });

  test('a pull that downloads shows per-layer progress, with shared layers as Already exists', async () => {
    // An image with a layer the other store lacks (an imported rootfs).
    const name = `${reg.address}/team/imported`;
    const rootfs = Buffer.alloc(10240); // an empty tar: two zero blocks
    const imp = await e.docker(['import', '-', `${name}:1`], { input: rootfs });
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal((await e.docker(['push', `${name}:1`])).code, 0);
    // docker-py reads the JSON stream: every dockerd status of a downloaded layer, in order.
    const py = await other.python(`
seen = []
for l in client.api.pull('${name}', tag='1', stream=True, decode=True):
    if 'id' in l and l['id'] != '1': seen.append(l['status'])
print(seen)
print(client.images.get('${name}:1').tags)
`);
    assert.equal(py.code, 0, py.stderr);
    const [statuses, tags] = py.stdout.trim().split('\n');
    const order = ['Pulling fs layer', 'Downloading', 'Download complete', 'Extracting', 'Pull complete'];
    const got = JSON.parse(statuses!.replace(/'/g, '"')) as string[];
    assert.deepEqual(got.filter((s, i) => order.includes(s) && got[i - 1] !== s), order, statuses);
    assert.match(tags!, new RegExp(`${name}:1`));
    // Both stores made busybox's layer from the same bytes: the other engine reuses its own.
    const bb = `${reg.address}/team/bb2`;
    assert.equal((await e.docker(['tag', 'busybox', `${bb}:1`])).code, 0);
    assert.equal((await e.docker(['push', `${bb}:1`])).code, 0);
    const pull = await other.docker(['pull', `${bb}:1`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /[0-9a-f]{12}: Already exists/);
    assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${bb}:1`));
  });

  test('docker build --pull takes the base image from the registry even when the store has one', async () => {
    const base = `${reg.address}/team/base:1`;
    assert.equal((await e.docker(['tag', 'busybox', base])).code, 0);
    // Another machine pushes a different image under the same name.
    assert.equal((await other.docker(['import', '-', base], { input: Buffer.alloc(10240) })).code, 0);
    assert.equal((await other.docker(['push', base])).code, 0);
    const layers = async (engine: ImageEngine, name: string) => (await engine.docker(['inspect', '--format', '{{json .RootFS.Layers}}', name])).stdout.trim();
    const dockerfile = `FROM ${base}\nLABEL built=yes\n`;
    const local = await e.docker(['build', '-t', 'from-local', '-'], { input: dockerfile });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(await layers(e, 'from-local'), await layers(e, 'busybox'));
    const pulled = await e.docker(['build', '--pull', '-t', 'from-registry', '-'], { input: dockerfile });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(await layers(e, 'from-registry'), await layers(other, base));
  });

  test('pull of a tag the registry does not have: 404 worded like dockerd', async () => {
    const r = await e.docker(['pull', `${reg.address}/team/bb:nope`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Error response from daemon: manifest for ${reg.address}/team/bb:nope not found: manifest unknown: manifest unknown`));
  });

  test('push and pull against an unreachable registry fail with an error naming it', async () => {
    const port = await freePort(); // nothing listens there
    const name = `127.0.0.1:${port}/x`;
    assert.equal((await e.docker(['tag', 'busybox', name])).code, 0);
    const push = await e.docker(['push', name]);
    assert.equal(push.code, 1);
    assert.match(push.stdout, /The push refers to repository/);
    assert.match(push.stderr, new RegExp(`the registry 127.0.0.1:${port} .* did not answer; check that it is running`));
    const pull = await e.docker(['pull', `${name}:other`]);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, new RegExp(`Error response from daemon: .*127.0.0.1:${port}.*did not answer`));
    assert.equal((await e.docker(['rmi', name])).code, 0);
  });

  test('docker login checks credentials; push and pull use the ones the CLI stored', async () => {
    const name = `${locked.address}/private/bb:1`;
    assert.equal((await e.docker(['tag', 'busybox', name])).code, 0);
    const anonymous = await e.docker(['push', name]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /unauthorized: authentication required/);

    const wrong = await e.docker(['login', '-u', 'alice', '--password-stdin', locked.address], { input: 'nope\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`Error response from daemon: login attempt to http://${locked.address}/v2/ failed with status: 401 Unauthorized`));

    const login = await e.docker(['login', '-u', 'alice', '--password-stdin', locked.address], { input: 's3cret\n' });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);
    const stored = JSON.parse(readFileSync(join(e.dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[locked.address]!.auth, 'base64').toString(), 'alice:s3cret');

    const push = await e.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal((await e.docker(['rmi', name])).code, 0);
    const pull = await e.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);

    // docker-py passes credentials per call.
    const py = await e.python(`
client.images.get('busybox').tag('${locked.address}/private/py', 'v2')
out = client.images.push('${locked.address}/private/py', tag='v2', auth_config={'username': 'alice', 'password': 's3cret'})
print('digest' in out and 'error' not in out)
client.images.remove('${locked.address}/private/py:v2')
print(client.images.pull('${locked.address}/private/py', tag='v2', auth_config={'username': 'alice', 'password': 's3cret'}).tags)
`);
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /^True\n\[.*'[^']+\/private\/py:v2'.*\]\n$/);
    assert.equal((await e.docker(['logout', locked.address])).code, 0);
  });
});
