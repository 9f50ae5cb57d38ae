import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decodeJwt } from 'jose';
import { ADMIN_USER, ApiServer } from '../server.js';
import { MemoryStore } from '../../store/memory.js';
import type { ApiRequest } from '../request.js';
import { PROTOBUF_MAGIC } from '../protobuf.js';
import { schemaRoot } from '../protobuf-schema.js';

async function call(s: ApiServer, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const [p, q] = path.split('?');
  const req: ApiRequest = {
    method, path: p, query: new URLSearchParams(q ?? ''), headers: { 'content-type': contentType },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), user: ADMIN_USER,
  };
  const res = await s.handler.handle(req);
  return { status: res.status, body: res.body ? JSON.parse(String(res.body)) : undefined };
}

function protobufBody(typeName: string, apiVersion: string, kind: string, obj: object): Buffer {
  const raw = schemaRoot().lookupType(typeName).encode(obj).finish();
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string(apiVersion).uint32((2 << 3) | 2).string(kind).ldelim();
  w.uint32((2 << 3) | 2).bytes(raw);
  return Buffer.concat([PROTOBUF_MAGIC, w.finish()]);
}

async function review(s: ApiServer, token: string): Promise<any> {
  const r = await call(s, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.status;
}

test('TokenRequest in protobuf (as kubectl create token sends it) and JSON; TokenReview names the user until the bound pod or the ServiceAccount is gone', async () => {
  const s = await ApiServer.inProcess({ store: new MemoryStore() });
  try {
    assert.equal((await call(s, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } })).status, 201);
    assert.equal((await call(s, 'POST', '/api/v1/nodes', { metadata: { name: 'n1' } })).status, 201);
    const pod = await call(s, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p' }, spec: { serviceAccountName: 'robot', nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
    assert.equal(pod.status, 201, JSON.stringify(pod.body));

    const pb = protobufBody('authentication.TokenRequest', 'authentication.k8s.io/v1', 'TokenRequest', { metadata: { name: 'robot', namespace: 'default' }, spec: { expirationSeconds: 3600 } });
    const unbound = await call(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', pb, 'application/vnd.kubernetes.protobuf');
    assert.equal(unbound.status, 201, JSON.stringify(unbound.body));
    const claims = decodeJwt(unbound.body.status.token);
    for (const c of ['exp', 'nbf', 'iat', 'jti']) assert.ok(claims[c], `claim ${c}`);
    assert.equal(claims.sub, 'system:serviceaccount:default:robot');

    const boundRes = await call(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
    });
    assert.equal(boundRes.status, 201, JSON.stringify(boundRes.body));
    const bound = boundRes.body.status.token as string;
    const k8s = decodeJwt(bound)['kubernetes.io'] as any;
    assert.equal(k8s.pod.name, 'p');
    assert.equal(k8s.pod.uid, pod.body.metadata.uid);
    assert.equal(k8s.node.name, 'n1');

    const st = await review(s, bound);
    assert.equal(st.authenticated, true);
    assert.equal(st.user.username, 'system:serviceaccount:default:robot');
    assert.deepEqual(st.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(st.user.extra['authentication.kubernetes.io/pod-name'], ['p']);
    assert.deepEqual(st.user.extra['authentication.kubernetes.io/pod-uid'], [pod.body.metadata.uid]);
    assert.deepEqual(st.user.extra['authentication.kubernetes.io/node-name'], ['n1']);
    assert.equal((await review(s, 'not-a-token')).authenticated, undefined);

    // Binding to a pod of another ServiceAccount is refused, as upstream.
    await call(s, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'other' } });
    const wrong = await call(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/other/token', { spec: { boundObjectRef: { kind: 'Pod', name: 'p' } } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.message, /different serviceaccount name/);

    assert.equal((await call(s, 'DELETE', '/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0')).status, 200);
    assert.equal((await review(s, bound)).authenticated, undefined, 'the pod is gone');
    assert.equal((await review(s, unbound.body.status.token)).authenticated, true);
    assert.equal((await call(s, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/robot')).status, 200);
    assert.equal((await review(s, unbound.body.status.token)).authenticated, undefined, 'the ServiceAccount is gone');

    assert.equal((await call(s, 'GET', '/apis/authentication.k8s.io/v1/tokenreviews')).status, 405);
    const empty = await call(s, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: {} });
    assert.equal(empty.status, 400);
  } finally {
    await s.stop();
  }
});
