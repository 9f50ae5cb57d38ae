/**
 * `docker cp` both ways: HEAD/GET/PUT `/containers/{id}/archive`, through `stat` and `tar`
 * run in the container with pods/exec (so it needs a running container with those tools, as
 * busybox-based images have). The path's stat travels base64-encoded in
 * `X-Docker-Container-Path-Stat`, its mode in Go's os.FileMode bits, as dockerd sends it.
 */
import { posix } from 'node:path';
import { badParameter, conflict, DockerError } from '../errors.js';
import type { DockerCall, DockerRoute } from '../route.js';
import { execIn, type StreamContext } from './streams.js';
import { containerState } from './views.js';

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;

/** The stat header for `stat -c '%s|%f|%Y|%N'` output (size, raw hex mode, mtime, quoted name → target). */
export function pathStat(path: string, statLine: string): { name: string; size: number; mode: number; mtime: string; linkTarget: string } {
  const [size, hexMode, mtime, ...rest] = statLine.trim().split('|');
  const raw = parseInt(hexMode, 16);
  const type = raw & 0o170000;
  let mode = raw & 0o777;
  if (type === 0o040000) mode += GO_MODE_DIR;
  if (type === 0o120000) mode += GO_MODE_SYMLINK;
  const link = /-> ['"‘]?(.*?)['"’]?$/.exec(rest.join('|'));
  return { name: posix.basename(path) || '/', size: Number(size), mode, mtime: new Date(Number(mtime) * 1000).toISOString(), linkTarget: type === 0o120000 && link ? link[1] : '' };
}

/** The archive routes. */
export function archiveRoutes(ctx: StreamContext): DockerRoute[] {
  const target = async (call: DockerCall) => {
    const path = call.query.get('path');
    if (!path) throw badParameter('path is required');
    const c = await ctx.svc.find(call.params.id);
    if (!c.pod || !containerState(c.rec, c.pod).Running) throw conflict(`container ${c.rec.id} is not running: skiff copies files with tar inside the container`);
    return { c, path: posix.isAbsolute(path) ? path : posix.join(c.rec.config.WorkingDir || '/', path) };
  };
  const stat = async (call: DockerCall) => {
    const { c, path } = await target(call);
    const r = await execIn(ctx, c, ['stat', '-c', '%s|%f|%Y|%N', path]);
    if (r.code !== 0) throw new DockerError(404, `Could not find the file ${path} in container ${c.rec.name}`);
    const st = pathStat(path, r.stdout.toString());
    return { c, path, header: Buffer.from(JSON.stringify(st)).toString('base64') };
  };
  return [
    {
      method: 'HEAD',
      path: '/containers/{id}/archive',
      handle: async (call) => {
        const { header } = await stat(call);
        return { status: 200, headers: { 'X-Docker-Container-Path-Stat': header }, body: '' };
      },
    },
    {
      method: 'GET',
      path: '/containers/{id}/archive',
      handle: async (call) => {
        const { c, path, header } = await stat(call);
        const dir = posix.dirname(path);
        const base = posix.basename(path) || '.';
        const r = await execIn(ctx, c, ['tar', '-c', '-f', '-', '-C', dir, base]);
        if (r.code !== 0) throw new DockerError(500, `tar in the container failed (exit ${r.code}): ${r.stderr.toString().trim()}`);
        return { status: 200, headers: { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': header }, body: r.stdout };
      },
    },
    {
      method: 'PUT',
      path: '/containers/{id}/archive',
      handle: async (call) => {
        const { c, path } = await target(call);
        const body = await call.body();
        const r = await execIn(ctx, c, ['tar', '-x', '-f', '-', '-C', path], body);
        if (r.code !== 0) throw new DockerError(r.stderr.toString().includes('No such file') ? 404 : 500, `extracting into ${path} failed: ${r.stderr.toString().trim()}`);
        return { status: 200 };
      },
    },
  ];
}
