/**
 * The `skiff` command line. One file per group of verbs; this file wires them together.
 * Only the group of the verb being run is loaded, so `skiff server` starts without paying for
 * the image builder or the node agent.
 */
import { Command } from 'commander';

type Register = (program: Command) => void;

const GROUPS: { verbs: string[]; load: () => Promise<Register[]> }[] = [
  { verbs: ['server', 'up'], load: async () => [(await import('./cluster.js')).registerClusterCommands] },
  { verbs: ['agent', 'reset'], load: async () => [(await import('./agent.js')).registerAgentCommands] },
  { verbs: ['secrets'], load: async () => [(await import('./secrets.js')).registerSecretsCommands] },
  { verbs: ['sim'], load: async () => [(await import('./sim.js')).registerSimCommands] },
  // `completion` is deliberately in no list: with every group loaded it sees every verb.
  { verbs: ['status', 'down', 'why'], load: async () => [(await import('./ops.js')).registerOpsCommands] },
  // Image verbs: images.ts creates the `image` group, build.ts adds save/bootstrap to it.
  {
    verbs: ['image', 'images', 'build', 'push', 'pull', 'tag', 'login', 'registry'],
    load: async () => [(await import('./images.js')).registerImageCommands, (await import('./build.js')).registerBuildCommands],
  },
];

const program = new Command();
program
  .name('skiff')
  .description('A small Kubernetes-compatible container platform')
  .showHelpAfterError()
  .enablePositionalOptions();

const verb = process.argv.slice(2).find((a) => !a.startsWith('-'));
const groups = GROUPS.filter((g) => verb !== undefined && g.verbs.includes(verb));
for (const g of groups.length ? groups : GROUPS) for (const register of await g.load()) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`skiff: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
