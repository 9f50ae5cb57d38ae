/**
 * Image verbs that move or make images: `skiff build`, `push`, `pull`, `tag`, `login`,
 * `image save`, `image bootstrap go`, and `registry serve` (the built-in registry on its own).
 * Listing, loading and removing images live in images.ts.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DATA_DIR_HELP, openImageStore } from './image-store.js';
import type { ImageStore } from '../image/store.js';
import { normalizeReference } from '../image/reference.js';
import { build, BuildError } from '../builder/builder.js';
import { bootstrapGo, GO_BOOTSTRAP_REF } from '../builder/bootstrap.js';
import { writeBusyboxRootfs } from '../image/bootstrap-rootfs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressMode } from '../builder/progress.js';
import { pullImage, pushImage, RegistryClient } from '../image/registry/client.js';
import { saveCredentials } from '../image/registry/auth.js';
import { saveImages, type SaveFormat } from '../image/archive.js';
import { startRegistry } from '../image/registry/server.js';

const collect = (v: string, prev: string[]) => [...prev, v];

function openStore(dataDir: string | undefined): ImageStore {
  return openImageStore(dataDir);
}

function insecureList(v: string[] | undefined): string[] | undefined {
  return v && v.length ? v : undefined;
}

/** The existing `image` command group (images.ts may have made it), or a new one. */
function imageGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'image') ?? program.command('image').description('manage images');
}

