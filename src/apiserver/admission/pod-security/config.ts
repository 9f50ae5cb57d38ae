/**
 * Pod Security admission's configuration: cluster defaults and exemptions, read from upstream's
 * PodSecurityConfiguration (pod-security.admission.config.k8s.io/v1, alone or inside an
 * AdmissionConfiguration's PodSecurity plugin entry), or built from `--pod-security LEVEL`.
 */
import { parse } from 'yaml';
import { LATEST, parseLevel, parseVersion, PRIVILEGED_POLICY, type Level, type LevelVersion, type Policy } from './api.js';

export interface Exemptions {
  usernames: string[];
  namespaces: string[];
  runtimeClasses: string[];
}

export interface PodSecurityConfig {
  defaults: Policy;
  exemptions: Exemptions;
}

export const DEFAULT_POD_SECURITY_CONFIG: PodSecurityConfig = { defaults: PRIVILEGED_POLICY, exemptions: { usernames: [], namespaces: [], runtimeClasses: [] } };

/** Every mode (enforce, audit, warn) at `level`:latest, as `--pod-security LEVEL` asks. */
export function configForLevel(level: string, base: PodSecurityConfig = DEFAULT_POD_SECURITY_CONFIG): PodSecurityConfig {
  const l = parseLevel(level);
  if (!l) throw new Error(`--pod-security ${level}: must be one of privileged, baseline, restricted`);
  const lv: LevelVersion = { level: l, version: LATEST };
  return { defaults: { enforce: lv, audit: lv, warn: lv }, exemptions: base.exemptions };
}

/** Parses a PodSecurityConfiguration (or an AdmissionConfiguration holding one). */
export function parsePodSecurityConfig(text: string, source = 'pod security configuration'): PodSecurityConfig {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  let doc = parse(text) as Record<string, any> | null;
  if (doc?.kind === 'AdmissionConfiguration') {
    const plugin = ((doc.plugins ?? []) as { name?: string; configuration?: Record<string, any> }[]).find((p) => p.name === 'PodSecurity');
    if (!plugin?.configuration) fail('AdmissionConfiguration has no PodSecurity plugin configuration');
    doc = plugin!.configuration!;
  }
  if (doc?.kind !== 'PodSecurityConfiguration') fail('kind must be PodSecurityConfiguration');
  const d = (doc!.defaults ?? {}) as Record<string, string>;
  const mode = (name: 'enforce' | 'audit' | 'warn'): LevelVersion => {
    const level: Level | undefined = d[name] === undefined ? 'privileged' : parseLevel(d[name]);
    if (!level) fail(`defaults.${name}: Invalid value: ${JSON.stringify(d[name])}: must be one of privileged, baseline, restricted`);
    const vs = d[`${name}-version`];
    const version = vs === undefined ? LATEST : parseVersion(vs);
    if (!version) fail(`defaults.${name}-version: Invalid value: ${JSON.stringify(vs)}: must be "latest" or "v1.x"`);
    return { level: level!, version: version! };
  };
  const e = (doc!.exemptions ?? {}) as Record<string, unknown>;
  const list = (k: string): string[] => {
    const v = e[k] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) fail(`exemptions.${k}: must be a list of non-empty strings`);
    return v as string[];
  };
  return {
    defaults: { enforce: mode('enforce'), audit: mode('audit'), warn: mode('warn') },
    exemptions: { usernames: list('usernames'), namespaces: list('namespaces'), runtimeClasses: list('runtimeClasses') },
  };
}
