/** OpenAPI v3 schemas: unit checks on the documents, and `kubectl explain` walking them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../api/resources/index.js';
import { OpenApi } from './openapi.js';
import { kindSchemaName, schemaClosure } from './openapi-schemas.js';

type S = Record<string, any>;

describe('openapi v3 documents', () => {
  const api = new OpenApi(defaultRegistry());
  const apps = JSON.parse(api.document('apis/apps/v1')!) as S;
  const core = JSON.parse(api.document('api/v1')!) as S;

  /** Follows a dotted field path through $refs as kubectl explain does. */
  function walk(doc: S, schemaName: string, path: string[]): S {
    let s: S = doc.components.schemas[schemaName];
    assert.ok(s, `no schema ${schemaName}`);
    for (const field of path) {
      const p: S | undefined = s.properties?.[field];
      assert.ok(p, `no field ${field} in ${JSON.stringify(Object.keys(s.properties ?? {}))}`);
      let t: S = p.type === 'array' ? p.items : p;
      const ref: string | undefined = t.allOf?.[0]?.$ref ?? t.$ref;
      if (ref) t = doc.components.schemas[ref.replace('#/components/schemas/', '')];
      assert.ok(t, `dangling ref at ${field}`);
      s = t;
    }
    return s;
  }

  test('top-level kinds carry their group/version/kind and nested types resolve', () => {
    const d = apps.components.schemas['io.k8s.api.apps.v1.Deployment'];
    assert.deepEqual(d['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    const strategy = walk(apps, 'io.k8s.api.apps.v1.Deployment', ['spec', 'strategy']);
    assert.deepEqual(Object.keys(strategy.properties).sort(), ['rollingUpdate', 'type']);
    const ru = walk(apps, 'io.k8s.api.apps.v1.Deployment', ['spec', 'strategy', 'rollingUpdate', 'maxSurge']);
    assert.equal(ru.format, 'int-or-string');
    const container = walk(core, 'io.k8s.api.core.v1.Pod', ['spec', 'containers']);
    assert.deepEqual(container.required, ['name']);
    assert.equal(container.properties.image.type, 'string');
    assert.equal(container.properties.ports.items.allOf[0].$ref, '#/components/schemas/io.k8s.api.core.v1.ContainerPort');
    const res = walk(core, 'io.k8s.api.core.v1.Pod', ['spec', 'containers', 'resources']);
    assert.deepEqual(res.properties.limits.additionalProperties, { default: '', type: 'string' });
  });

  test('every $ref in every document resolves inside that document', () => {
    for (const path of ['api/v1', 'apis/apps/v1', 'apis/batch/v1']) {
      const doc = JSON.parse(api.document(path)!) as S;
      const text = JSON.stringify(doc);
      const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
      assert.ok(refs.length > 20, `${path} has only ${refs.length} refs`);
      for (const r of refs) assert.ok(doc.components.schemas[r], `${path}: ${r} is dangling`);
    }
  });

  test('strategic-merge metadata is declared where kubectl needs it', () => {
    const spec = walk(core, 'io.k8s.api.core.v1.Pod', ['spec']);
    assert.equal(spec.properties.containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(spec.properties.containers['x-kubernetes-patch-strategy'], 'merge');
    const c = walk(core, 'io.k8s.api.core.v1.Pod', ['spec', 'containers']);
    assert.equal(c.properties.ports['x-kubernetes-patch-merge-key'], 'containerPort');
    const svc = walk(core, 'io.k8s.api.core.v1.Service', ['spec']);
    assert.equal(svc.properties.ports['x-kubernetes-patch-merge-key'], 'port');
  });

  test('kinds without a schema stay open objects; unknown names are absent', () => {
    assert.equal(kindSchemaName('v1', 'NoSuchKind'), undefined);
    assert.deepEqual(schemaClosure(['nope']), {});
    const lease = JSON.parse(api.document('apis/coordination.k8s.io/v1')!) as S;
    const l = Object.values(lease.components.schemas as S).find((s: S) => s['x-kubernetes-group-version-kind']?.[0]?.kind === 'Lease') as S;
    assert.equal(l['x-kubernetes-preserve-unknown-fields'], true);
  });
});

describe('kubectl explain', () => {
  // Only the end-to-end part needs a server; loaded lazily so the unit part runs anywhere.
  let c: import('../../test/support/cluster.js').TestCluster;
  before(async () => {
    const { startCluster } = await import('../../test/support/cluster.js');
    c = await startCluster({ args: ['--no-controllers'] });
  });
  after(async () => {
    await c?.destroy();
  });

  test('explain deployment.spec.strategy lists its fields', () => {
    const out = c.k(['explain', 'deployment.spec.strategy']);
    assert.match(out, /FIELD: strategy <DeploymentStrategy>/);
    assert.match(out, /^ {2}rollingUpdate\t<RollingUpdateDeployment>/m);
    assert.match(out, /^ {2}type\t<string>/m);
    assert.match(out, /Default is\s+RollingUpdate/);
  });

  test('explain pod.spec.containers lists image; nested resources and recursive work', () => {
    const out = c.k(['explain', 'pod.spec.containers']);
    assert.match(out, /^ {2}image\t<string>/m);
    assert.match(out, /^ {2}name\t<string> -required-/m);
    const res = c.k(['explain', 'pod.spec.containers.resources']);
    assert.match(res, /^ {2}limits\t<map\[string\]string>/m);
    const rec = c.k(['explain', 'job.spec', '--recursive']);
    assert.match(rec, /^ {4}spec\t<PodSpec>/m);
    for (const kind of ['services', 'configmaps', 'secrets', 'namespaces', 'nodes', 'replicasets']) {
      assert.match(c.k(['explain', kind]), /^ {2}metadata\t<ObjectMeta>/m, kind);
    }
    const bad = c.kubectl(['explain', 'deployment.spec.nosuchfield']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /nosuchfield/);
  });
});
