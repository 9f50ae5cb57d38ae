/**
 * The busybox root filesystem skiff makes without a registry: `skiff image bootstrap busybox`
 * imports it as `busybox:latest`, the builder's bootstrap images (the Go toolchain image) start
 * from its items, and tests and benchmarks use it as their small image. It is the host's static
 * busybox (Debian `busybox-static`, `/bin/busybox`) plus applet symlinks and a minimal /etc,
 * written as a reproducible tar (fixed mtime and owners) so its image digest is the same on
 * every run on the same host.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';

/** Applets linked into /bin of the busybox rootfs. */
export const BUSYBOX_APPLETS = [
  'sh', 'ls', 'cat', 'echo', 'sleep', 'httpd', 'head', 'tail', 'hostname', 'id', 'env', 'mkdir', 'rm',
  'dd', 'ps', 'kill', 'wget', 'true', 'false', 'printf', 'wc', 'grep', 'touch', 'test', 'ping', 'ip', 'nc', 'yes', 'stat',
];

/** A tar entry for {@link writeTar}. */
export interface TarItem {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  content?: string | Buffer;
}

/** Writes a tar file made of `items` in order (fixed mtime, so the output is reproducible). */
export async function writeTar(path: string, items: TarItem[]): Promise<void> {
  const pack = tarStream.pack();
  const out = pipeline(pack, createWriteStream(path));
  for (const it of items) {
    const type = it.type ?? 'file';
    const header: Parameters<tarStream.Pack['entry']>[0] = {
      name: it.name,
      type,
      mode: it.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: it.uid ?? 0,
      gid: it.gid ?? 0,
      mtime: new Date(1700000000000),
    };
    if (it.linkname) header.linkname = it.linkname;
    await new Promise<void>((resolve, reject) => {
      const body = type === 'file' ? Buffer.from(it.content ?? '') : '';
      pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await out;
}

/** The tar items of a busybox root filesystem (bin/busybox + applet symlinks, /etc, /tmp …). */
export function busyboxRootfsItems(): TarItem[] {
  const items: TarItem[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', mode: 0o755, content: readFileSync('/bin/busybox') },
    ...BUSYBOX_APPLETS.map((a): TarItem => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { name: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'www/', type: 'directory' },
    { name: 'www/index.html', content: 'hello from skiff\n' },
    { name: 'proc/', type: 'directory' },
    { name: 'sys/', type: 'directory' },
    { name: 'dev/', type: 'directory' },
  ];
  return items;
}

/** Writes the busybox rootfs tar to `path`. */
export async function writeBusyboxRootfs(path: string): Promise<void> {
  await writeTar(path, busyboxRootfsItems());
}
