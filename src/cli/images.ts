/**
 * Image commands on a node's image store (they work while the cluster runs: the store is
 * files plus an index written atomically):
 *   skiff image load -i TAR             docker save / OCI archive
 *   skiff image import ROOTFS.tar NAME[:TAG]
 *   skiff images
 *   skiff image rm REF
 */
import { DATA_DIR_HELP, openImageStore } from './image-store.js';
import type { Command } from 'commander';
import type { Progress } from '../image/archive.js';
import { familiarString } from '../image/reference.js';


function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(2) : v < 100 && i > 0 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

function progressPrinter(): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 250 && p.done < p.total) return;
    last = now;
    const pct = p.total ? Math.floor((p.done / p.total) * 100) : 0;
    process.stderr.write(`\r${p.item.slice(0, 19).padEnd(19)} ${humanSize(p.done)}/${humanSize(p.total)} ${pct}%   `);
    if (p.done >= p.total) process.stderr.write('\n');
  };
}

/** Registers `skiff image …` and `skiff images`. */
export function registerImageCommands(program: Command): void {
  const image = program.command('image').description("manage this node's images");
  image
    .command('load')
    .description('load images from a `docker save` or OCI archive')
    .requiredOption('-i, --input <tar>', 'the archive to read')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (f: { input: string; dataDir?: string }) => {
      const store = openImageStore(f.dataDir);
      const refs = await store.loadArchive(f.input, progressPrinter());
      for (const r of refs) console.log(`Loaded image: ${r ? familiarString(r) : '(untagged)'}`);
    });
  image
    .command('import')
    .description('create a single-layer image from a root filesystem tarball')
    .argument('<rootfs>', 'rootfs tar (plain, gzip or zstd)')
    .argument('<name>', 'NAME[:TAG] for the image')
    .option('--cmd <cmd...>', 'default command (image Cmd)')
    .option('--entrypoint <cmd...>', 'image Entrypoint')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (rootfs: string, name: string, f: { cmd?: string[]; entrypoint?: string[]; dataDir?: string }) => {
      const store = openImageStore(f.dataDir);
      process.stderr.write(`importing ${rootfs} …\n`);
      const info = await store.importRootfs(rootfs, name, { ...(f.cmd ? { Cmd: f.cmd } : {}), ...(f.entrypoint ? { Entrypoint: f.entrypoint } : {}) });
      console.log(`Imported ${familiarString(info.ref)} (${info.id.slice(7, 19)}, ${humanSize(info.size)})`);
    });
  image
    .command('rm')
    .alias('remove')
    .description('remove an image reference (blobs are freed by prune)')
    .argument('<ref...>', 'image reference(s) or ID(s)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (refs: string[], f: { dataDir?: string }) => {
      const store = openImageStore(f.dataDir);
      let failed = false;
      for (const r of refs) {
        const removed = store.remove(r);
        if (!removed.length) {
          console.error(`Error: No such image: ${r}`);
          failed = true;
        }
        for (const x of removed) console.log(`Untagged: ${x.startsWith('sha256:') ? x : familiarString(x)}`);
      }
      const pruned = await store.prune();
      if (pruned.removed.length) console.log(`Deleted ${pruned.removed.length} blob(s), ${humanSize(pruned.bytes)}`);
      if (failed) process.exitCode = 1;
    });
  const list = (f: { dataDir?: string; quiet?: boolean }) => {
    const store = openImageStore(f.dataDir);
    const rows = store.list();
    if (f.quiet) {
      for (const i of rows) console.log(i.id.slice(7, 19));
      return;
    }
    const table = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
    for (const i of rows) {
      const fam = i.ref ? familiarString(i.ref) : '<none>:<none>';
      const at = fam.lastIndexOf(':');
      table.push([fam.slice(0, at), fam.slice(at + 1), i.id.slice(7, 19), i.created?.slice(0, 19).replace('T', ' ') ?? '', humanSize(i.size)]);
    }
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const r of table) console.log(r.map((v, c) => v.padEnd(widths[c]! + 3)).join('').trimEnd());
  };
  image.command('ls').alias('list').description('list images').option('-q, --quiet', 'only IDs').option('--data-dir <dir>', DATA_DIR_HELP).action(list);
  program.command('images').description('list images').option('-q, --quiet', 'only IDs').option('--data-dir <dir>', DATA_DIR_HELP).action(list);
}
