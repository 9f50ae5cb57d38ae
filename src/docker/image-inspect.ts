/**
 * `GET /images/{name}/json` from the image store — the one image endpoint containers need
 * (Compose inspects the image before it creates a container). The image handler module
 * (`src/docker/images/`) serves the full image API; when it is wired, it takes this path.
 */
import type { ImageStore } from '../image/store.js';
import { noSuchImage } from './errors.js';
import type { DockerRoute } from './route.js';

/** The fallback image inspect route. */
export function imageInspectRoute(images: ImageStore): DockerRoute {
  return {
    method: 'GET',
    path: '/images/{name*}/json',
    handle: async (call) => {
      const info = images.resolve(call.params.name);
      if (!info) throw noSuchImage(call.params.name);
      const c = info.config;
      return {
        status: 200,
        body: {
          Id: info.id,
          RepoTags: images.list().filter((i) => i.id === info.id && i.ref).map((i) => i.ref.replace(/^docker\.io\/library\//, '')),
          RepoDigests: [],
          Parent: '',
          Comment: '',
          Created: c.created ?? info.created ?? '1970-01-01T00:00:00Z',
          Author: c.author ?? '',
          Config: { Env: [], Cmd: null, Entrypoint: null, WorkingDir: '', Labels: null, Volumes: null, ExposedPorts: null, ...(c.config ?? {}) },
          Architecture: c.architecture ?? 'amd64',
          Os: c.os ?? 'linux',
          Size: info.size,
          RootFS: { Type: 'layers', Layers: c.rootfs?.diff_ids ?? [] },
          Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
        },
      };
    },
  };
}
