// LimitRanger decisions: LimitRange item defaults, container defaults with the annotation, and upstream's messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANN_LIMIT_RANGER, applyPodDefaults, defaultLimitRangeItem, validateClaim, validatePod, type LimitRangeItem } from './limit-range.js';

const pod = (...containers: { name: string; requests?: Record<string, string>; limits?: Record<string, string> }[]) => ({
  metadata: {} as { annotations?: Record<string, string> },
  spec: { containers: containers.map((c) => ({ name: c.name, resources: { requests: c.requests, limits: c.limits } })) },
});

describe('LimitRange items', () => {
  it('default limits to max and default requests to the default limit, then to min (SetDefaults_LimitRangeItem)', () => {
    const it1 = defaultLimitRangeItem({ type: 'Container', max: { cpu: '2', memory: '1Gi' }, min: { 'ephemeral-storage': '1Gi' } });
    assert.deepEqual(it1.default, { cpu: '2', memory: '1Gi' });
    assert.deepEqual(it1.defaultRequest, { cpu: '2', memory: '1Gi', 'ephemeral-storage': '1Gi' });
    assert.deepEqual(defaultLimitRangeItem({ type: 'Pod', max: { cpu: '2' } }), { type: 'Pod', max: { cpu: '2' } });
  });
});

describe('LimitRanger on pods', () => {
  const items: LimitRangeItem[] = [defaultLimitRangeItem({ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' } })];

  it('fills missing requests and limits per container and says so in the annotation', () => {
    const p = pod({ name: 'app' }, { name: 'side', limits: { cpu: '1' }, requests: { cpu: '1' } });
    applyPodDefaults(p, items);
    assert.deepEqual(p.spec.containers[0].resources, { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    assert.deepEqual(p.spec.containers[1].resources, { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } });
    assert.equal(
      p.metadata.annotations?.[ANN_LIMIT_RANGER],
      'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; memory request for container side; memory limit for container side',
    );
  });

  const cases: [string, LimitRangeItem, ReturnType<typeof pod>, string[]][] = [
    ['a limit above max', { type: 'Container', max: { cpu: '2' } }, pod({ name: 'c', limits: { cpu: '3' }, requests: { cpu: '1' } }), ['maximum cpu usage per Container is 2, but limit is 3']],
    ['no limit under a max', { type: 'Container', max: { memory: '1Gi' } }, pod({ name: 'c' }), ['maximum memory usage per Container is 1Gi.  No limit is specified']],
    ['a request below min', { type: 'Container', min: { cpu: '100m' } }, pod({ name: 'c', requests: { cpu: '50m' } }), ['minimum cpu usage per Container is 100m, but request is 50m']],
    [
      'a ratio above maxLimitRequestRatio',
      { type: 'Container', maxLimitRequestRatio: { cpu: '2' } },
      pod({ name: 'c', requests: { cpu: '100m' }, limits: { cpu: '500m' } }),
      ['cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000'],
    ],
    [
      'a pod total above the Pod max, from several containers',
      { type: 'Pod', max: { cpu: '1' } },
      pod({ name: 'a', limits: { cpu: '600m' } }, { name: 'b', limits: { cpu: '600m' } }),
      ['maximum cpu usage per Pod is 1, but limit is 1200m'],
    ],
    ['a pod within every bound', { type: 'Container', min: { cpu: '100m' }, max: { cpu: '2' } }, pod({ name: 'c', requests: { cpu: '1' }, limits: { cpu: '2' } }), []],
  ];
  for (const [what, item, p, want] of cases) {
    it(`reports ${what}`, () => assert.deepEqual(validatePod(p, [item]), want));
  }
});

describe('LimitRanger on claims', () => {
  it('checks the storage request against min and max', () => {
    const items: LimitRangeItem[] = [{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } }];
    const claim = (storage: string) => ({ spec: { resources: { requests: { storage } } } });
    assert.deepEqual(validateClaim(claim('500Mi'), items), ['minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi']);
    assert.deepEqual(validateClaim(claim('20Gi'), items), ['maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi']);
    assert.deepEqual(validateClaim(claim('5Gi'), items), []);
  });
});
