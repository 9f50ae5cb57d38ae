import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { rootOnly } from '../../../test/support/root.js';
import { startImageEngine, type ImageEngine } from '../testing/image-engine.js';

const DOCKERFILE = `ARG BASE=busybox
FROM \${BASE} AS build
ARG GREETING=hello
WORKDIR /src
COPY . /ctx/
RUN ls -a /ctx && echo "$GREETING from build" > /src/out.txt
FROM busybox AS final
LABEL org.example.stage=final
MAINTAINER dev@example.com
ENV APP_HOME=/app
WORKDIR $APP_HOME
COPY --from=build /src/out.txt ./out.txt
ADD files.tar /app/extracted/
RUN cat /app/out.txt /app/extracted/a.txt
EXPOSE 8080/tcp
USER 1000:1000
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/out.txt"]
FROM final AS debug
ENV DEBUG=1
`;

/** A tar (for the raw API tests) with the given entries. */
async function tarOf(entries: { name: string; body: string }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const en of entries) pack.entry({ name: en.name }, en.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function post(socketPath: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path, headers: { 'content-type': 'application/x-tar', 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
}

describe('docker build through the engine', { ...rootOnly, timeout: 240_000 }, () => {
  let e: ImageEngine;
  let ctx: string;

  before(async () => {
    e = await startImageEngine();
    ctx = join(e.dir, 'ctx');
    mkdirSync(join(ctx, 'src'), { recursive: true });
    mkdirSync(join(ctx, 'ignored'));
    mkdirSync(join(ctx, 'build'));
    writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(ctx, 'src/main.txt'), 'source\n');
    writeFileSync(join(ctx, 'ignored/secret.txt'), 'secret\n');
    writeFileSync(join(ctx, 'debug.log'), 'log\n');
    writeFileSync(join(ctx, '.dockerignore'), 'ignored\n*.log\n');
    writeFileSync(join(ctx, 'files.tar'), await tarOf([{ name: 'a.txt', body: 'from the archive\n' }]));
    writeFileSync(join(ctx, 'build/alt.Dockerfile'), 'FROM busybox\nRUN echo alternative dockerfile\n');
  });
  after(() => e?.close());

  test('a multi-stage build with every instruction, build args, target, labels, .dockerignore and --iidfile', async () => {
    const iid = join(e.dir, 'iid');
    const args = ['build', '-t', 'app:1', '-t', 'app:latest', '--build-arg', 'GREETING=hi', '--target', 'final', '--label', 'x=y', '--iidfile', iid, '.'];
    const r = await e.docker(args, { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Sending build context to Docker daemon/m);
    assert.match(r.stdout, /^Step 1\/17 : FROM \$\{BASE\} AS build$/m);
    assert.match(r.stdout, /^Step 17\/17 : CMD \["cat \/app\/out.txt"\]$/m);
    assert.doesNotMatch(r.stdout, /DEBUG/);
    assert.match(r.stdout, /^ ---> [0-9a-f]{12}$/m);
    // RUN output: the context as the builder saw it, then the files the final stage assembled.
    assert.match(r.stdout, /^main\.txt$|^src$/m);
    assert.doesNotMatch(r.stdout, /secret|debug\.log/);
    assert.match(r.stdout, /^hi from build\nfrom the archive$/m);
    const built = /^Successfully built ([0-9a-f]{12})$/m.exec(r.stdout)?.[1];
    assert.ok(built, r.stdout);
    assert.match(r.stdout, /^Successfully tagged app:1\nSuccessfully tagged app:latest$/m);
    const id = readFileSync(iid, 'utf8').trim();
    assert.equal(id.slice(7, 19), built);

    const inspect = await e.docker(['inspect', '--format', '{{.Id}}|{{.Author}}|{{json .Config}}', 'app:1']);
    const [gotId, author, config] = inspect.stdout.trim().split('|');
    assert.equal(gotId, id);
    assert.equal(author, 'dev@example.com');
    const c = JSON.parse(config!) as Record<string, unknown>;
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(c.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_HOME=/app']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(c.Cmd, ['cat /app/out.txt']);
    assert.equal(c.WorkingDir, '/app');
    assert.deepEqual(c.Labels, { 'org.example.stage': 'final', x: 'y' });

    // Unchanged: every filesystem step from the cache, the same image.
    const again = await e.docker(args, { cwd: ctx });
    assert.match(again.stdout, / ---> Using cache/);
    assert.match(again.stdout, new RegExp(`Successfully built ${built}`));
    const fresh = await e.docker(['build', '--no-cache', '-q', '--build-arg', 'GREETING=hi', '--target', 'final', '.'], { cwd: ctx });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /^sha256:[0-9a-f]{64}\n$/);
  });

  test('-f names another Dockerfile, in the context or on stdin', async () => {
    const alt = await e.docker(['build', '-f', 'build/alt.Dockerfile', '-t', 'alt', '.'], { cwd: ctx });
    assert.equal(alt.code, 0, alt.stderr);
    assert.match(alt.stdout, /^alternative dockerfile$/m);
    const stdin = await e.docker(['build', '-f', '-', '-t', 'fromstdin', '.'], { cwd: ctx, input: 'FROM busybox\nCOPY src/main.txt /\nRUN cat /main.txt\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.match(stdin.stdout, /^source$/m);
    const missing = await e.docker(['build', '-f', 'build/none.Dockerfile', '.'], { cwd: ctx });
    assert.equal(missing.code, 1);
  });

  test('a failing RUN ends the build with its exit code and leaves no mounts', async () => {
    const r = await e.docker(['build', '-'], { input: 'FROM busybox\nRUN echo failing; exit 7\n' });
    assert.equal(r.code, 7);
    assert.match(r.stdout, /^failing$/m);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo failing; exit 7' returned a non-zero code: 7/);
    const syntax = await e.docker(['build', '-'], { input: 'FROM busybox\nFROBNICATE now\n' });
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /Error response from daemon: .*unknown instruction: FROBNICATE/i);
    assert.deepEqual(mountsUnder(e.store.dataDir), []);
  });

  test('docker-py images.build finds the image it built', async () => {
    const py = await e.python(`
img, logs = client.images.build(path='${ctx}', tag='py:1', buildargs={'GREETING': 'py'}, target='final', labels={'via': 'docker-py'})
print(img.tags, img.labels['via'], img.labels['org.example.stage'])
print(any('py from build' in l.get('stream', '') for l in logs))
`);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout, "['py:1'] docker-py final\nTrue\n");
  });

  test('a context that is not a tar, or escapes with .. or an absolute path, is a 400 and leaves nothing behind', async () => {
    const notTar = await post(e.socket, '/v1.50/build?t=bad', Buffer.from('FROM busybox\n'.repeat(100)));
    assert.equal(notTar.status, 400);
    assert.match(JSON.parse(notTar.body).message, /the build context is not a valid tar archive/);
    for (const name of ['../escape.txt', 'sub/../../escape.txt', '/abs.txt']) {
      const tar = await tarOf([{ name: 'Dockerfile', body: 'FROM busybox\n' }, { name, body: 'x' }]);
      const r = await post(e.socket, '/v1.50/build?t=bad', tar);
      assert.equal(r.status, 400, name);
      assert.match(JSON.parse(r.body).message, /the build context holds paths outside it/);
    }
    const badArgs = await post(e.socket, '/v1.50/build?buildargs=nope', await tarOf([{ name: 'Dockerfile', body: 'FROM busybox\n' }]));
    assert.equal(badArgs.status, 400);
    assert.match(JSON.parse(badArgs.body).message, /invalid buildargs/);
    const tmp = join(e.store.dataDir, 'build-tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('context-')) : [], []);
    assert.equal(existsSync(join(e.store.dataDir, 'escape.txt')) || existsSync('/abs.txt'), false);
    assert.deepEqual(mountsUnder(e.store.dataDir), []);
    assert.equal((await e.docker(['images', '-q', 'bad'])).stdout, '');
  });
});
