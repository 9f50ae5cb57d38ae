/**
 * The security flags `skiff server` and `skiff up` share: Pod Security admission's cluster
 * default (`--pod-security LEVEL`, `--pod-security-config FILE`) and the audit log
 * (`--audit-log FILE|off`, `--audit-policy FILE`, `--audit-log-maxsize MB`,
 * `--audit-log-maxbackup N`). Turns them into API server options.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configForLevel, DEFAULT_POD_SECURITY_CONFIG, parsePodSecurityConfig, type PodSecurityConfig } from '../apiserver/admission/pod-security/config.js';
import { parseAuditPolicy, WRITES_AT_METADATA, type AuditPolicy } from '../apiserver/audit/policy.js';

export interface SecurityFlags {
  dataDir: string;
  podSecurity?: string;
  podSecurityConfig?: string;
  auditLog?: string;
  auditPolicy?: string;
  auditLogMaxsize: string;
  auditLogMaxbackup: string;
}

export function addSecurityFlags(cmd: Command): Command {
  return cmd
    .option('--pod-security <level>', 'Pod Security level (privileged, baseline, restricted) enforced, audited and warned in namespaces without pod-security.kubernetes.io labels (default: privileged)')
    .option('--pod-security-config <file>', 'PodSecurityConfiguration file: defaults and exemptions (usernames, namespaces, runtimeClasses)')
    .option('--audit-log <file>', "audit log (JSON lines of audit.k8s.io/v1 Events; 'off' to disable; `skiff up`: DATA_DIR/audit.log)")
    .option('--audit-policy <file>', 'audit.k8s.io/v1 Policy (default: every write at Metadata level)')
    .option('--audit-log-maxsize <MB>', 'rotate the audit log when it reaches this size', '100')
    .option('--audit-log-maxbackup <n>', 'rotated audit logs to keep (0: all)', '10');
}

/** Pod Security admission's configuration from the flags. */
export function podSecurityFromFlags(flags: SecurityFlags): PodSecurityConfig {
  let cfg = flags.podSecurityConfig ? parsePodSecurityConfig(readFileSync(flags.podSecurityConfig, 'utf8'), flags.podSecurityConfig) : DEFAULT_POD_SECURITY_CONFIG;
  if (flags.podSecurity) cfg = configForLevel(flags.podSecurity, cfg);
  return cfg;
}

/** The API server's audit options; `defaultOn` (skiff up) logs writes to DATA_DIR/audit.log unless told otherwise. */
export function auditFromFlags(flags: SecurityFlags, defaultOn: boolean): { file: string; policy: AuditPolicy; maxBytes: number; maxBackups: number } | undefined {
  if (flags.auditLog === 'off') return undefined;
  const file = flags.auditLog ?? (defaultOn || flags.auditPolicy ? join(flags.dataDir, 'audit.log') : undefined);
  if (!file) return undefined;
  const maxMb = Number(flags.auditLogMaxsize);
  const maxBackups = Number(flags.auditLogMaxbackup);
  if (!(maxMb >= 0)) throw new Error(`--audit-log-maxsize ${flags.auditLogMaxsize}: must be a number of megabytes`);
  if (!Number.isInteger(maxBackups) || maxBackups < 0) throw new Error(`--audit-log-maxbackup ${flags.auditLogMaxbackup}: must be a whole number`);
  const policy = flags.auditPolicy ? parseAuditPolicy(readFileSync(flags.auditPolicy, 'utf8'), flags.auditPolicy) : WRITES_AT_METADATA;
  return { file: resolve(file), policy, maxBytes: Math.round(maxMb * 1024 * 1024), maxBackups };
}
