/**
 * npm run sandbox -- up | down | status
 *
 * `up` starts the supervisor in the background and returns once every server is ready and
 * .sandbox/env is written; a sandbox that is already running is reused. `down` stops it.
 */
import { readState } from './lib/state.ts';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';

const cmd = process.argv[2] ?? 'status';
switch (cmd) {
  case 'up': {
    const { state, started } = await sandboxUp((line) => process.stdout.write(`${line}\n`));
    process.stdout.write(
      `${started ? 'started' : 'already running'}: cluster ${state.defaultCluster.name} at ${state.defaultCluster.endpoint}, ` +
        `AWS at ${state.motoUrl}\nnext: source .sandbox/env\n`,
    );
    break;
  }
  case 'down':
    process.stdout.write((await sandboxDown()) ? 'stopped\n' : 'not running\n');
    break;
  case 'status': {
    const s = readState();
    if (!s) {
      process.stdout.write('not running\n');
      process.exitCode = 1;
      break;
    }
    const res = await fetch(`${s.controlUrl}/status`).catch(() => undefined);
    process.stdout.write(
      res?.ok
        ? `${JSON.stringify(await res.json())}\n`
        : 'state file present but the supervisor does not answer\n',
    );
    break;
  }
  default:
    process.stderr.write(`unknown sandbox command "${cmd}"; use up, down or status\n`);
    process.exitCode = 2;
}
