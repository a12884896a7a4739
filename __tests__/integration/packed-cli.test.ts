/**
 * The CLI as a user installs it: `npm pack` of the working tree (its dist/ as it is), the tarball
 * installed into an empty directory and run through `npx` with the project's Node 24; an older Node
 * gets one line and exit 1 instead of the bundle's stack trace.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The project's Node 24 (npm package `node`) first, as in every npm script. */
const PATH = [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
};
const NEEDED_MAJOR = Number(/^>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);

/** The first `node` on the PATH or at a system location whose major version is below the one needed. */
function findOlderNode(): { path: string; version: string } | undefined {
  const candidates = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.add(join(dir, 'node'));
  for (const p of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) candidates.add(p);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const m = /^v(\d+)\.\S+/.exec(r.stdout ?? '');
    if (m && Number(m[1]) < NEEDED_MAJOR) return { path, version: m[0].slice(1) };
  }
  return undefined;
}
const olderNode = findOlderNode();

let work: string;
let packed: string[];
let app: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ka-packed-'));
  const env = { ...process.env, PATH };
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env, encoding: 'utf8' }),
  ) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((f) => f.path).sort();
  app = join(work, 'app');
  mkdirSync(join(app, '.github'), { recursive: true });
  execFileSync('npm', ['install', '--no-audit', '--no-fund', join(work, info!.filename)], {
    cwd: app,
    env,
    stdio: 'pipe',
  });
  writeFileSync(
    join(app, '.github', 'karpenter.yaml'),
    'cluster: demo-eks\nregion: us-east-1\nkarpenter:\n  version: 1.14.1\n',
  );
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A command in `dir` with no AWS or runner state of this process: only PATH and HOME, plus `env`. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const cwd = opts.cwd ?? app;
  return spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH,
      HOME: cwd,
      npm_config_cache: join(process.env.HOME ?? work, '.npm'),
      AWS_CONFIG_FILE: join(work, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...opts.env,
    },
  });
}

const result = (r: SpawnSyncReturns<string>) => ({ status: r.status, stderr: r.stderr });

test('the package holds the bundle, the entry, the action and its documents, and nothing else', () => {
  expect(packed).toEqual([
    'CHANGELOG.md',
    'LICENSE',
    'README.md',
    'action.yml',
    'bin/karpenter-action.js',
    'dist/index.js',
    'dist/licenses.txt',
    'dist/package.json',
    'package.json',
  ]);
});

test('npx karpenter-action --help runs the installed bin', () => {
  const r = run('npx', ['--no', '--', 'karpenter-action', '--help']);
  expect(result(r)).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/^usage: karpenter-action <command>/);
  expect(r.stdout).toContain('iam-policy');
});

test('iam-policy prints both roles for the config in the directory it runs in', () => {
  const r = run('npx', [
    '--no',
    '--',
    'karpenter-action',
    'iam-policy',
    '--account-id',
    '111122223333',
    '--repository',
    'acme/infra',
    '--format',
    'json',
  ]);
  expect(result(r)).toEqual({ status: 0, stderr: '' });
  const out = JSON.parse(r.stdout) as Record<
    'plan' | 'apply',
    { roleName: string; permissions: { Statement: unknown[] }; trust: { Statement: unknown[] } }
  >;
  expect(out.plan.roleName).toBe('karpenter-action-plan-demo-eks');
  expect(out.apply.roleName).toBe('karpenter-action-apply-demo-eks');
  for (const role of [out.plan, out.apply]) {
    expect(role.permissions.Statement.length).toBeGreaterThan(0);
    expect(JSON.stringify(role.trust)).toContain('repo:acme/infra:');
  }
});

test('a plan without AWS credentials says what to set', () => {
  const r = run('npx', ['--no', '--', 'karpenter-action', 'plan']);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('error: no AWS credentials: set AWS_PROFILE (after `aws sso login`');
  expect(r.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  expect(r.stderr).not.toMatch(/^\s+at /m);
});

test('the bundle needs none of the dependencies npm installed beside it', () => {
  // The installed package alone, where module resolution finds no node_modules but its own.
  const bare = join(work, 'bare');
  cpSync(join(app, 'node_modules', pkg.name), join(bare, 'node_modules', pkg.name), { recursive: true });
  cpSync(join(app, '.github'), join(bare, '.github'), { recursive: true });
  const bin = join(bare, 'node_modules', pkg.name, 'bin', 'karpenter-action.js');
  const help = run('node', [bin, '--help'], { cwd: bare });
  expect(result(help)).toEqual({ status: 0, stderr: '' });
  const plan = run('node', [bin, 'plan'], { cwd: bare });
  expect(plan.status).toBe(1);
  expect(plan.stderr).toContain('error: no AWS credentials');
});

(olderNode ? test : test.skip)(
  olderNode
    ? `on Node ${olderNode.version} (${olderNode.path}) the installed bin prints one line and exits 1`
    : `an older Node gets one line and exit 1 (skipped: no Node older than ${NEEDED_MAJOR} on this machine)`,
  () => {
    // As a user's shell runs it: the npm bin shim, whose `#!/usr/bin/env node` finds the older Node first.
    const r = run(join(app, 'node_modules', '.bin', 'karpenter-action'), ['plan'], {
      env: { PATH: [dirname(olderNode!.path), PATH].join(delimiter) },
    });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `karpenter-action needs Node.js ${NEEDED_MAJOR} or newer; this is Node.js ${olderNode!.version}\n`,
    });
  },
);
