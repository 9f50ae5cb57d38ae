import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { writeTar } from '../image/bootstrap-rootfs.js';
import type { ImageStore } from '../image/store.js';
import { busyboxStore } from '../image/testing/busybox-store.js';
import { build, BuildError, type BuildContainerConfig } from './builder.js';
import { createProgress } from './progress.js';
import { expandWord, expandWords, parseKeyValues } from './shell-lex.js';
import { IgnoreMatcher } from './context.js';
import { rootOnly } from '../../test/support/root.js';

const quiet = createProgress('quiet');

/** Looks a path up through an image's layers (top first), as the overlay would show it. */
async function fileIn(store: ImageStore, ref: string, path: string): Promise<{ content?: string; mode: number; uid: number; gid: number; type: string } | undefined> {
  const dirs = (await store.unpack(ref)).reverse();
  for (const d of dirs) {
    let st;
    try {
      st = lstatSync(join(d, path));
    } catch {
      continue;
    }
    if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
    return {
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file',
      content: st.isFile() ? readFileSync(join(d, path), 'utf8') : undefined,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
    };
  }
  return undefined;
}

describe('Dockerfile builder', rootOnly, () => {
  let env: Awaited<ReturnType<typeof busyboxStore>>;
  let http: Server;
  let port = 0;
  let ctx: string;

  before(async () => {
    env = await busyboxStore();
    http = createServer((req, res) => {
      res.writeHead(req.url === '/remote.txt' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(req.url === '/remote.txt' ? 'from the web\n' : 'no');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
    ctx = join(env.dir, 'ctx');
    mkdirSync(join(ctx, 'conf/sub'), { recursive: true });
    writeFileSync(join(ctx, 'app.sh'), '#!/bin/sh\necho app\n', { mode: 0o755 });
    writeFileSync(join(ctx, 'conf/a.conf'), 'a=1\n');
    writeFileSync(join(ctx, 'conf/b.conf'), 'b=2\n');
    writeFileSync(join(ctx, 'conf/sub/c.conf'), 'c=3\n');
    writeFileSync(join(ctx, 'conf/secret.key'), 'nope\n');
    writeFileSync(join(ctx, '.dockerignore'), '**/*.key\n*.md\n');
    writeFileSync(join(ctx, 'README.md'), 'ignored\n');
    await writeTar(join(ctx, 'bundle.tar'), [{ name: 'pkg/', type: 'directory' }, { name: 'pkg/inside.txt', content: 'unpacked\n', uid: 7, gid: 8 }]);
  });
  after(async () => {
    await new Promise<void>((r) => http?.close(() => r()));
    env?.cleanup();
  });

  const allInstructions = () => `# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG UNUSED_GLOBAL
FROM \${BASE} AS base
ARG VERSION=1.0
ARG FLAVOR
ENV APP_HOME=/opt/app \\
    GREETING="hello world"
ENV DERIVED=\${APP_HOME}/bin MISSING=\${NOPE:-fallback} ALT=\${APP_HOME:+set} FLAVOR_IS=\${FLAVOR:-none}
LABEL org.opencontainers.image.version=$VERSION "description"="a test image"
MAINTAINER someone@example.com
WORKDIR $APP_HOME
COPY --chmod=750 app.sh bin/
COPY --chown=65534:65534 conf/*.conf conf/
COPY conf /etc/conf-tree/
ADD bundle.tar /opt/
ADD http://127.0.0.1:${port}/remote.txt /opt/remote/
RUN echo "$GREETING v$VERSION" > greeting.txt && rm /www/index.html && mkdir -p /www/new && echo x > /www/new/x
RUN ["/bin/sh", "-c", "echo exec-form > exec.txt"]
RUN --network=none ip link | grep -c ': lo' > net.txt
SHELL ["/bin/sh", "-ec"]
RUN echo "$0 $-" > shell.txt
USER nobody
EXPOSE 8080 9000-9001/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1
ONBUILD RUN echo triggered > /tmp/onbuild.txt
ENTRYPOINT ["/opt/app/bin/app.sh"]
CMD --serve
`;

  test('every instruction: config fields and layer contents', async () => {
    const ref = 'test/all:1';
    const r = await build({ store: env.store, contextDir: ctx, dockerfileContent: allInstructions(), tags: [ref], progress: quiet, buildArgs: { FLAVOR: 'spicy' } });
    const cfg = r.image.config;
    const c = cfg.config as BuildContainerConfig;
    assert.equal(cfg.author, 'someone@example.com');
    assert.equal(cfg.created, '1970-01-01T00:00:00Z');
    assert.ok(c.Env!.includes('APP_HOME=/opt/app'));
    assert.ok(c.Env!.includes('GREETING=hello world'));
    assert.ok(c.Env!.includes('DERIVED=/opt/app/bin'));
    assert.ok(c.Env!.includes('MISSING=fallback'));
    assert.ok(c.Env!.includes('ALT=set'));
    assert.ok(c.Env!.includes('FLAVOR_IS=spicy'));
    assert.ok(c.Env![0]!.startsWith('PATH='));
    assert.deepEqual(c.Labels, { description: 'a test image', 'org.opencontainers.image.version': '1.0' });
    assert.equal(c.WorkingDir, '/opt/app');
    assert.equal(c.User, 'nobody');
    assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '9000/udp': {}, '9001/udp': {} });
    assert.deepEqual(c.Volumes, { '/cache': {}, '/data': {} });
    assert.equal(c.StopSignal, 'SIGQUIT');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O- http://localhost:8080/ || exit 1'], Interval: 5e9, Timeout: 2e9, Retries: 3 });
    assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/onbuild.txt']);
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(c.Entrypoint, ['/opt/app/bin/app.sh']);
    assert.deepEqual(c.Cmd, ['/bin/sh', '-ec', '--serve']);
    // History: one entry per instruction, non-empty ones pair with layers.
    const nonEmpty = cfg.history!.filter((h) => !h.empty_layer);
    assert.equal(nonEmpty.length, cfg.rootfs.diff_ids.length);
    assert.ok(cfg.history!.some((h) => h.created_by === 'ENV APP_HOME=/opt/app GREETING=hello world'));

    assert.equal((await fileIn(env.store, ref, 'opt/app/bin/app.sh'))?.mode, 0o750);
    const a = await fileIn(env.store, ref, 'opt/app/conf/a.conf');
    assert.deepEqual([a?.content, a?.uid, a?.gid], ['a=1\n', 65534, 65534]);
    assert.equal(await fileIn(env.store, ref, 'opt/app/conf/secret.key'), undefined, 'globs skip ignored files');
    assert.equal((await fileIn(env.store, ref, 'etc/conf-tree/sub/c.conf'))?.content, 'c=3\n', 'a directory copies its content');
    assert.equal(await fileIn(env.store, ref, 'etc/conf-tree/secret.key'), undefined, '.dockerignore **/*.key');
    const inside = await fileIn(env.store, ref, 'opt/pkg/inside.txt');
    assert.deepEqual([inside?.content, inside?.uid], ['unpacked\n', 7], 'ADD unpacks local tars with their owners');
    const remote = await fileIn(env.store, ref, 'opt/remote/remote.txt');
    assert.deepEqual([remote?.content, remote?.mode], ['from the web\n', 0o600]);
    assert.equal((await fileIn(env.store, ref, 'opt/app/greeting.txt'))?.content, 'hello world v1.0\n');
    assert.equal((await fileIn(env.store, ref, 'opt/app/exec.txt'))?.content, 'exec-form\n');
    assert.equal((await fileIn(env.store, ref, 'opt/app/net.txt'))?.content, '1\n', 'network none: only lo');
    assert.match((await fileIn(env.store, ref, 'opt/app/shell.txt'))!.content!, /^\/bin\/sh \w*e\w*\n$/, 'SHELL -ec sets errexit');
    assert.equal(await fileIn(env.store, ref, 'www/index.html'), undefined, 'deleted in RUN: whiteout');
    assert.equal((await fileIn(env.store, ref, 'www/new/x'))?.content, 'x\n');
    assert.deepEqual(await fileIn(env.store, ref, 'proc'), await fileIn(env.store, 'busybox', 'proc'));

    // Unchanged rebuild: every step cached, same digest. --no-cache: same digest too (reproducible).
    const again = await build({ store: env.store, contextDir: ctx, dockerfileContent: allInstructions(), tags: [ref], progress: quiet, buildArgs: { FLAVOR: 'spicy' } });
    assert.equal(again.cached, again.steps);
    assert.equal(again.digest, r.digest);
    const fresh = await build({ store: env.store, contextDir: ctx, dockerfileContent: allInstructions(), tags: ['test/all:fresh'], progress: quiet, buildArgs: { FLAVOR: 'spicy' }, noCache: true });
    assert.equal(fresh.cached, 0);
    assert.equal(fresh.digest, r.digest);

    // A changed file invalidates its COPY and everything after it, not before.
    writeFileSync(join(ctx, 'conf/b.conf'), 'b=3\n');
    try {
      const changed = await build({ store: env.store, contextDir: ctx, dockerfileContent: allInstructions(), tags: ['test/all:2'], progress: quiet, buildArgs: { FLAVOR: 'spicy' } });
      assert.notEqual(changed.digest, r.digest);
      assert.equal(changed.cached, 2, 'WORKDIR and the first COPY stay cached');
    } finally {
      writeFileSync(join(ctx, 'conf/b.conf'), 'b=2\n');
    }

    // ONBUILD triggers run in a child image and are not inherited further.
    const child = await build({ store: env.store, contextDir: ctx, dockerfileContent: `FROM ${ref}\nRUN cat /tmp/onbuild.txt\n`, tags: ['test/child:1'], progress: quiet });
    assert.equal((await fileIn(env.store, 'test/child:1', 'tmp/onbuild.txt'))?.content, 'triggered\n');
    assert.equal((child.image.config.config as BuildContainerConfig).OnBuild, undefined);
  });

  test('multi-stage: --target, COPY --from, FROM scratch, ENTRYPOINT resets an inherited CMD', async () => {
    const df = `FROM busybox AS build
RUN mkdir /out && echo built > /out/artifact && echo other > /out/other
CMD ["inherited"]

FROM build AS unused
RUN exit 1

FROM scratch
COPY --from=build /out/artifact /artifact
COPY --from=0 /out/ /all/

FROM build AS final
ENTRYPOINT ["/bin/cat"]
`;
    const t = await build({ store: env.store, contextDir: ctx, dockerfileContent: df, target: '2', tags: ['test/ms:scratch'], progress: quiet });
    assert.equal(t.image.manifest.layers.length, 2);
    assert.equal((await fileIn(env.store, 'test/ms:scratch', 'artifact'))?.content, 'built\n');
    assert.equal((await fileIn(env.store, 'test/ms:scratch', 'all/other'))?.content, 'other\n');
    assert.equal(await fileIn(env.store, 'test/ms:scratch', 'bin/busybox'), undefined);
    const f = await build({ store: env.store, contextDir: ctx, dockerfileContent: df, tags: ['test/ms:final'], progress: quiet });
    assert.deepEqual(f.image.config.config!.Entrypoint, ['/bin/cat']);
    assert.equal(f.image.config.config!.Cmd, null);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: df, target: 'nope', progress: quiet }), /target stage "nope" could not be found/);
  });

  test('errors name the Dockerfile line', async () => {
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nRUN true\nFROBNICATE x\n', progress: quiet }), /Dockerfile:3: unknown instruction: FROBNICATE/);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\n\nRUN exit 3\n', progress: quiet }), (e: BuildError) => e.line === 3 && e.exitCode === 3 && /returned a non-zero code: 3/.test(e.message));
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nCOPY missing.txt /\n', progress: quiet }), /Dockerfile:2: .*"missing.txt" not found/);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nCOPY README.md /\n', progress: quiet }), /excluded by .dockerignore/);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nCOPY conf/a.conf conf/b.conf /x\n', progress: quiet }), /must be a directory and end with a \//);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'RUN true\nFROM busybox\n', progress: quiet }), /Dockerfile:1: RUN before the first FROM/);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nCOPY --bogus=1 a /\n', progress: quiet }), /Dockerfile:2: unknown flag: --bogus/);
    await assert.rejects(build({ store: env.store, contextDir: ctx, dockerfileContent: 'FROM busybox\nUSER ghost\nRUN true\n', progress: quiet }), /Dockerfile:3: unable to find user ghost/);
  });
});

