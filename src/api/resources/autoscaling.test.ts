import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString, type FieldError } from '../errors.js';
import type { KObject } from '../registry.js';
import { formatHPAMetrics, horizontalpodautoscalers as hpa, hpaFromV1, hpaToV1 } from './autoscaling.js';

const msgs = (errs: FieldError[] | undefined): string[] => (errs ?? []).map(fieldErrorString);
const NOW = Date.parse('2024-05-01T12:00:00Z');
type J = Record<string, any>;

/** What `kubectl autoscale deployment web --min=2 --max=5 --cpu-percent=80` POSTs (v1). */
function kubectlAutoscaleV1(): KObject {
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', creationTimestamp: '2024-05-01T11:59:00Z' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 80 },
    status: { currentReplicas: 0, desiredReplicas: 0 },
  };
}

test('v1 POST becomes a v2 object with a cpu utilization metric', () => {
  const v2 = hpaFromV1(kubectlAutoscaleV1());
  assert.equal(v2.apiVersion, 'autoscaling/v2');
  assert.deepEqual((v2.spec as J).metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  hpa.strategy.defaults!(v2);
  assert.deepEqual(msgs(hpa.strategy.validate!(v2)), []);
  assert.deepEqual(hpa.table!.cells(v2, NOW), ['web', 'Deployment/web', 'cpu: <unknown>/80%', '2', 5, 0, '60s']);
});

test('v2 defaults: minReplicas 1, cpu 80% when no metric, behavior rules', () => {
  const obj: KObject = { metadata: { name: 'h' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } };
  hpa.strategy.defaults!(obj);
  const s = obj.spec as J;
  assert.equal(s.minReplicas, 1);
  assert.deepEqual(s.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.deepEqual(s.behavior.scaleUp, {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }],
  });
  assert.deepEqual(s.behavior.scaleDown, { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }], stabilizationWindowSeconds: 60 });
});

test('validation messages', () => {
  const obj = hpaFromV1(kubectlAutoscaleV1());
  hpa.strategy.defaults!(obj);
  const s = obj.spec as J;
  s.maxReplicas = 1;
  assert.deepEqual(msgs(hpa.strategy.validate!(obj)), ['spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`']);
  s.maxReplicas = 5;
  s.minReplicas = 0;
  s.scaleTargetRef = { name: 'web' };
  s.metrics[0].resource.target.averageUtilization = 0;
  assert.deepEqual(msgs(hpa.strategy.validate!(obj)), [
    'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1',
    'spec.scaleTargetRef.kind: Required value',
    'spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0',
  ]);
});

test('v2 -> v1 -> v2 round trip keeps every metric, status and behavior', () => {
  const v2: KObject = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', annotations: { team: 'a' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ],
      behavior: { scaleDown: { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } },
    },
    status: {
      currentReplicas: 3,
      desiredReplicas: 3,
      currentMetrics: [
        { type: 'Resource', resource: { name: 'memory', current: { averageValue: '300Mi' } } },
        { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } },
      ],
      conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' }],
    },
  };
  const v1 = hpaToV1(v2);
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.equal((v1.spec as J).targetCPUUtilizationPercentage, 70);
  assert.equal((v1.status as J).currentCPUUtilizationPercentage, 42);
  assert.equal((v1.spec as J).metrics, undefined);
  const back = hpaFromV1(v1);
  assert.deepEqual(back, v2);
  assert.deepEqual(hpaToV1(back), v1);
});

test('targets column formats like kubectl', () => {
  const specs = [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
    { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '512Mi' } } },
    { type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '10' } } },
  ];
  const current = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12 } } }];
  assert.equal(formatHPAMetrics(specs, current), 'cpu: 12%/80%, memory: <unknown>/512Mi + 1 more...');
  assert.equal(formatHPAMetrics([], []), '<none>');
  assert.deepEqual(hpa.table!.columns.map((c) => c.name), ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
});
