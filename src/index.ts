import { cliMain } from './cli.ts';
import { run } from './main.ts';

// One bundle serves both entries: the runner starts `node dist/index.js` with no arguments; the CLI
// (`npx karpenter-action <command> ...`) passes its command line.
if (process.argv.length > 2 && process.env.KARPENTER_ACTION_FORCE_ACTION !== 'true') {
  await cliMain(process.argv.slice(2));
} else {
  await run();
}
