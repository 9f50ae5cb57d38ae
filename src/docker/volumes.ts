/**
 * Named volumes: a directory `DATA_DIR/docker/volumes/<name>/_data` (what containers mount, as
 * a hostPath) and `meta.json` beside it (labels, creation time). The directory is the volume;
 * there is no other record to drift from it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonObject } from './body.js';
import { badParameter, conflict, noSuchVolume } from './errors.js';
import type { ContainerService } from './containers/service.js';
import { parseMounts } from './containers/pod-spec.js';
import { parseFilters } from './containers/views.js';
import type { DockerRoute } from './route.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

interface VolumeMeta {
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

/** The volume routes over `volumesDir`. */
export function volumeRoutes(svc: ContainerService, volumesDir: string): DockerRoute[] {
  const dir = (name: string) => join(volumesDir, name);
  const meta = (name: string): VolumeMeta => {
    try {
      return JSON.parse(readFileSync(join(dir(name), 'meta.json'), 'utf8')) as VolumeMeta;
    } catch {
      let created = new Date(0).toISOString();
      try {
        created = statSync(dir(name)).birthtime.toISOString();
      } catch {
        /* gone */
      }
      return { CreatedAt: created, Labels: {}, Options: {} };
    }
  };
  const view = (name: string) => ({ Name: name, Driver: 'local', Mountpoint: join(dir(name), '_data'), Scope: 'local', ...meta(name) });
  const names = () => (existsSync(volumesDir) ? readdirSync(volumesDir).filter((n) => NAME.test(n) && existsSync(join(volumesDir, n, '_data'))) : []);
  const get = (name: string) => {
    if (!NAME.test(name) || !existsSync(join(dir(name), '_data'))) throw noSuchVolume(name);
    return view(name);
  };
  const users = async (name: string) => (await svc.list()).filter((c) => parseMounts(c.rec.hostConfig).some((m) => m.Type === 'volume' && m.Source === name)).map((c) => c.rec.id);
  const remove = async (name: string, force: boolean) => {
    get(name);
    const using = await users(name);
    if (using.length && !force) throw conflict(`remove ${name}: volume is in use - [${using.join(', ')}]`);
    rmSync(dir(name), { recursive: true, force: true });
    svc.emit('volume', 'destroy', name, { driver: 'local' });
  };
  return [
    {
      method: 'GET',
      path: '/volumes',
      handle: async (call) => {
        const f = parseFilters(call.query.get('filters'));
        const list = names()
          .map(view)
          .filter((v) => (!f.name?.length || f.name.some((x) => v.Name.includes(x))) && (!f.label?.length || f.label.every((l) => (l.includes('=') ? v.Labels[l.split('=')[0]] === l.slice(l.indexOf('=') + 1) : l in v.Labels))));
        return { status: 200, body: { Volumes: list, Warnings: [] } };
      },
    },
    { method: 'GET', path: '/volumes/{name}', handle: async (call) => ({ status: 200, body: get(call.params.name) }) },
    {
      method: 'POST',
      path: '/volumes/create',
      handle: async (call) => {
        const body = await jsonObject<{ Name?: string; Driver?: string; Labels?: Record<string, string> | null; DriverOpts?: Record<string, string> | null }>(call, true);
        const name = body.Name || Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');
        if (!NAME.test(name)) throw badParameter(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
        if (body.Driver && body.Driver !== 'local') throw badParameter(`plugin "${body.Driver}" not found`);
        if (!existsSync(join(dir(name), '_data'))) {
          mkdirSync(join(dir(name), '_data'), { recursive: true });
          writeFileSync(join(dir(name), 'meta.json'), JSON.stringify({ CreatedAt: new Date().toISOString(), Labels: body.Labels ?? {}, Options: body.DriverOpts ?? {} }));
          svc.emit('volume', 'create', name, { driver: 'local' });
        }
        return { status: 201, body: view(name) };
      },
    },
    {
      method: 'DELETE',
      path: '/volumes/{name}',
      handle: async (call) => {
        await remove(call.params.name, /^(1|true)$/i.test(call.query.get('force') ?? ''));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/volumes/prune',
      handle: async (call) => {
        const f = parseFilters(call.query.get('filters'));
        const deleted: string[] = [];
        for (const name of names()) {
          const v = view(name);
          if (!(f.label ?? []).every((l) => (l.includes('=') ? v.Labels[l.split('=')[0]] === l.slice(l.indexOf('=') + 1) : l in v.Labels))) continue;
          // As dockerd since API 1.42: only anonymous volumes unless all=true.
          if (!f.all?.some((a) => a === 'true' || a === '1') && !/^[0-9a-f]{64}$/.test(name)) continue;
          if ((await users(name)).length) continue;
          await remove(name, false);
          deleted.push(name);
        }
        return { status: 200, body: { VolumesDeleted: deleted, SpaceReclaimed: 0 } };
      },
    },
  ];
}
