/** The `skiff` command line. One file per group of verbs; this file wires them together. */
import { Command } from 'commander';
import { registerClusterCommands } from './cluster.js';
import { registerSimCommands } from './sim.js';
import { registerAgentCommands } from './agent.js';
import { registerImageCommands } from './images.js';
import { registerBuildCommands } from './build.js';

const program = new Command();
program
  .name('skiff')
  .description('A small Kubernetes-compatible container platform')
  .showHelpAfterError()
  .enablePositionalOptions();

registerClusterCommands(program);
registerAgentCommands(program);
registerSimCommands(program);
// Image verbs: images.ts creates the `image` group, build.ts adds save/bootstrap to it.
registerImageCommands(program);
registerBuildCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`skiff: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
