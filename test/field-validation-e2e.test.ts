/** End-to-end: typed bodies and fieldValidation as the real kubectl 1.32 sees them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestFile, startCluster, type TestCluster } from './support/cluster.js';

let c: TestCluster;

before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.destroy();
});

const deployment = (name: string, specExtra = '', metaExtra = '', replicas = '1') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${metaExtra}spec:
  replicas: ${replicas}
${specExtra}  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: nginx
`;

function absent(name: string): void {
  const r = c.kubectl(['get', 'deploy', name]);
  assert.equal(r.code, 1, `deployment ${name} was stored`);
  assert.match(r.stderr, /NotFound/);
}

describe('field validation with kubectl', () => {
  test('apply of an unknown field fails with the strict decoding error and stores nothing', () => {
    const file = manifestFile(deployment('strict', '  replicass: 3\n'));
    const r = c.kubectl(['apply', '-f', file]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\): error when creating ".*": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.replicass"/,
    );
    absent('strict');
  });

  test('apply to an existing object with an unknown metadata field is refused and changes nothing', () => {
    c.k(['apply', '-f', manifestFile(deployment('existing'))]);
    const r = c.kubectl(['apply', '-f', manifestFile(deployment('existing', '', '  labelz: {a: b}\n', '2'))]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /strict decoding error: unknown field "metadata\.labelz"/);
    assert.equal(c.k(['get', 'deploy', 'existing', '-o', 'jsonpath={.spec.replicas}']), '1');
  });

  test('create --validate=warn stores the object without the field and prints the warning', () => {
    const r = c.kubectl(['create', '--validate=warn', '-f', manifestFile(deployment('warned', '  replicass: 3\n'))]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: unknown field "spec\.replicass"/);
    const d = JSON.parse(c.k(['get', 'deploy', 'warned', '-o', 'json']));
    assert.equal(d.spec.replicas, 1);
    assert.equal('replicass' in d.spec, false);
  });

  test('create --validate=false stores the object without the field, silently', () => {
    const r = c.kubectl(['create', '--validate=false', '-f', manifestFile(deployment('ignored', '  replicass: 3\n', '  labelz: {a: b}\n'))]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /unknown field/);
    const d = JSON.parse(c.k(['get', 'deploy', 'ignored', '-o', 'json']));
    assert.equal('replicass' in d.spec, false);
    assert.equal('labelz' in d.metadata, false);
  });

  test('a wrongly typed replicas is refused naming the field, and nothing is stored', () => {
    const r = c.kubectl(['apply', '-f', manifestFile(deployment('typed', '', '', '"three"'))]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32/);
    absent('typed');
  });

  test('duplicate keys in a raw JSON body are refused under Strict', () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1","a":"2"}}';
    const r = c.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', '-f', manifestFile(body)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /strict decoding error: duplicate field "data\.a"/);
    assert.equal(c.kubectl(['get', 'cm', 'dup']).code, 1);
  });

  test('an unsupported fieldValidation value is refused before anything is written', () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"badmode"}}';
    const r = c.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps?fieldValidation=Sometimes', '-f', manifestFile(body)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /fieldValidation: Unsupported value: "Sometimes"/);
    assert.equal(c.kubectl(['get', 'cm', 'badmode']).code, 1);
  });
});
