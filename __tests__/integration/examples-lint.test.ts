/**
 * The example workflows users copy are checked by actionlint (built from the Go module proxy like the
 * sandbox's other tools): syntax, expressions, contexts and the inputs of the actions they use.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BINARIES, ensureBinary } from '../../sandbox/lib/build.ts';

const EXAMPLES = resolve(import.meta.dirname, '..', '..', 'docs', 'examples');

test('every example workflow passes actionlint', () => {
  const files = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(EXAMPLES, f));
  expect(files.length).toBeGreaterThanOrEqual(6);
  const actionlint = ensureBinary(BINARIES.actionlint).path;
  // shellcheck and pyflakes are not part of the sandbox; the examples have no run: scripts to check
  const r = spawnSync(actionlint, ['-shellcheck=', '-pyflakes=', ...files], { encoding: 'utf8' });
  expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, out: '' });
});

test('actionlint finds a broken expression, so the check above can fail', () => {
  const actionlint = ensureBinary(BINARIES.actionlint).path;
  const r = spawnSync(actionlint, ['-shellcheck=', '-pyflakes=', '-'], {
    encoding: 'utf8',
    input:
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.head.shaa }\n',
  });
  expect(r.status).toBe(1);
});
