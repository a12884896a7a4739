/**
 * The example workflows users copy, and the project's own workflows, are checked by actionlint (built
 * from the Go module proxy like the sandbox's other tools): syntax, expressions, contexts and the inputs
 * of the actions they use, `uses: ./` included, whose inputs and outputs it reads from action.yml.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BINARIES, ensureBinary } from '../../sandbox/lib/build.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'docs', 'examples');
const WORKFLOWS = join(ROOT, '.github', 'workflows');

const workflowFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .map((f) => join(dir, f));

/**
 * shellcheck and pyflakes are not part of the sandbox, so `run:` scripts are not checked; actionlint
 * finds the project (and action.yml for `uses: ./`) from the files' paths.
 */
function actionlint(args: string[], opts: { cwd?: string; input?: string } = {}) {
  const bin = ensureBinary(BINARIES.actionlint).path;
  const r = spawnSync(bin, ['-shellcheck=', '-pyflakes=', ...args], { encoding: 'utf8', ...opts });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('every example workflow passes actionlint', () => {
  const files = workflowFiles(EXAMPLES);
  expect(files.length).toBeGreaterThanOrEqual(6);
  expect(actionlint(files)).toEqual({ status: 0, out: '' });
});

test("the project's own workflows pass actionlint, `uses: ./` checked against action.yml", () => {
  const files = workflowFiles(WORKFLOWS);
  expect(files.map((f) => f.slice(WORKFLOWS.length + 1))).toEqual(
    expect.arrayContaining(['ci.yml', 'release.yml', 'action-selftest.yml']),
  );
  expect(actionlint(files, { cwd: ROOT })).toEqual({ status: 0, out: '' });
});

test('actionlint finds a broken expression, so the checks above can fail', () => {
  const r = actionlint(['-'], {
    input:
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.head.shaa }\n',
  });
  expect(r.status).toBe(1);
});

test('actionlint refuses an input that action.yml does not define, given to `uses: ./`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ka-actionlint-'));
  try {
    // actionlint takes a directory with .git and .github/workflows for a project's root
    mkdirSync(join(dir, '.git'));
    mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
    mkdirSync(join(dir, 'dist'));
    copyFileSync(join(ROOT, 'action.yml'), join(dir, 'action.yml'));
    writeFileSync(join(dir, 'dist', 'index.js'), '');
    const workflow = join(dir, '.github', 'workflows', 'plan.yml');
    writeFileSync(
      workflow,
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with:\n          comand: plan\n',
    );
    const r = actionlint([workflow], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.out).toContain('input "comand" is not defined in action "karpenter-action"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
