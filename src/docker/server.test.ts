import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { run } from '../util/exec.js';
import { DockerEngine, API_VERSION } from './server.js';
import { DockerError } from './errors.js';

function tempSocket(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-docker-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'docker.sock');
}

function request(socketPath: string, method: string, urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the docker CLI negotiates the API version and reads the engine version', async (t) => {
  const socket = tempSocket(t);
  const engine = new DockerEngine({ routes: [] });
  await engine.listen(socket);
  t.after(() => engine.close());
  assert.equal(fs.statSync(socket).mode & 0o777, 0o660);
  const out = await run('docker', ['-H', `unix://${socket}`, 'version', '--format', '{{.Server.APIVersion}} {{.Client.APIVersion}}'], { env: { ...process.env, DOCKER_CONFIG: path.dirname(socket) } });
  assert.equal(out.code, 0, out.stderr.toString());
  assert.equal(out.stdout.toString().trim(), `${API_VERSION} ${API_VERSION}`);
});

test('versioned and unversioned paths, too-old clients, unknown paths and handler errors', async (t) => {
  const socket = tempSocket(t);
  const engine = new DockerEngine({
    routes: [{ method: 'GET', path: '/containers/{id}/json', handle: async (call) => { throw new DockerError(404, `No such container: ${call.params.id}`); } }],
  });
  await engine.listen(socket);
  t.after(() => engine.close());
  const ping = await request(socket, 'GET', '/v1.24/_ping');
  assert.equal(ping.body, 'OK');
  assert.equal(ping.headers['api-version'], API_VERSION);
  assert.equal((await request(socket, 'HEAD', '/_ping')).status, 200);
  const old = await request(socket, 'GET', '/v1.12/version');
  assert.equal(old.status, 400);
  assert.match(JSON.parse(old.body).message, /client version 1.12 is too old\. Minimum supported API version is 1.24/);
  const missing = await request(socket, 'GET', '/v1.50/containers/abc/json');
  assert.deepEqual([missing.status, JSON.parse(missing.body)], [404, { message: 'No such container: abc' }]);
  const unknown = await request(socket, 'GET', '/nothing/here');
  assert.deepEqual([unknown.status, JSON.parse(unknown.body)], [404, { message: 'page not found' }]);
});

test('a stale socket file is replaced; a live one is refused', async (t) => {
  const socket = tempSocket(t);
  const stale = net.createServer().listen(socket);
  await new Promise((r) => stale.once('listening', r));
  const engine = new DockerEngine({ routes: [] });
  await assert.rejects(engine.listen(socket), /in use by another daemon/);
  // Closing the listener leaves no file behind with Node, so leave a plain file as a crashed daemon would.
  await new Promise((r) => stale.close(r));
  fs.writeFileSync(socket, '');
  await engine.listen(socket);
  t.after(() => engine.close());
  assert.equal((await request(socket, 'GET', '/_ping')).body, 'OK');
});
