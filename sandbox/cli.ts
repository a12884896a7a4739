/**
 * npm run sandbox -- up | down | status | build
 *
 * `up` starts the supervisor in the background and returns once every server is ready and
 * .sandbox/env is written; a sandbox that is already running is reused. `down` stops it. `build`
 * builds (or finds in the cache) every binary the sandbox runs and prints how long each took.
 */
import { readState } from './lib/state.ts';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';
import { ensureSandboxBinaries } from './lib/build.ts';
import { ensureKarpenterRelease, KARPENTER_VERSIONS } from './lib/karpenter.ts';

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
  case 'build': {
    const started = Date.now();
    ensureSandboxBinaries(
      (line) => process.stdout.write(`${line}\n`),
      (spec, b) =>
        process.stdout.write(
          `${spec.name} ${spec.version}: ${b.built ? `built in ${b.seconds.toFixed(0)} s` : 'cached'} (${b.path})\n`,
        ),
    );
    for (const v of KARPENTER_VERSIONS) ensureKarpenterRelease(v);
    process.stdout.write(`all sandbox binaries ready in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
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
    process.stderr.write(`unknown sandbox command "${cmd}"; use up, down, status or build\n`);
    process.exitCode = 2;
}
