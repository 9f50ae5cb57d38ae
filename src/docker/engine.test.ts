/**
 * The engine's handlers on the real API server (in process, memory store) and a real image
 * store, over its unix socket: records, name clashes, filters, networks and volumes, and a
 * barrage of malformed requests that must each get a Docker `{"message"}` and corrupt nothing.
 * No node runs here, so nothing is started; the e2e test (test/docker-engine.test.ts) runs pods.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient } from '../apiserver/testing/test-api.js';
import { RestClient } from '../client/rest.js';
import { busyboxStore } from '../image/testing/busybox-store.js';
import { dockerHandlers } from './engine.js';
import { DockerEngine } from './server.js';
import { socketRequest } from './testing/socket-request.js';

let dir: string;
let socket: string;
let engine: DockerEngine;
let images: Awaited<ReturnType<typeof busyboxStore>>;
let api: TestClient;

function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return socketRequest(socket, method, path, body, headers);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-docker-engine-'));
  socket = join(dir, 'docker.sock');
  images = await busyboxStore();
  api = new TestClient();
  const server = await api.started;
  const { InProcessTransport } = await import('../apiserver/in-process.js');
  const { ADMIN_USER } = await import('../apiserver/server.js');
  const client = new RestClient(new InProcessTransport(server.handler, ADMIN_USER));
  const handlers = dockerHandlers({ client, api: { url: 'https://127.0.0.1:1', token: 'x' }, images: images.store, dataDir: dir });
  engine = new DockerEngine({ routes: handlers.routes });
  await engine.listen(socket);
});

after(async () => {
  await engine?.close();
  images?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('create keeps a record; names clash with dockerd wording; list filters in both encodings', async () => {
  const created = await call('POST', '/v1.50/containers/create?name=one', JSON.stringify({ Image: 'busybox', Cmd: ['echo', 'hi'], Labels: { app: 'a' } }));
  assert.equal(created.status, 201, created.body);
  const { Id } = JSON.parse(created.body) as { Id: string };
  assert.match(Id, /^[0-9a-f]{64}$/);
  const clash = await call('POST', '/containers/create?name=one', JSON.stringify({ Image: 'busybox' }));
  assert.equal(clash.status, 409);
  assert.equal(JSON.parse(clash.body).message, `Conflict. The container name "/one" is already in use by container "${Id}". You have to remove (or rename) that container to be able to reuse that name.`);
  const cli = JSON.parse((await call('GET', `/containers/json?all=1&filters=${encodeURIComponent('{"label":{"app=a":true}}')}`)).body);
  const py = JSON.parse((await call('GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["one"]}')}`)).body);
  assert.deepEqual([cli.map((c: { Id: string }) => c.Id), py.map((c: { Id: string }) => c.Id)], [[Id], [Id]]);
  const inspect = JSON.parse((await call('GET', `/containers/${Id.slice(0, 6)}/json`)).body);
  assert.deepEqual([inspect.Name, inspect.State.Status, inspect.Path, inspect.Args, inspect.HostConfig.LogConfig.Type], ['/one', 'created', 'echo', ['hi'], 'json-file']);
  const missing = await call('POST', '/containers/create', JSON.stringify({ Image: 'nosuch' }));
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).message, 'No such image: nosuch:latest');
  assert.equal((await call('DELETE', `/containers/${Id}`)).status, 204);
  assert.equal((await call('GET', `/containers/${Id}/json`)).status, 404);
});

test('networks and volumes: create, list, inspect, remove; bad names are 400s', async () => {
  const net = await call('POST', '/networks/create', JSON.stringify({ Name: 'front', Labels: { p: '1' } }));
  assert.equal(net.status, 201, net.body);
  assert.equal((await call('POST', '/networks/create', JSON.stringify({ Name: 'front' }))).status, 409);
  const names = JSON.parse((await call('GET', '/networks')).body).map((n: { Name: string }) => n.Name);
  assert.deepEqual(names.sort(), ['bridge', 'front', 'host', 'none']);
  const withNet = await call('POST', '/containers/create?name=member', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'front' }, NetworkingConfig: { EndpointsConfig: { front: { Aliases: ['web'] } } } }));
  assert.equal(withNet.status, 201, withNet.body);
  const unknownNet = await call('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'back' } }));
  assert.equal(unknownNet.status, 404);
  assert.equal((await call('DELETE', '/containers/member')).status, 204);
  assert.equal((await call('DELETE', '/networks/front')).status, 204);
  assert.equal((await call('GET', '/networks/front')).status, 404);
  const vol = await call('POST', '/volumes/create', JSON.stringify({ Name: 'data', Labels: { p: '1' } }));
  assert.equal(vol.status, 201);
  assert.equal(JSON.parse((await call('GET', '/volumes/data')).body).Labels.p, '1');
  assert.equal((await call('POST', '/volumes/create', JSON.stringify({ Name: '../escape' }))).status, 400);
  assert.equal((await call('DELETE', '/volumes/data')).status, 204);
  assert.equal((await call('GET', '/volumes/data')).status, 404);
});

test('malformed requests get a Docker message, never a 5xx, and leave stored containers intact', async () => {
  const keep = JSON.parse((await call('POST', '/containers/create?name=keep', JSON.stringify({ Image: 'busybox', Cmd: ['true'] }))).body).Id as string;
  const before = (await call('GET', `/containers/${keep}/json`)).body;
  const bodies = ['', '{', '[]', 'null', '"x"', '{"Image": 5}', '{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}', '{"Image":"busybox","HostConfig":{"Binds":["rel:rel"]}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"x/tcp":[{"HostPort":"1"}]}}}', '{"Image":"busybox","Cmd":[]}', '{"Image":"busybox","HostConfig":{"Memory":-1}}', Buffer.from([0xff, 0xfe, 0x00]).toString('latin1'),
    '{"Image":"busybox","Healthcheck":{"Test":["BOGUS"]}}', '{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"nfs","Target":"/x"}]}}', '{"Image":"../../etc"}'];
  const paths = ['/containers/create', '/containers/create?name=bad%2Fname', '/containers/nope/json', '/containers/nope/stop?t=x', '/containers/keep/kill?signal=BOGUS', '/containers/keep/rename?name=',
    '/containers/json?filters=%7B', '/containers/json?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D', '/containers/keep/wait?condition=someday', '/containers/keep/logs', '/exec/nope/json', '/exec/nope/start', '/networks/create', '/networks/nope', '/v0.1/containers/json', '/v9.99/containers/json', '/containers/keep/archive'];
  let n = 0;
  for (let round = 0; round < 8; round++) {
    for (const path of paths) {
      for (const body of bodies) {
        const method = path.endsWith('/json') || path.endsWith('/logs') || path.includes('/containers/json') ? 'GET' : path.endsWith('/archive') ? 'PUT' : 'POST';
        const r = await call(method, path, body);
        n++;
        assert.ok(r.status >= 300 && r.status < 500, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${r.body}`);
        let message: unknown;
        try {
          message = JSON.parse(r.body).message;
        } catch {
          message = undefined;
        }
        assert.equal(typeof message, 'string', `${method} ${path} ${JSON.stringify(body)} → ${r.status}: ${JSON.stringify(r.body)}`);
      }
    }
  }
  assert.ok(n > 1500);
  for (const body of ['"x"', '[]', '{']) assert.equal((await call('POST', '/containers/keep/update', body)).status, 400);
  assert.equal((await call('GET', `/containers/${keep}/json`)).body, before);
  assert.deepEqual(JSON.parse((await call('GET', '/containers/json?all=1')).body).map((c: { Names: string[] }) => c.Names[0]), ['/keep']);
});
