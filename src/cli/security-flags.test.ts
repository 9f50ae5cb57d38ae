import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditFromFlags, podSecurityFromFlags, type SecurityFlags } from './security-flags.js';
import { WRITES_AT_METADATA } from '../apiserver/audit/policy.js';

const flags = (f: Partial<SecurityFlags> = {}): SecurityFlags => ({ dataDir: '/d', auditLogMaxsize: '100', auditLogMaxbackup: '10', ...f });

test('skiff up audits writes at Metadata into DATA_DIR/audit.log by default; skiff server only when asked; off disables', () => {
  assert.deepEqual(auditFromFlags(flags(), true), { file: '/d/audit.log', policy: WRITES_AT_METADATA, maxBytes: 100 * 1024 * 1024, maxBackups: 10 });
  assert.equal(auditFromFlags(flags(), false), undefined);
  assert.equal(auditFromFlags(flags({ auditLog: 'off' }), true), undefined);
  assert.equal(auditFromFlags(flags({ auditLog: '/var/log/a.log' }), false)?.file, '/var/log/a.log');
  assert.throws(() => auditFromFlags(flags({ auditLogMaxbackup: '-1' }), true), /--audit-log-maxbackup -1: must be a whole number/);
});

test('--pod-security sets every mode of the cluster default; privileged when absent', () => {
  assert.equal(podSecurityFromFlags(flags()).defaults.enforce.level, 'privileged');
  const cfg = podSecurityFromFlags(flags({ podSecurity: 'restricted' }));
  assert.deepEqual([cfg.defaults.enforce.level, cfg.defaults.audit.level, cfg.defaults.warn.level], ['restricted', 'restricted', 'restricted']);
  assert.throws(() => podSecurityFromFlags(flags({ podSecurity: 'strict' })), /--pod-security strict: must be one of privileged, baseline, restricted/);
});
