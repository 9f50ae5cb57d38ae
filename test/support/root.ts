/**
 * The one check for tests that need a real node: root (namespaces, cgroups, nftables), runc and
 * the CNI plugins. Such tests skip with the reason instead of failing elsewhere:
 *
 *   describe('pods on a real node', { ...rootOnly, timeout: 60_000 }, () => { … });
 */
import { existsSync } from 'node:fs';

/** Why root-only tests cannot run on this machine; undefined when they can. */
function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (runc, CNI plugins, nftables)';
  if (!existsSync('/usr/sbin/runc')) return 'needs runc at /usr/sbin/runc';
  if (!existsSync('/usr/lib/cni/bridge')) return 'needs the CNI plugins in /usr/lib/cni';
  return undefined;
}

/** node:test options that skip a root-only test or suite, with the reason, when it cannot run here. */
export const rootOnly: { skip: string | false } = { skip: missing() ?? false };

/** True when root-only tests run (for hooks that must do nothing when the suite is skipped). */
export const canRunAsRoot = rootOnly.skip === false;
