/**
 * `npm run versions:check` as maintainers and the weekly workflow run it: the real script against
 * this machine's Go module proxy, and its issue mode against the GitHub stand-in.
 */
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELEASES_ISSUE_MARKER, renderUncovered } from '../../src/versions/coverage.ts';
import { supportedVersions } from '../../src/versions/index.ts';
import { startGithubStandin, type GithubStandin } from '../helpers/github-standin.ts';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'versions-check.ts');
const NEWEST_MINOR = supportedVersions().at(-1)!;
const PREVIOUS_MINOR = supportedVersions().at(-2)!;

/** The stable v1 releases the proxy lists, in go's own (semver) order. */
const proxyReleases = (): string[] =>
  execFileSync('go', ['list', '-m', '-versions', 'github.com/aws/karpenter-provider-aws'], {
    cwd: tmpdir(),
    encoding: 'utf8',
  })
    .trim()
    .split(/\s+/)
    .slice(1)
    .filter((v) => /^v1\.\d+\.\d+$/.test(v))
    .map((v) => v.slice(1));
const ofMinor = (releases: string[], minor: string) => releases.filter((r) => r.startsWith(`${minor}.`));

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script without blocking the event loop the stand-in answers on, and without the runner's GitHub variables. */
async function runCheck(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GITHUB_')));
  const child = spawn(process.execPath, [SCRIPT, ...args], { env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, stdout, stderr };
}

let releases: string[];
beforeAll(() => {
  releases = proxyReleases();
});

describe('versions:check against the module proxy', () => {
  it('reports exactly the releases whose minor has no data, and names the newest it saw when there are none', async () => {
    // judged against the proxy's list of today, so a Karpenter minor published later is reported, not a test failure
    const known = new Set(supportedVersions());
    const uncovered = releases.filter((r) => !known.has(r.split('.').slice(0, 2).join('.')));
    const run = await runCheck([]);
    expect(run.stderr).toBe('');
    if (uncovered.length === 0) {
      expect(run.stdout).toBe(`every release on the module proxy is covered (newest: ${releases.at(-1)!})\n`);
      expect(run.code).toBe(0);
    } else {
      expect(run.stdout.trim().split('\n')).toEqual(
        uncovered.map((version) =>
          renderUncovered({ version, minor: version.split('.').slice(0, 2).join('.') }),
        ),
      );
      expect(run.code).toBe(1);
    }
  });

  it(`reports the releases of a minor the data lacks (${NEWEST_MINOR} without its row) and fails`, async () => {
    const missing = ofMinor(releases, NEWEST_MINOR);
    expect(missing.length).toBeGreaterThan(0);
    const run = await runCheck(['--without-minor', NEWEST_MINOR]);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n')).toEqual(
      missing.map((version) => renderUncovered({ version, minor: NEWEST_MINOR })),
    );
    expect(run.stdout).toContain(
      `${releases.at(-1)!}: no prerequisite data for ${NEWEST_MINOR}.x; add a row to src/versions/templates.ts`,
    );
  });

  it('fails with go’s reason when the proxy cannot be asked', async () => {
    const run = await runCheck([], { GOPROXY: 'off' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('could not list the releases of the Karpenter module');
    expect(run.stderr).toContain('GOPROXY=off');
  });
});

describe('versions:check --issue against the GitHub stand-in', () => {
  let gh: GithubStandin;
  beforeEach(async () => {
    gh = await startGithubStandin({ owner: 'acme', name: 'infra' });
  });
  afterEach(() => gh.close());

  const issueEnv = () => ({
    GITHUB_TOKEN: gh.token,
    GITHUB_REPOSITORY: 'acme/infra',
    GITHUB_API_URL: gh.url,
  });
  const ours = () => [...gh.state.issues.values()].filter((i) => i.body.startsWith(RELEASES_ISSUE_MARKER));

  it('keeps one issue open while releases are missing, and closes it once none is', async () => {
    const first = await runCheck(['--issue', '--without-minor', NEWEST_MINOR], issueEnv());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(ours()).toHaveLength(1);
    const issue = ours()[0]!;
    expect(first.stdout).toContain(`issue: opened #${issue.number}`);
    expect(issue).toMatchObject({
      state: 'open',
      title: `Karpenter releases without version data: ${NEWEST_MINOR}.x`,
    });
    for (const version of ofMinor(releases, NEWEST_MINOR))
      expect(issue.body).toContain(`- ${renderUncovered({ version, minor: NEWEST_MINOR })}`);
    expect(issue.body.split('\n')[0]).toBe(RELEASES_ISSUE_MARKER);

    const again = await runCheck(['--issue', '--without-minor', NEWEST_MINOR], issueEnv());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`issue: unchanged #${issue.number}`);
    expect(gh.requestsTo('POST', '/repos/acme/infra/issues')).toHaveLength(1);
    expect(gh.requestsTo('PATCH', /\/issues\/\d+$/)).toHaveLength(0);

    expect(ofMinor(releases, PREVIOUS_MINOR).length).toBeGreaterThan(0);
    const other = await runCheck(['--issue', '--without-minor', PREVIOUS_MINOR], issueEnv());
    expect(other.code).toBe(0);
    expect(other.stdout).toContain(`issue: updated #${issue.number}`);
    expect(ours()).toHaveLength(1);
    expect(gh.state.issues.get(issue.number)!.title).toBe(
      `Karpenter releases without version data: ${PREVIOUS_MINOR}.x`,
    );
    expect(gh.state.issues.get(issue.number)!.body).not.toContain(`${NEWEST_MINOR}.x`);

    const clean = await runCheck(['--issue'], issueEnv());
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(
      `every release on the module proxy is covered (newest: ${releases.at(-1)!})\nissue: closed #${issue.number}`,
    );
    expect(gh.state.issues.get(issue.number)).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(gh.commentsOn(issue.number).map((c) => c.body)).toEqual([
      `Every release on the module proxy is covered again (newest: ${releases.at(-1)!}).`,
    ]);
    expect(gh.requestsTo('POST', '/repos/acme/infra/issues')).toHaveLength(1);

    const quiet = await runCheck(['--issue'], issueEnv());
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('issue: none');
    expect(gh.state.issues.size).toBe(1);
  });

  it('refuses to run without a token and a repository', async () => {
    const run = await runCheck(['--issue'], { GITHUB_API_URL: gh.url });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--issue needs GITHUB_TOKEN and GITHUB_REPOSITORY');
    expect(gh.requests).toHaveLength(0);
  });
});
