/**
 * The Docker Engine API of `skiff up` (issue 10) driven by the real docker CLI, docker-py and
 * docker-compose: containers are runc pods in the `docker` namespace. Needs root, runc, CNI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { eventually, startCluster, type TestCluster } from './support/cluster.js';
import { dockerClients, type DockerClients } from './support/docker.js';
import { httpGet, importBusybox, resetDataDir, upIdentity, waitNodeReady, type UpIdentity } from './support/e2e.js';
import { canRunAsRoot, rootOnly } from './support/root.js';

/** Crash-loop back-off of the test cluster: 500 ms doubling to 4 s. */
const ENV = { SKIFF_AGENT_BACKOFF_MS: '500,4000' };

let id: UpIdentity;
let dataDir: string;
let work: string;
let c: TestCluster | undefined;
let dk: DockerClients;

async function up(): Promise<TestCluster> {
  const cluster = await startCluster({ command: 'up', dataDir, args: id.args, env: ENV });
  await waitNodeReady(cluster, id.nodeName);
  await eventually(() => /Docker Engine API ready: export DOCKER_HOST=unix:\/\//.test(cluster.output()), 20_000, 'the Docker socket');
  return cluster;
}

const inspect = (name: string, format: string) => dk.d(['inspect', '-f', format, name]).trim();

describe('Docker Engine API on skiff up', { ...rootOnly, timeout: 600_000 }, () => {
  before(async () => {
    if (!canRunAsRoot) return;
    id = upIdentity('dk');
    work = mkdtempSync(join(tmpdir(), 'skiff-docker-e2e-'));
    dataDir = join(work, 'data');
    await importBusybox(dataDir, { 'busybox:latest': 'hello from docker\n' });
    c = await up();
    dk = dockerClients(join(dataDir, 'docker.sock'));
  });

  after(async () => {
    if (!canRunAsRoot) return;
    if (c && dk) {
      const ids = dk.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) dk.docker(['rm', '-f', ...ids]);
    }
    await c?.stop();
    resetDataDir(dataDir);
    rmSync(work, { recursive: true, force: true });
  });

  test('docker run --rm prints the output and exits with the container code; the container is gone', async () => {
    const r = dk.docker(['run', '--rm', '--name', 'once', 'busybox', 'sh', '-c', 'echo hi; exit 3']);
    assert.equal(r.stdout, 'hi\n', r.stderr);
    assert.equal(r.code, 3);
    assert.equal(dk.docker(['inspect', 'once']).code, 1);
    // A --rm container that is stopped goes too.
    dk.d(['run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '1000']);
    dk.d(['stop', '-t', '0', 'ephemeral']);
    await eventually(() => dk.docker(['inspect', 'ephemeral']).code === 1, 10_000, 'the stopped --rm container removed');
  });

  test('stdin reaches docker run -i and a tty gets a terminal', () => {
    const r = dk.docker(['run', '-i', '--rm', 'busybox', 'sh'], { input: 'echo from-stdin; exit 4\n' });
    assert.equal(r.stdout.trim(), 'from-stdin', r.stderr);
    assert.equal(r.code, 4);
    // -it under a pseudo-terminal (the CLI refuses -t without one), as a user's shell has.
    const tty = spawnSync('script', ['-qfec', "docker run -it --rm busybox sh -c 'tty; exit 6'", '/dev/null'], { env: dk.env, encoding: 'utf8', timeout: 60_000 });
    assert.match(tty.stdout, /\/dev\/pts\/\d+/, tty.stderr);
    assert.equal(tty.status, 6);
  });

  test('a detached container: ps, inspect, logs, exec exit codes, stop, start, rm', async () => {
    const events = spawn('docker', ['events', '--filter', 'container=ticker', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'], { env: dk.env });
    let seen = '';
    events.stdout.on('data', (d) => (seen += d));
    await new Promise((r) => setTimeout(r, 300));
    const cid = dk.d(['run', '-d', '--name', 'ticker', '-e', 'WHO=docker', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i $WHO"; sleep 0.2; done']).trim();
    assert.match(cid, /^[0-9a-f]{64}$/);
    assert.match(dk.d(['ps', '--filter', 'name=ticker', '--format', '{{.ID}} {{.Names}} {{.Status}}']), new RegExp(`^${cid.slice(0, 12)} ticker Up `));
    assert.equal(inspect(cid.slice(0, 8), '{{.State.Status}} {{.Name}} {{.HostConfig.LogConfig.Type}}'), 'running /ticker json-file');
    await eventually(() => /tick 3 docker/.test(dk.d(['logs', 'ticker'])), 15_000, 'logs');
    assert.match(dk.d(['logs', '--tail', '1', '-t', 'ticker']), /^\d{4}-\d\d-\d\dT\S+ tick \d+ docker\n$/);
    assert.equal(dk.docker(['exec', 'ticker', 'sh', '-c', 'exit 5']).code, 5);
    assert.equal(dk.d(['exec', '-e', 'X=1', 'ticker', 'sh', '-c', 'echo $X $WHO']).trim(), '1 docker');
    // kubectl sees the same container as a pod.
    assert.match(c!.k(['get', 'pods', '-n', 'docker', '-o', 'name']), /pod\/ticker\n/);
    assert.match(c!.k(['logs', '-n', 'docker', 'ticker', '--tail', '1']), /tick \d+ docker/);
    const rm = dk.docker(['rm', 'ticker']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /Error response from daemon: cannot remove container "\/ticker": container is running: stop the container before removing or force remove/);
    dk.d(['stop', '-t', '1', 'ticker']);
    assert.match(inspect('ticker', '{{.State.Status}} {{.State.ExitCode}}'), /^exited \d+$/);
    assert.equal(c!.kubectl(['get', 'pod', '-n', 'docker', 'ticker']).code, 1, 'a stopped container has no pod');
    dk.d(['start', 'ticker']);
    assert.equal(inspect('ticker', '{{.State.Status}} {{.Id}}'), `running ${cid}`);
    await eventually(() => /container create ticker\ncontainer start ticker\n[^]*container die ticker\n[^]*container stop ticker\ncontainer start ticker/.test(seen), 10_000, `events, got ${JSON.stringify(seen)}`);
    events.kill();
    dk.d(['rm', '-f', 'ticker']);
    assert.equal(dk.docker(['ps', '-aq', '--filter', `id=${cid}`]).stdout.trim(), '');
  });

  test('docker cp copies files into and out of a running container', () => {
    dk.d(['run', '-d', '--name', 'cpbox', 'busybox', 'sleep', '1000']);
    const local = join(work, 'cp-in.txt');
    writeFileSync(local, 'copied in\n');
    dk.d(['cp', local, 'cpbox:/tmp/']);
    assert.equal(dk.d(['exec', 'cpbox', 'cat', '/tmp/cp-in.txt']), 'copied in\n');
    dk.d(['exec', 'cpbox', 'sh', '-c', 'mkdir -p /out && echo made inside > /out/f.txt']);
    const dest = join(work, 'cp-out');
    mkdirSync(dest);
    dk.d(['cp', 'cpbox:/out', dest]);
    assert.equal(readFileSync(join(dest, 'out', 'f.txt'), 'utf8'), 'made inside\n');
    const missing = dk.docker(['cp', 'cpbox:/nope', dest]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/nope/);
    dk.d(['rm', '-f', 'cpbox']);
  });

  test('a name clash is a 409 in dockerd words', () => {
    const first = dk.d(['create', '--name', 'twice', 'busybox', 'true']).trim();
    const r = dk.docker(['create', '--name', 'twice', 'busybox', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Error response from daemon: Conflict\\. The container name "/twice" is already in use by container "${first}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`));
    dk.d(['rm', 'twice']);
  });

  test('-p 127.0.0.1:PORT:80 answers on the host', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    dk.d(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
    assert.match(dk.d(['port', 'web']), new RegExp(`80/tcp -> 127\\.0\\.0\\.1:${port}`));
    const body = await eventually(() => httpGet(`http://127.0.0.1:${port}/`).catch(() => ''), 20_000, 'httpd through the host port');
    assert.equal(body, 'hello from docker\n');
    dk.d(['rm', '-f', 'web']);
  });

  test('a crashing --restart always container is restarted with back-off', async () => {
    dk.d(['run', '-d', '--name', 'crasher', '--restart', 'always', 'busybox', 'sh', '-c', 'echo boom; exit 2']);
    await eventually(() => Number(inspect('crasher', '{{.RestartCount}}')) >= 2, 60_000, 'two restarts');
    assert.equal(inspect('crasher', '{{.HostConfig.RestartPolicy.Name}}'), 'always');
    dk.d(['rm', '-f', 'crasher']);
  });

  test('bad input: malformed JSON, unknown restart policy, bad filters are 400s with a message', async () => {
    const bad = await dk.request('POST', '/v1.50/containers/create', '{"Image": "busybox",');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /invalid JSON/);
    const policy = dk.docker(['run', '-d', '--restart', 'sometimes', 'busybox', 'true']);
    assert.notEqual(policy.code, 0);
    const viaApi = await dk.request('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'sometimes' } } }));
    assert.equal(viaApi.status, 400);
    assert.match(JSON.parse(viaApi.body).message, /invalid restart policy: unknown policy 'sometimes'/);
    const filters = await dk.request('GET', '/containers/json?filters=%7Bnot-json');
    assert.equal(filters.status, 400);
    const missing = dk.docker(['run', '--rm', 'nosuchimage:1', 'true']);
    assert.match(missing.stderr, /No such image|pull access denied|not found|Error/);
  });

  test('an attach connection dropped mid-stream leaves the container and the others untouched', async () => {
    dk.d(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'while true; do echo talk; sleep 0.1; done']);
    dk.d(['run', '-d', '--name', 'bystander', 'busybox', 'sleep', '1000']);
    const sock = await dk.hijack('/v1.50/containers/talker/attach?stream=1&stdout=1&stderr=1');
    await new Promise<void>((resolve) => sock.once('data', () => resolve()));
    sock.destroy();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(inspect('talker', '{{.State.Status}}'), 'running');
    assert.equal(inspect('bystander', '{{.State.Status}}'), 'running');
    assert.match(dk.d(['logs', '--tail', '1', 'talker']), /talk/);
    dk.d(['rm', '-f', 'talker', 'bystander']);
  });

  test('docker-py runs a container and reads exec exit codes', () => {
    const r = dk.python(`
import docker
c = docker.from_env()
print(c.containers.run("busybox", ["sh", "-c", "echo py-out"], remove=True).decode().strip())
ct = c.containers.run("busybox", "sleep 100", detach=True, name="pyc")
print(ct.exec_run(["sh", "-c", "exit 7"]).exit_code)
print(",".join(x.name for x in c.containers.list(filters={"name": "pyc"})))
ct.remove(force=True)
`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['py-out', '7', 'pyc']);
  });

  test('a Compose project: the client reaches the web service by name; down -v leaves nothing', async () => {
    const proj = join(work, 'proj');
    mkdirSync(join(proj, 'site'), { recursive: true });
    writeFileSync(join(proj, 'site', 'x'), 'site file\n');
    writeFileSync(join(proj, 'app.env'), 'FROMFILE=yes\n');
    writeFileSync(
      join(proj, 'docker-compose.yml'),
      `version: "3.7"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    environment: {GREETING: hello}
    env_file: [app.env]
    volumes: ["data:/data", "./site:/site:ro"]
    restart: always
    networks: [front]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1/"]
      interval: 1s
  client:
    image: busybox
    command: ["sh", "-c", "while true; do wget -q -O - http://web/ && echo GOT; sleep 0.5; done"]
    depends_on: [web]
    networks: [front]
networks:
  front: {}
volumes:
  data: {}
`,
    );
    const upR = dk.compose(proj, ['up', '-d']);
    assert.equal(upR.code, 0, upR.stderr);
    await eventually(() => /hello from docker/.test(dk.compose(proj, ['logs', 'client']).stdout), 30_000, 'client reaching web by name');
    const ps = dk.compose(proj, ['ps']).stdout;
    assert.match(ps, /proj_web_1 .*Up/);
    assert.match(ps, /proj_client_1 .*Up/);
    await eventually(() => /healthy/.test(dk.compose(proj, ['ps']).stdout), 20_000, 'web healthy');
    const ex = dk.compose(proj, ['exec', '-T', 'web', 'sh', '-c', 'echo $GREETING $FROMFILE; cat /site/x; echo kept > /data/f; exit 4']);
    assert.equal(ex.stdout, 'hello yes\nsite file\n');
    assert.equal(ex.code, 4);
    const down = dk.compose(proj, ['down', '-v']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(dk.d(['ps', '-aq', '--filter', 'label=com.docker.compose.project=proj']).trim(), '');
    assert.doesNotMatch(dk.d(['network', 'ls', '--format', '{{.Name}}']), /proj_front/);
    assert.doesNotMatch(dk.d(['volume', 'ls', '--format', '{{.Name}}']), /proj_data/);
    assert.ok(!existsSync(join(dataDir, 'docker', 'volumes', 'proj_data')));
    await eventually(() => !/dnet-/.test(c!.k(['get', 'ns', '-o', 'name'])), 30_000, 'the network namespace gone');
    assert.equal(c!.k(['get', 'pods', '-n', 'docker', '-l', 'docker.skiff.dev/kind=container', '-o', 'name']).trim(), '');
  });

  test('the Go SDK example creates a restart-always container that is restarted after it exits', async () => {
    const bin = join(work, 'docker-sdk');
    const build = spawnSync('go', ['build', '-o', bin, '.'], {
      cwd: fileURLToPath(new URL('../../examples/docker-sdk', import.meta.url)),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOPROXY: 'off' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(build.status, 0, build.stderr);
    const run = spawnSync(bin, ['-name', 'gosdk', '-image', 'busybox', 'sh', '-c', 'echo from-go; sleep 1'], { env: dk.env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^[0-9a-f]{64}\n$/);
    assert.equal(inspect('gosdk', '{{.HostConfig.RestartPolicy.Name}}'), 'always');
    await eventually(() => Number(inspect('gosdk', '{{.RestartCount}}')) >= 1, 60_000, 'a restart after the exit');
    await eventually(() => inspect('gosdk', '{{.State.Status}}') === 'running', 30_000, 'running again');
    assert.match(dk.d(['logs', 'gosdk']), /from-go/);
    dk.d(['rm', '-f', 'gosdk']);
  });

  test('after a restart of skiff up, always containers run again and a stopped unless-stopped one does not', async () => {
    dk.d(['run', '-d', '--name', 'keeper', '--restart', 'always', 'busybox', 'sleep', '1000']);
    dk.d(['run', '-d', '--name', 'stopped-always', '--restart', 'always', 'busybox', 'sleep', '1000']);
    dk.d(['run', '-d', '--name', 'resting', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
    dk.d(['stop', '-t', '0', 'stopped-always', 'resting']);
    await c!.stop();
    c = await up();
    await eventually(() => inspect('keeper', '{{.State.Status}}') === 'running', 30_000, 'keeper running');
    await eventually(() => inspect('stopped-always', '{{.State.Status}}') === 'running', 30_000, 'the stopped always container back');
    assert.equal(inspect('resting', '{{.State.Status}}'), 'exited');
    dk.d(['rm', '-f', 'keeper', 'stopped-always', 'resting']);
    assert.deepEqual(readdirSync(join(dataDir)).includes('docker.sock'), true);
  });
});
