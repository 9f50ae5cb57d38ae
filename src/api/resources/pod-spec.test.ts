import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString } from '../errors.js';
import {
  POD_UPDATE_FORBIDDEN_MESSAGE,
  defaultPodSpec,
  defaultPodTemplateSpec,
  goLabelSelector,
  imageTag,
  validatePodSpec,
  validatePodUpdate,
} from './pod-spec.js';
import type { Obj } from '../registry.js';

const msgs = (errs: ReturnType<typeof validatePodSpec>): string[] => errs.map(fieldErrorString);

function validSpec(): Obj {
  return defaultPodSpec({ containers: [{ name: 'web', image: 'nginx' }] });
}

test('image tag: untagged and :latest pull Always, digests and tags IfNotPresent', () => {
  assert.equal(imageTag('nginx'), 'latest');
  assert.equal(imageTag('localhost:5000/app'), 'latest');
  assert.equal(imageTag('localhost:5000/app:1.2'), '1.2');
  assert.equal(imageTag('nginx@sha256:abc'), '');
  const spec = defaultPodSpec({
    containers: [
      { name: 'a', image: 'nginx' },
      { name: 'b', image: 'nginx:latest' },
      { name: 'c', image: 'nginx:1.27' },
      { name: 'd', image: 'nginx@sha256:0123' },
    ],
  });
  assert.deepEqual(spec.containers.map((c: Obj) => c.imagePullPolicy), ['Always', 'Always', 'IfNotPresent', 'IfNotPresent']);
});

test('pod spec defaults match upstream v1', () => {
  const spec = defaultPodSpec({
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80 }],
        resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } },
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        livenessProbe: { httpGet: { port: 80 } },
      },
    ],
    volumes: [{ name: 'cfg', configMap: { name: 'c' } }, { name: 's', secret: { secretName: 's' } }, { name: 'h', hostPath: { path: '/tmp' } }, { name: 'scratch' }],
  });
  assert.equal(spec.restartPolicy, 'Always');
  assert.equal(spec.dnsPolicy, 'ClusterFirst');
  assert.equal(spec.terminationGracePeriodSeconds, 30);
  assert.equal(spec.schedulerName, 'default-scheduler');
  assert.deepEqual(spec.securityContext, {});
  assert.equal(spec.enableServiceLinks, true);
  const c = spec.containers[0];
  assert.equal(c.terminationMessagePath, '/dev/termination-log');
  assert.equal(c.terminationMessagePolicy, 'File');
  assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  // Pods get requests from limits where a request is missing; an explicit request stays.
  assert.deepEqual(c.resources.requests, { cpu: '500m', memory: '1Gi' });
  assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
  assert.deepEqual(c.livenessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(spec.volumes[0].configMap.defaultMode, 420);
  assert.equal(spec.volumes[1].secret.defaultMode, 420);
  assert.equal(spec.volumes[2].hostPath.type, '');
  assert.deepEqual(spec.volumes[3], { name: 'scratch', emptyDir: {} });
});

test('templates do not get requests from limits, but get resources {}', () => {
  const t = defaultPodTemplateSpec({ spec: { containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: '1' } } }, { name: 'b', image: 'y' }] } });
  assert.deepEqual(t.spec.containers[0].resources, { limits: { cpu: '1' } });
  assert.deepEqual(t.spec.containers[1].resources, {});
});

test('a valid spec has no errors', () => {
  assert.deepEqual(validatePodSpec(validSpec(), 'spec'), []);
});

test('containers and image are required', () => {
  assert.deepEqual(msgs(validatePodSpec(defaultPodSpec({}), 'spec')), ['spec.containers: Required value']);
  assert.deepEqual(msgs(validatePodSpec(defaultPodSpec({ containers: [{ name: 'a' }] }), 'spec.template.spec')), [
    'spec.template.spec.containers[0].image: Required value',
  ]);
});

test('container names: DNS label, unique across init and regular containers', () => {
  const spec = defaultPodSpec({
    containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'x' }, { name: 'Bad_Name', image: 'x' }],
    initContainers: [{ name: 'a', image: 'x' }],
  });
  const out = msgs(validatePodSpec(spec, 'spec'));
  assert.equal(out.length, 3);
  assert.equal(out[0], 'spec.containers[1].name: Duplicate value: "a"');
  // The regex-example tail of the message is validation.ts's business.
  assert.match(out[1], /^spec\.containers\[2\]\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of lower case alphanumeric characters/);
  assert.equal(out[2], 'spec.initContainers[0].name: Duplicate value: "a"');
});

