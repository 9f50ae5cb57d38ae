import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelVersionString, policyToEvaluate, PRIVILEGED_POLICY } from './api.js';
import { configForLevel, parsePodSecurityConfig } from './config.js';

const P = 'pod-security.kubernetes.io/';

test('labels over defaults: levels, versions, warn following a stricter enforce', () => {
  const { policy, errors } = policyToEvaluate({ [`${P}enforce`]: 'baseline', [`${P}enforce-version`]: 'v1.30', [`${P}audit`]: 'restricted' }, PRIVILEGED_POLICY);
  assert.deepEqual(errors, []);
  assert.equal(levelVersionString(policy.enforce), 'baseline:v1.30');
  assert.equal(levelVersionString(policy.audit), 'restricted:latest');
  assert.equal(levelVersionString(policy.warn), 'baseline:v1.30', 'warn follows enforce');
  const own = policyToEvaluate({ [`${P}enforce`]: 'restricted', [`${P}warn`]: 'baseline' }, PRIVILEGED_POLICY).policy;
  assert.equal(levelVersionString(own.warn), 'baseline:latest');
});

test('bad values: enforce fails closed, audit and warn fail open, each error names the label', () => {
  const { policy, errors } = policyToEvaluate({ [`${P}enforce`]: 'strict', [`${P}warn`]: 'loud', [`${P}audit-version`]: '1.30' }, PRIVILEGED_POLICY);
  assert.equal(policy.enforce.level, 'restricted');
  assert.equal(policy.warn.level, 'privileged');
  assert.deepEqual(
    errors.map((e) => `${e.field}: ${JSON.stringify(e.value)}: ${e.detail}`),
    [
      `metadata.labels[${P}enforce]: "strict": must be one of privileged, baseline, restricted`,
      `metadata.labels[${P}audit-version]: "1.30": must be "latest" or "v1.x"`,
      `metadata.labels[${P}warn]: "loud": must be one of privileged, baseline, restricted`,
    ],
  );
});

test('configuration: --pod-security LEVEL and upstream PodSecurityConfiguration with exemptions', () => {
  assert.equal(levelVersionString(configForLevel('baseline').defaults.enforce), 'baseline:latest');
  assert.throws(() => configForLevel('strict'), /must be one of privileged, baseline, restricted/);
  const cfg = parsePodSecurityConfig(`apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: restricted
  enforce-version: v1.30
  warn: baseline
exemptions:
  usernames: [ci-bot]
  namespaces: [kube-system]
  runtimeClasses: [kata]
`);
  assert.equal(levelVersionString(cfg.defaults.enforce), 'restricted:v1.30');
  assert.equal(levelVersionString(cfg.defaults.audit), 'privileged:latest');
  assert.deepEqual(cfg.exemptions, { usernames: ['ci-bot'], namespaces: ['kube-system'], runtimeClasses: ['kata'] });
  const wrapped = parsePodSecurityConfig(`kind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    kind: PodSecurityConfiguration\n    defaults: {enforce: baseline}\n`);
  assert.equal(wrapped.defaults.enforce.level, 'baseline');
  assert.throws(() => parsePodSecurityConfig('kind: PodSecurityConfiguration\ndefaults: {warn: loud}\n'), /defaults.warn: Invalid value: "loud"/);
});
