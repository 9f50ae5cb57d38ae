/** Typed decoding and fieldValidation: tables over the compiled schema checkers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../api/resources/index.js';
import { StatusError } from '../api/errors.js';
import type { KObject } from '../api/registry.js';
import { checkFields, duplicateFields, fieldValidationMode, warningHeader, type FieldValidation } from './field-validation.js';

const registry = defaultRegistry();
const def = (group: string, kind: string) => registry.byKind(group, kind)!;

function deployment(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'web' }): KObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec } as KObject;
}

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };

function run(obj: KObject, kind = 'Deployment', group = 'apps', mode: FieldValidation = 'Strict', dups: string[] = []) {
  return checkFields(def(group, kind), 'v1', obj, mode, dups);
}

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, 400);
    return err.message;
  }
  assert.fail('expected a 400');
}

describe('typed decoding', () => {
  const typeCases: [string, KObject, string, string, string][] = [
    ['string replicas', deployment({ replicas: 'three', selector: {}, template }), 'Deployment', 'apps', 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'],
    ['fractional replicas', deployment({ replicas: 2.5, template }), 'Deployment', 'apps', 'json: cannot unmarshal number 2.5 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    ['int32 overflow', deployment({ replicas: 2147483648, template }), 'Deployment', 'apps', 'json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    ['spec as a string', deployment('x' as never), 'Deployment', 'apps', 'json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec'],
    ['labels as a list', deployment({ template }, { name: 'x', labels: ['a'] }), 'Deployment', 'apps', 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string'],
    ['label value a number', deployment({ template }, { name: 'x', labels: { a: 1 } }), 'Deployment', 'apps', 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string'],
    [
      'nested in arrays of objects',
      deployment({ template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: '80' }] }] } } }),
      'Deployment',
      'apps',
      'json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
    ],
    ['containers an object', deployment({ template: { spec: { containers: { name: 'c' } } } }), 'Deployment', 'apps', 'json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container'],
    ['targetPort a bool', { kind: 'Service', spec: { ports: [{ port: 80, targetPort: true }] } } as KObject, 'Service', '', 'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type intstr.IntOrString'],
    ['ConfigMap data a number', { kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 1 } } as KObject, 'ConfigMap', '', 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string'],
  ];
  for (const [name, obj, kind, group, message] of typeCases) {
    test(`${name} is 400 naming the field`, () => {
      const msg = badRequest(() => run(obj, kind, group, 'Ignore'));
      assert.equal(msg, `${kind} in version "v1" cannot be handled as a ${kind}: ${message}`);
    });
  }

  const valid: [string, KObject, string, string][] = [
    ['targetPort as a name', { kind: 'Service', spec: { ports: [{ port: 80, targetPort: 'http' }] } } as KObject, 'Service', ''],
    ['targetPort as a number', { kind: 'Service', spec: { ports: [{ port: 80, targetPort: 8080 }] } } as KObject, 'Service', ''],
    ['nulls everywhere (client-node, python)', deployment({ replicas: null, selector: null, template: { metadata: null, spec: { containers: [{ name: 'c', image: 'nginx', ports: null, env: null }] } } }, { name: 'x', labels: null, annotations: null }), 'Deployment', 'apps'],
    ['maps with any keys', deployment({ template }, { name: 'x', labels: { 'app.kubernetes.io/name': 'w' }, annotations: { 'any/thing': 'v' } }), 'Deployment', 'apps'],
    ['ConfigMap data and binaryData', { kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a.conf': 'x', b: '' }, binaryData: { c: 'AAAA' } } as KObject, 'ConfigMap', ''],
    ['resources as quantities', deployment({ template: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '500m', memory: '1Gi' } } }] } } }), 'Deployment', 'apps'],
    ['managedFields with free-form fieldsV1', deployment({ template }, { name: 'x', managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] }), 'Deployment', 'apps'],
  ];
  for (const [name, obj, kind, group] of valid) {
    test(`${name} is accepted unchanged`, () => {
      const before = JSON.stringify(obj);
      assert.deepEqual(run(obj, kind, group, 'Strict'), []);
      assert.equal(JSON.stringify(obj), before);
    });
  }
});

describe('unknown fields', () => {
  const unknownCases: [string, () => KObject, string[]][] = [
    ['top level of spec', () => deployment({ replicass: 3, template }), ['spec.replicass']],
    ['metadata', () => deployment({ template }, { name: 'x', labelz: { a: 'b' } }), ['metadata.labelz']],
    [
      'nested in arrays of objects, with indexes',
      () => deployment({ template: { spec: { containers: [{ name: 'a' }, { name: 'b', imagee: 'x', ports: [{ containerPort: 80, nodeport: 1 }] }] } } }),
      ['spec.template.spec.containers[1].imagee', 'spec.template.spec.containers[1].ports[0].nodeport'],
    ],
    ['several, in document order', () => deployment({ a: 1, template, b: 2 }), ['spec.a', 'spec.b']],
  ];
  for (const [name, make, paths] of unknownCases) {
    test(`${name}: Strict is 400 naming each`, () => {
      const msg = badRequest(() => run(make()));
      assert.equal(msg, `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${paths.map((p) => `unknown field "${p}"`).join(', ')}`);
    });
    test(`${name}: Warn drops them and warns`, () => {
      const obj = make();
      assert.deepEqual(run(obj, 'Deployment', 'apps', 'Warn'), paths.map((p) => `unknown field "${p}"`));
      for (const p of paths) assert.ok(!JSON.stringify(obj).includes(`"${p.split('.').pop()}"`), `${p} still stored`);
    });
    test(`${name}: Ignore drops them silently`, () => {
      const obj = make();
      assert.deepEqual(run(obj, 'Deployment', 'apps', 'Ignore'), []);
      for (const p of paths) assert.ok(!JSON.stringify(obj).includes(`"${p.split('.').pop()}"`), `${p} still stored`);
    });
  }

  test('preserve-unknown-fields objects keep everything', () => {
    const obj = deployment({ template }, { name: 'x', managedFields: [{ manager: 'm', fieldsV1: { 'f:anything': { '.': {} } } }] });
    assert.deepEqual(run(obj), []);
    assert.deepEqual((obj.metadata as any).managedFields[0].fieldsV1, { 'f:anything': { '.': {} } });
  });

  test("skiff's own Timeline schema is enforced", () => {
    const tl = { apiVersion: 'skiff.dev/v1', kind: 'Timeline', metadata: { name: 'pod.a' }, involvedObject: { kind: 'Pod', name: 'a', colour: 'red' }, entries: [{ time: 'x', count: 'two' }] } as KObject;
    const msg = badRequest(() => checkFields(def('skiff.dev', 'Timeline'), 'v1', structuredClone(tl), 'Strict'));
    assert.match(msg, /cannot unmarshal string into Go struct field Timeline\.entries\.count of type int32/);
    delete (tl.entries as any)[0].count;
    const msg2 = badRequest(() => checkFields(def('skiff.dev', 'Timeline'), 'v1', tl, 'Strict'));
    assert.match(msg2, /strict decoding error: unknown field "involvedObject\.colour"/);
  });

  test('duplicates: Strict refuses, Warn warns, Ignore says nothing', () => {
    const text = '{"kind":"Deployment","spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"a","name":"b"}]}}},"metadata":{"labels":{"a":"1","a":"2"}}}';
    const dups = duplicateFields(text);
    assert.deepEqual(dups, ['spec.replicas', 'spec.template.spec.containers[0].name', 'metadata.labels.a']);
    const obj = JSON.parse(text) as KObject;
    assert.match(badRequest(() => run(structuredClone(obj), 'Deployment', 'apps', 'Strict', dups)), /strict decoding error: duplicate field "spec\.replicas", duplicate field "spec\.template/);
    assert.equal(run(structuredClone(obj), 'Deployment', 'apps', 'Warn', dups)[0], 'duplicate field "spec.replicas"');
    assert.deepEqual(run(obj, 'Deployment', 'apps', 'Ignore', dups), []);
  });

  test('duplicate scan: strings with braces, escapes and nested arrays are not keys', () => {
    assert.deepEqual(duplicateFields('{"a":"}{,\\"a\\"","b":[[{"a":1}],{"a":2,"a":3}],"c\\u0041":1,"cA":2}'), ['b[1].a', 'cA']);
    assert.deepEqual(duplicateFields('{"a":{"x":1},"b":{"x":1}}'), []);
  });
});

describe('fieldValidation parameter', () => {
  test('absent or empty is Warn; the three modes pass', () => {
    assert.equal(fieldValidationMode('POST', null), 'Warn');
    assert.equal(fieldValidationMode('POST', ''), 'Warn');
    for (const m of ['Strict', 'Warn', 'Ignore']) assert.equal(fieldValidationMode('PUT', m), m);
  });
  test('another value is refused as upstream', () => {
    try {
      fieldValidationMode('PATCH', 'strict');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, 422);
      assert.match(err.message, /PatchOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"/);
    }
  });
  test('warnings become one RFC 7234 Warning header', () => {
    assert.equal(warningHeader(['unknown field "spec.a"', 'unknown field "spec.b"']), '299 - "unknown field \\"spec.a\\"", 299 - "unknown field \\"spec.b\\""');
  });
});
