/**
 * How the runc driver starts a container's shim. This module stays directly in `runtime/`
 * (not `runtime/runc/`) because it finds the shim relative to its own compiled location:
 * beside shim.js in dist/src/runtime/ or dist/bundle/, and the native shim one or two levels up.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The native shim (dist/skiff-shim, built from shim.c when a C compiler was there), found from
 * this module in dist/src/runtime/ or in the bundle's dist/bundle/.
 */
const NATIVE_SHIM = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../skiff-shim'), join(here, '../../skiff-shim')].find((p) => existsSync(p));
})();

/**
 * How to start the shim: the native one for containers without a terminal (it needs no Node.js
 * process per container), else compiled JS in dist/, or the TS source through tsx in development.
 */
export function shimCommand(tty: boolean): { cmd: string; args: string[] } {
  if (!tty && NATIVE_SHIM) return { cmd: NATIVE_SHIM, args: [] };
  const here = fileURLToPath(import.meta.url);
  const base = join(dirname(here), 'shim');
  // Small heap: the shim only shuffles log lines.
  const flags = ['--max-old-space-size=16', '--max-semi-space-size=1', '--v8-pool-size=1'];
  if (here.endsWith('.ts')) {
    const loader = import.meta.resolve('tsx');
    return { cmd: process.execPath, args: [...flags, '--import', loader, `${base}.ts`] };
  }
  return { cmd: process.execPath, args: [...flags, `${base}.js`] };
}