/** Adds the build/registry verbs to the program. */
export function registerBuildCommands(program: Command): void {
  program
    .command('build')
    .description('build an image from a Dockerfile')
    .argument('<context>', 'build context directory')
    .option('-t, --tag <name>', 'name and optionally tag (name:tag); repeatable', collect, [])
    .option('-f, --file <path>', 'Dockerfile (default CONTEXT/Dockerfile)')
    .option('--build-arg <k=v>', 'set a build-time variable; repeatable', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the layer cache')
    .option('--progress <mode>', 'plain, tty or quiet (default: tty on a terminal)')
    .option('--network <mode>', 'default network for RUN: host or none', 'host')
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('-q, --quiet', 'print only the image ID')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (context: string, o: { tag: string[]; file?: string; buildArg: string[]; target?: string; cache: boolean; progress?: string; network: string; iidfile?: string; quiet?: boolean; dataDir?: string }) => {
      const buildArgs: Record<string, string> = {};
      for (const a of o.buildArg) {
        const i = a.indexOf('=');
        if (i < 0) {
          // Docker: `--build-arg NAME` takes the value from the environment.
          if (process.env[a] !== undefined) buildArgs[a] = process.env[a]!;
        } else buildArgs[a.slice(0, i)] = a.slice(i + 1);
      }
      const mode = (o.quiet ? 'quiet' : o.progress) as ProgressMode | undefined;
      if (mode && !['plain', 'tty', 'quiet'].includes(mode)) throw new Error(`--progress must be plain, tty or quiet, not ${mode}`);
      if (o.network !== 'host' && o.network !== 'none') throw new Error('--network must be host or none');
      const started = Date.now();
      try {
        const r = await build({
          store: openStore(o.dataDir),
          contextDir: resolve(context),
          ...(o.file ? { dockerfile: resolve(o.file) } : {}),
          tags: o.tag,
          buildArgs,
          ...(o.target ? { target: o.target } : {}),
          noCache: !o.cache,
          ...(mode ? { progress: mode } : {}),
          network: o.network,
        });
        if (o.iidfile) (await import('node:fs')).writeFileSync(o.iidfile, r.id);
        if (o.quiet) console.log(r.id);
        else console.error(`built ${r.id.slice(7, 19)} (${r.steps} steps, ${r.cached} cached) in ${((Date.now() - started) / 1000).toFixed(1)}s${o.tag.length ? `: ${o.tag.map((t) => normalizeReference(t)).join(', ')}` : ''}`);
      } catch (e) {
        if (e instanceof BuildError && e.exitCode !== undefined) {
          console.error(`skiff: ${e.message}`);
          process.exit(e.exitCode || 1);
        }
        throw e;
      }
    });

  program
    .command('push')
    .description('push an image to its registry')
    .argument('<ref>', 'image reference, e.g. localhost:5000/app:1')
    .option('--insecure <host>', 'use plain HTTP for this registry (loopback ones always are); repeatable', collect, [])
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, o: { insecure: string[]; dataDir?: string }) => {
      const r = await pushImage(openStore(o.dataDir), ref, { insecure: insecureList(o.insecure) });
      console.log(`${r.tag ?? ''}${r.tag ? ': ' : ''}digest: ${r.digest} size: ${r.size}`);
    });

  program
    .command('pull')
    .description('pull an image from a registry')
    .argument('<ref>', 'image reference (name[:tag] or name@sha256:…)')
    .option('--insecure <host>', 'use plain HTTP for this registry; repeatable', collect, [])
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, o: { insecure: string[]; dataDir?: string }) => {
      const info = await pullImage(openStore(o.dataDir), ref, { insecure: insecureList(o.insecure) });
      console.log(info.ref || info.digest);
    });

  program
    .command('tag')
    .description('add a name to an image')
    .argument('<source>', 'existing image (name, ID or digest)')
    .argument('<target>', 'new name[:tag]')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action((src: string, dst: string, o: { dataDir?: string }) => {
      openStore(o.dataDir).tag(src, dst);
    });

  program
    .command('login')
    .description('store registry credentials in the docker config.json')
    .argument('<registry>', 'registry host, e.g. localhost:5000 (docker.io for Docker Hub)')
    .option('-u, --username <user>')
    .option('-p, --password <pass>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure <host>', 'use plain HTTP for this registry; repeatable', collect, [])
    .action(async (registry: string, o: { username?: string; password?: string; passwordStdin?: boolean; insecure: string[] }) => {
      if (!o.username) throw new Error('give a user name with -u');
      let password = o.password;
      if (o.passwordStdin) {
        if (password) throw new Error('--password and --password-stdin are mutually exclusive');
        password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      }
      if (!password) throw new Error('give a password with -p or --password-stdin');
      const domain = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
      const creds = { username: o.username, password };
      await new RegistryClient(domain, { credentials: creds, insecure: insecureList(o.insecure) }).ping();
      const path = saveCredentials(domain, creds);
      console.log(`Login Succeeded (credentials saved in ${path})`);
    });

  const image = imageGroup(program);
  image
    .command('save')
    .description('write images to a tar archive')
    .argument('<refs...>', 'images to save')
    .requiredOption('-o, --output <file>', 'archive to write')
    .option('--format <format>', 'oci (OCI layout + manifest.json) or docker (manifest.json)', 'oci')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (refs: string[], o: { output: string; format: string; dataDir?: string }) => {
      if (o.format !== 'oci' && o.format !== 'docker') throw new Error('--format must be oci or docker');
      const imgs = await saveImages(openStore(o.dataDir), refs, o.output, o.format as SaveFormat);
      console.error(`saved ${imgs.length} image(s) to ${o.output}`);
    });

  image
    .command('bootstrap')
    .description(`make a base image offline from the host: "go" makes ${GO_BOOTSTRAP_REF} from the host's Go toolchain, "busybox" makes busybox:latest from the host's static busybox`)
    .argument('<toolchain>', 'go | busybox')
    .option('--goroot <dir>', 'host Go installation', '/usr/lib/go')
    .option('--tag <ref>', 'name of the image (default: skiff.local/golang:bootstrap or busybox:latest)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (toolchain: string, o: { goroot: string; tag?: string; dataDir?: string }) => {
      if (toolchain === 'busybox') {
        const dir = mkdtempSync(join(tmpdir(), 'skiff-busybox-'));
        try {
          const tar = join(dir, 'rootfs.tar');
          await writeBusyboxRootfs(tar);
          const info = await openStore(o.dataDir).importRootfs(tar, o.tag ?? 'busybox:latest', { Cmd: ['sh'] });
          console.log(`${info.ref} ${info.id.slice(7, 19)} ${(info.size / 1e6).toFixed(1)}MB`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        return;
      }
      if (toolchain !== 'go') throw new Error(`unknown toolchain ${toolchain}: use "go" or "busybox"`);
      const info = await bootstrapGo(openStore(o.dataDir), { goroot: o.goroot, ref: o.tag ?? GO_BOOTSTRAP_REF, log: (l) => console.error(l) });
      console.log(`${info.ref} ${info.id.slice(7, 19)} ${(info.size / 1e6).toFixed(0)}MB`);
    });

  const registry = program.commands.find((c) => c.name() === 'registry') ?? program.command('registry').description('the built-in OCI registry');
  registry
    .command('serve')
    .description('serve the image store as an OCI registry (Distribution API v2)')
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', '5000')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (o: { host: string; port: string; dataDir?: string }) => {
      const reg = await startRegistry({ store: openStore(o.dataDir), host: o.host, port: Number(o.port) });
      console.error(`skiff: registry listening on http://${reg.address} (push to localhost:${reg.port}/NAME)`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await reg.close();
    });

}