test('ports: range, protocol, name', () => {
  const spec = validSpec();
  spec.containers[0].ports = [
    { containerPort: 70000, protocol: 'TCP' },
    { containerPort: 80, protocol: 'ICMP' },
    { containerPort: 81, protocol: 'TCP', name: 'Http' },
  ];
  assert.deepEqual(msgs(validatePodSpec(spec, 'spec')), [
    'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.containers[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    'spec.containers[0].ports[2].name: Invalid value: "Http": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ]);
});

test('resources: requests must not exceed limits', () => {
  const spec = validSpec();
  spec.containers[0].resources = { limits: { cpu: '1' }, requests: { cpu: '2' } };
  assert.deepEqual(msgs(validatePodSpec(spec, 'spec')), [
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
  ]);
  spec.containers[0].resources = { limits: { memory: 'lots' } };
  assert.match(msgs(validatePodSpec(spec, 'spec'))[0], /^spec\.containers\[0\]\.resources\.limits\[memory\]: Invalid value: "lots": /);
});

test('restartPolicy, dnsPolicy, terminationGracePeriodSeconds', () => {
  const spec = validSpec();
  spec.restartPolicy = 'Sometimes';
  spec.dnsPolicy = 'Google';
  spec.terminationGracePeriodSeconds = -5;
  assert.deepEqual(msgs(validatePodSpec(spec, 'spec')), [
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    'spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    'spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0',
  ]);
});

test('volumes: unique names, one source; mounts must name a volume', () => {
  const spec = validSpec();
  spec.volumes = [
    { name: 'v', emptyDir: {} },
    { name: 'v', emptyDir: {}, hostPath: { path: '/x', type: '' } },
  ];
  spec.containers[0].volumeMounts = [{ name: 'x', mountPath: '/data' }];
  assert.deepEqual(msgs(validatePodSpec(spec, 'spec')), [
    'spec.volumes[1].name: Duplicate value: "v"',
    'spec.volumes[1].emptyDir: Forbidden: may not specify more than 1 volume type',
    'spec.containers[0].volumeMounts[0].name: Not found: "x"',
  ]);
});

test('probes need exactly one handler; liveness successThreshold must be 1', () => {
  const spec = validSpec();
  spec.containers[0].readinessProbe = { periodSeconds: 10 };
  spec.containers[0].livenessProbe = { exec: { command: ['true'] }, successThreshold: 2 };
  assert.deepEqual(msgs(validatePodSpec(spec, 'spec')), [
    'spec.containers[0].readinessProbe: Required value: must specify a handler type',
    'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
  ]);
});

test('nodeSelector labels and tolerations', () => {
  const spec = validSpec();
  spec.nodeSelector = { 'disk type': 'ssd' };
  spec.tolerations = [{ key: 'k', operator: 'Maybe' }, { operator: 'Equal', value: 'v' }, { key: 'k', operator: 'Exists', effect: 'Evict' }];
  const out = msgs(validatePodSpec(spec, 'spec'));
  assert.match(out[0], /^spec\.nodeSelector: Invalid value: "disk type": name part must consist of alphanumeric characters/);
  assert.deepEqual(out.slice(1), [
    'spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"',
    'spec.tolerations[1].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    'spec.tolerations[2].effect: Unsupported value: "Evict": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  ]);
});

test('pod update: only image, deadline, added tolerations and first binding may change', () => {
  const old = { spec: validSpec() };
  const img = structuredClone(old);
  img.spec.containers[0].image = 'nginx:1.28';
  img.spec.tolerations = [{ key: 'k', operator: 'Exists' }];
  img.spec.nodeName = 'node-1';
  assert.deepEqual(validatePodUpdate(img, old), []);

  const bad = structuredClone(old);
  bad.spec.containers[0].ports = [{ containerPort: 81, protocol: 'TCP' }];
  assert.deepEqual(msgs(validatePodUpdate(bad, old)), [`spec: Forbidden: ${POD_UPDATE_FORBIDDEN_MESSAGE}`]);

  const bound = structuredClone(img);
  const moved = structuredClone(img);
  moved.spec.nodeName = 'node-2';
  assert.deepEqual(msgs(validatePodUpdate(moved, bound)), [`spec: Forbidden: ${POD_UPDATE_FORBIDDEN_MESSAGE}`]);

  const dropped = structuredClone(img);
  dropped.spec.tolerations = [];
  assert.deepEqual(msgs(validatePodUpdate(dropped, img)), ['spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds']);
});

test('Go rendering of selectors for field errors', () => {
  assert.equal(goLabelSelector({}), 'v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}');
  assert.equal(
    goLabelSelector({ matchLabels: { b: '2', a: '1' } }),
    'v1.LabelSelector{MatchLabels:map[string]string{"a":"1", "b":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}',
  );
});
