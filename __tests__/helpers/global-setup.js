// Plain JavaScript so Node loads it directly; Node 24 strips the types of the sandbox's TypeScript.
import { sandboxUp } from '../../sandbox/lib/lifecycle.ts';

/**
 * Starts the sandbox unless one is already running (for example from `npm run sandbox -- up`), and
 * remembers whether it did so that teardown stops only what this run started.
 */
export default async function globalSetup() {
  // Tests that need the scheduler, controller manager, kwok and Karpenter ask for a cluster of their
  // own with them; the default cluster of a sandbox started for tests runs none.
  process.env.SANDBOX_CONTROLLERS ??= '0';
  const { started, state } = await sandboxUp((line) => process.stderr.write(`[sandbox] ${line}\n`));
  globalThis.__sandboxStartedByJest = started;
  process.stderr.write(
    `[sandbox] ${started ? 'started' : 'reusing'} sandbox: AWS ${state.motoUrl}, default cluster ${state.defaultCluster.name}\n`,
  );
}
