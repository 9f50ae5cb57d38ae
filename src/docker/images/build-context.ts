/**
 * Receiving a `POST /build` context: the request body is a tar (plain or gzip, as the CLI's
 * `--compress` and docker-py send it) streamed straight to a directory, never held in memory.
 * An entry whose path is absolute or climbs out with `..` is refused (the whole build is a
 * 400), as is a body that is not a tar. The caller removes the directory.
 */
import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { badParameter } from '../errors.js';

/** The first bytes of bzip2 and xz streams, which this engine does not unpack. */
const UNSUPPORTED_MAGIC: [string, Buffer][] = [
  ['bzip2', Buffer.from('BZh')],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

/** True when a tar entry path would land outside the directory it is unpacked in. */
export function escapesContext(path: string): boolean {
  if (path.startsWith('/')) return true;
  return path.split(/[\\/]/).includes('..');
}

/** Unpacks the context tar in `body` into `dir` (created). Throws a 400 for a bad context. */
export async function receiveContext(body: Readable, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const refused: string[] = [];
  let sniffed = false;
  let gzip = false;
  const sniff = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      if (!sniffed && chunk.length > 0) {
        sniffed = true;
        for (const [name, magic] of UNSUPPORTED_MAGIC) {
          if (chunk.subarray(0, magic.length).equals(magic)) throw badParameter(`the build context is ${name}-compressed; send it plain or gzip-compressed`);
        }
        gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
      }
      yield chunk;
    }
  };
  // Gzip is decided on the first chunk, which the sniffer has seen by the time this pulls it.
  const inflate = async function* (source: AsyncIterable<Buffer>) {
    const it = source[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const all = (async function* () {
      yield first.value;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })();
    if (!gzip) {
      yield* all;
      return;
    }
    const src = Readable.from(all);
    const gz = createGunzip();
    src.on('error', (e) => gz.destroy(e));
    yield* src.pipe(gz);
  };
  // The CLI's `-f -` context (a tar rewritten to add the Dockerfile) ends without the last
  // block's padding and the end-of-archive blocks; Go's tar reader takes that, so pad it here.
  const pad = async function* (source: AsyncIterable<Buffer>) {
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      yield chunk;
    }
    if (n === 0) throw badParameter('the build context is empty: send a tar archive holding the Dockerfile');
    yield Buffer.alloc(((512 - (n % 512)) % 512) + 1024);
  };
  const extract = tar.x({
    cwd: dir,
    strict: true,
    filter: (path, entry) => {
      const linkpath = (entry as { linkpath?: string; type?: string }).type === 'Link' ? (entry as { linkpath?: string }).linkpath ?? '' : '';
      if (escapesContext(path) || escapesContext(linkpath)) {
        refused.push(path);
        return false;
      }
      return true;
    },
  });
  try {
    // Fed by hand: node-tar's Unpack is a minipass stream, and stream.pipeline from async
    // generators into it never settles when every entry is filtered out.
    const finished = new Promise<void>((resolve, reject) => {
      extract.on('close', () => resolve());
      extract.on('error', reject);
    });
    finished.catch(() => {});
    try {
      for await (const chunk of pad(inflate(sniff(body)))) {
        if (!extract.write(chunk)) await Promise.race([once(extract, 'drain'), finished]);
      }
    } catch (e) {
      body.resume();
      throw e;
    }
    extract.end();
    await finished;
  } catch (e) {
    const err = e as { code?: string; message: string; status?: number };
    if (err.status) throw e;
    if (!sniffed) throw badParameter('the build context is empty: send a tar archive holding the Dockerfile');
    if (err.code?.startsWith('TAR_') || err.code?.startsWith('Z_') || /zlib|incorrect header|unexpected end/i.test(err.message)) {
      throw badParameter(`the build context is not a valid tar archive: ${err.message.replace(/^TAR_\w+: /, '')}`);
    }
    throw e;
  }
  if (!sniffed) throw badParameter('the build context is empty: send a tar archive holding the Dockerfile');
  if (refused.length) {
    throw badParameter(`the build context holds paths outside it (${refused.slice(0, 3).map((p) => JSON.stringify(p)).join(', ')}): entries must be relative and must not use ".."`);
  }
}