test('variable expansion follows Docker', () => {
  const env = { A: 'x', E: '', S: 'a b' };
  assert.equal(expandWord('${A}-$A-${B:-d}-${E:-e}-${E-f}-${A:+alt}-${B:+alt}-$', env), 'x-x-d-e--alt--$');
  assert.equal(expandWord(`'$A' "$A" \\$A "\\$A"`, env), '$A x $A $A');
  assert.deepEqual(expandWords('$S "q $S" c', env), ['a', 'b', 'q a b', 'c']);
  assert.throws(() => expandWord('${B:?must be set}', env), /B: must be set/);
  assert.deepEqual(parseKeyValues('K1=v1 K2="two words" K3=${A}', env), [['K1', 'v1'], ['K2', 'two words'], ['K3', 'x']]);
  assert.deepEqual(parseKeyValues('LEGACY value with  spaces', env), [['LEGACY', 'value with  spaces']]);
});

test('.dockerignore rules', () => {
  const m = new IgnoreMatcher(['*.md', '!README.md', 'build/', '**/*.tmp', 'docs/**/draft*']);
  assert.equal(m.ignores('CHANGES.md'), true);
  assert.equal(m.ignores('README.md'), false);
  assert.equal(m.ignores('sub/x.md'), false, '* does not cross /');
  assert.equal(m.ignores('build/out/a'), true, 'a matching parent excludes its subtree');
  assert.equal(m.ignores('a/b/c.tmp'), true);
  assert.equal(m.ignores('docs/x/y/draft1.txt'), true);
});
