import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Auditor } from './auditor.js';
import { LogWriter, backupName } from './log-writer.js';
import { parseAuditPolicy, WRITES_AT_METADATA } from './policy.js';
import { memoryApi } from '../testing/memory-api.js';
import { ApiHandler } from '../handler.js';
import { CollectingSink } from '../testing/memory-api.js';

const lines: string[] = [];
const sink = { write: (l: string) => lines.push(l) };

test('a create is one Metadata event with user, objectRef (name from the response), status and annotations; reads are not logged', async () => {
  const api = await memoryApi();
  const handler = new ApiHandler({ registry: api.registry, storage: api.storage, authenticate: () => ({ name: 'alice', groups: ['dev', 'system:authenticated'] }), serverAddress: 'x', audit: new Auditor(WRITES_AT_METADATA, sink) });
  lines.length = 0;
  const body = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'cm-' }, data: { secret: 'do-not-log' } }));
  const res = await handler.handle({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', query: new URLSearchParams('fieldManager=kubectl-create'), headers: { 'content-type': 'application/json', 'user-agent': 'kubectl/v1.32.0', 'x-forwarded-for': '10.0.0.9' }, body, remoteAddress: '::ffff:127.0.0.1' });
  assert.equal(res.status, 201);
  await handler.handle({ method: 'GET', path: '/api/v1/namespaces/default/configmaps', query: new URLSearchParams(), headers: {} });
  assert.equal(lines.length, 1);
  const ev = JSON.parse(lines[0]);
  const created = JSON.parse(String(res.body));
  assert.equal(res.headers?.['audit-id'], ev.auditID);
  assert.deepEqual(
    { ...ev, auditID: undefined, requestReceivedTimestamp: undefined, stageTimestamp: undefined },
    {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: undefined,
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create',
      verb: 'create',
      user: { username: 'alice', groups: ['dev', 'system:authenticated'] },
      sourceIPs: ['10.0.0.9', '127.0.0.1'],
      userAgent: 'kubectl/v1.32.0',
      objectRef: { resource: 'configmaps', namespace: 'default', name: created.metadata.name, uid: created.metadata.uid, apiVersion: 'v1', resourceVersion: created.metadata.resourceVersion },
      responseStatus: { metadata: {}, code: 201 },
      requestReceivedTimestamp: undefined,
      stageTimestamp: undefined,
    },
  );
  assert.match(ev.requestReceivedTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(!lines[0].includes('do-not-log'), 'Metadata level carries no objects');
  api.close();
});

test('Request/RequestResponse levels carry the objects; a failure carries its Status; a watch logs ResponseStarted and ResponseComplete', async () => {
  const api = await memoryApi();
  const policy = parseAuditPolicy('kind: Policy\nrules:\n- level: RequestResponse\n  resources: [{group: "", resources: [configmaps]}]\n- level: Request\n');
  const handler = new ApiHandler({ registry: api.registry, storage: api.storage, authenticate: () => ({ name: 'bob', groups: [] }), serverAddress: 'x', audit: new Auditor(policy, sink) });
  lines.length = 0;
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
  await handler.handle({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(cm)) });
  await handler.handle({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(cm)) });
  const [ok, dup] = lines.map((l) => JSON.parse(l));
  assert.deepEqual(ok.requestObject, cm);
  assert.equal(ok.responseObject.metadata.name, 'c');
  assert.deepEqual(dup.responseStatus, { metadata: {}, code: 409, status: 'Failure', message: 'configmaps "c" already exists', reason: 'AlreadyExists' });
  lines.length = 0;
  const res = await handler.handle({ method: 'GET', path: '/api/v1/namespaces/default/pods', query: new URLSearchParams('watch=true'), headers: {} });
  const s = new CollectingSink();
  res.stream!(s);
  assert.deepEqual(lines.map((l) => [JSON.parse(l).stage, JSON.parse(l).verb]), [['ResponseStarted', 'watch']]);
  s.close();
  assert.deepEqual(lines.map((l) => JSON.parse(l).stage), ['ResponseStarted', 'ResponseComplete']);
  api.close();
});

test('the log writer appends lines in the background and rotates by size, keeping maxBackups files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-audit-'));
  try {
    const file = join(dir, 'audit.log');
    const w = new LogWriter(file, { maxBytes: 1000, maxBackups: 2 });
    const line = 'x'.repeat(99); // 100 bytes with the newline: 10 per file
    for (let i = 0; i < 25; i++) {
      w.write(`${line.slice(0, 96)}${String(i).padStart(3, '0')}`);
      await w.flush(); // one batch per line, as requests arriving apart
    }
    await w.close();
    const names = readdirSync(dir).sort();
    assert.equal(names.length, 3, names.join(' '));
    assert.ok(names.includes('audit.log'));
    assert.ok(names.filter((n) => n !== 'audit.log').every((n) => /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/.test(n)));
    const current = readFileSync(file, 'utf8').trim().split('\n');
    assert.deepEqual(current.map((l) => l.slice(-3)), ['020', '021', '022', '023', '024']);
    const newestBackup = readFileSync(join(dir, names.filter((n) => n !== 'audit.log').sort()[1]), 'utf8').trim().split('\n');
    assert.equal(newestBackup.length, 10);
    assert.equal(newestBackup[0].slice(-3), '010');
    assert.equal(backupName('/a/b/audit.log', new Date('2026-12-03T15:04:05.123Z')), '/a/b/audit-2026-12-03T15-04-05.123.log');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full buffer drops events instead of blocking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-audit-'));
  try {
    const logs: string[] = [];
    const w = new LogWriter(join(dir, 'a.log'), { maxBytes: 0, maxBackups: 0, bufferLines: 5, log: (m) => logs.push(m) });
    for (let i = 0; i < 8; i++) w.write(String(i));
    await w.close();
    assert.deepEqual(readFileSync(join(dir, 'a.log'), 'utf8').trim().split('\n'), ['0', '1', '2', '3', '4']);
    assert.match(logs[0], /falling behind; dropping events/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
