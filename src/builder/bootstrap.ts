/**
 * `skiff image bootstrap go`: a Go builder image made offline from the host's toolchain
 * (Debian golang-go, /usr/lib/go) on top of the busybox fixture rootfs, so Dockerfiles can
 * say `FROM skiff.local/golang:bootstrap AS build` without reaching a registry.
 *
 * Layers are uncompressed tars (the toolchain is ~350 MB; gzip would cost more time than
 * the bytes saved on a local disk), written with fixed mtimes and owners.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfsItems, writeTar } from '../image/bootstrap-rootfs.js';
import type { ImageStore } from '../image/store.js';
import type { ImageInfo } from '../image/image-index.js';
import { DEFAULT_PATH_ENV, hostArchitecture, MediaTypes, type ImageConfig, type ImageManifest } from '../image/oci.js';
import { runSync } from '../util/exec.js';

export const GO_BOOTSTRAP_REF = 'skiff.local/golang:bootstrap';

export interface BootstrapGoOptions {
  /** GOROOT on the host (default /usr/lib/go). */
  goroot?: string;
  ref?: string;
  log?: (line: string) => void;
}

/** Shared libraries a host binary needs (from ldd), as absolute paths. */
function sharedLibs(binary: string): string[] {
  const r = runSync('ldd', [binary]);
  if (r.code !== 0) return []; // static binary: ldd exits 1
  const out = r.stdout.toString();
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** Streams a GNU tar of `paths` (relative to `cwd`) into the store; returns digest and size. */
async function tarIntoStore(store: ImageStore, args: string[]): Promise<{ digest: string; size: number }> {
  const child = spawn('tar', ['-c', '-f', '-', '--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
  const r = await store.writeBlob(child.stdout);
  await done;
  return r;
}

/** Builds (or rebuilds) the Go bootstrap image; returns it. */
export async function bootstrapGo(store: ImageStore, opts: BootstrapGoOptions = {}): Promise<ImageInfo> {
  const goroot = realpathSync(opts.goroot ?? '/usr/lib/go');
  const goBin = join(goroot, 'bin', 'go');
  if (!existsSync(goBin)) throw new Error(`no Go toolchain at ${goroot}: install it (apt-get install -y golang-go) or pass --goroot`);
  const version = readFileSync(join(goroot, 'VERSION'), 'utf8').split('\n')[0]!.trim();
  const log = opts.log ?? (() => {});
  const tmp = mkdtempSync(join(tmpdir(), 'skiff-bootstrap-'));
  try {
    log('layer 1/3: busybox root filesystem');
    const bbTar = join(tmp, 'busybox.tar');
    await writeTar(bbTar, [
      ...busyboxRootfsItems(),
      { name: 'go/', type: 'directory', mode: 0o777 },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/local/', type: 'directory' },
    ]);
    const bb = await store.writeBlob(readFileSync(bbTar));

    log(`layer 2/3: shared libraries of the go command`);
    const libs = sharedLibs(goBin);
    const libLayer = libs.length
      ? await tarIntoStore(store, ['--dereference', '-C', '/', ...libs.map((l) => l.replace(/^\//, ''))])
      : await tarIntoStore(store, ['-C', tmp, '--files-from=/dev/null']);

    log(`layer 3/3: ${version} from ${goroot} → /usr/local/go`);
    const go = await tarIntoStore(store, [
      '--dereference', '--exclude=./test', '--exclude=./misc', '--exclude=./api', '--exclude=testdata', '--exclude=./pkg/linux_amd64_race',
      '--transform=s,^\\./,usr/local/go/,', '-C', goroot, '.',
    ]);

    const created = '1970-01-01T00:00:00Z';
    const cfg: ImageConfig = {
      created,
      architecture: hostArchitecture(),
      os: 'linux',
      config: {
        Env: [
          `PATH=/go/bin:/usr/local/go/bin:${DEFAULT_PATH_ENV.slice(5)}`, 'GOROOT=/usr/local/go', 'GOPATH=/go', 'GOCACHE=/tmp/go-build',
          'HOME=/root', 'CGO_ENABLED=0', 'GOFLAGS=-buildvcs=false', 'GOPROXY=off', 'GOTOOLCHAIN=local', `GOLANG_VERSION=${version.replace(/^go/, '')}`,
        ],
        Cmd: ['go', 'version'],
        WorkingDir: '/go',
        Labels: { 'org.opencontainers.image.title': 'skiff Go bootstrap', 'org.opencontainers.image.version': version },
      },
      rootfs: { type: 'layers', diff_ids: [bb.digest, libLayer.digest, go.digest] },
      history: [
        { created, created_by: 'skiff image bootstrap go: busybox rootfs' },
        { created, created_by: `skiff image bootstrap go: ${libs.join(' ') || 'no shared libraries'}` },
        { created, created_by: `skiff image bootstrap go: ${goroot} → /usr/local/go` },
      ],
    };
    const cfgBlob = await store.writeBlob(JSON.stringify(cfg));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: cfgBlob.digest, size: cfgBlob.size },
      layers: [bb, libLayer, go].map((l) => ({ mediaType: MediaTypes.ociLayer, digest: l.digest, size: l.size })),
    };
    return await store.putManifest(opts.ref ?? GO_BOOTSTRAP_REF, JSON.stringify(manifest));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
