/**
 * npm run versions:check [-- --issue] [--without-minor 1.15]
 *
 * Lists Karpenter's releases on the Go module proxy and prints each stable v1 release that
 * src/versions has no data for, with what to add; exits 1 when there is one, 0 when every release is
 * covered, 2 when the releases cannot be listed.
 *
 * `--issue` keeps one issue of the repository open while a release is uncovered and closes it once
 * none is (GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL from the environment); the issue is
 * then the report, so the run exits 0 once it is up to date.
 *
 * `--without-minor 1.15` checks as if the data had no row for that minor: what the check reports
 * the day a new minor is released.
 */
import { parseArgs } from 'node:util';
import { describeError } from '../src/errors.ts';
import { GitHubClient } from '../src/github/client.ts';
import { readGithubContext } from '../src/github/context.ts';
import { reportTrackingIssue } from '../src/github/drift-issue.ts';
import {
  RELEASES_ISSUE_MARKER,
  findUncovered,
  isCoveredByData,
  listModuleReleases,
  renderAllCovered,
  renderCoverageIssue,
  renderUncovered,
  type Coverage,
} from '../src/versions/coverage.ts';

function fail(message: string): never {
  process.stderr.write(`versions:check: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: { issue: { type: 'boolean', default: false }, 'without-minor': { type: 'string' } },
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
})();
const without = values['without-minor'];
if (without !== undefined && !/^\d+\.\d+$/.test(without))
  fail(`--without-minor takes a minor version such as 1.15, not "${without}"`);
const ctx = readGithubContext(process.env);
const token = process.env.GITHUB_TOKEN;
if (values.issue && (!token || !ctx.repo)) fail('--issue needs GITHUB_TOKEN and GITHUB_REPOSITORY');
const client =
  values.issue && token && ctx.repo
    ? new GitHubClient({
        token,
        apiUrl: ctx.apiUrl,
        graphqlUrl: ctx.graphqlUrl,
        repo: ctx.repo,
        log: { debug: () => {}, warn: (m: string) => process.stderr.write(`warning: ${m}\n`) },
      })
    : undefined;
const minorOf = (version: string) => version.split('.').slice(0, 2).join('.');

let coverage: Coverage;
try {
  coverage = findUncovered(
    listModuleReleases(),
    (version) => minorOf(version) !== without && isCoveredByData(version),
  );
} catch (e) {
  const stderr = (e as { stderr?: unknown }).stderr;
  fail(
    `could not list the releases of the Karpenter module: ${typeof stderr === 'string' && stderr.trim() ? stderr.trim() : describeError(e)}`,
  );
}
if (!coverage.newest) fail('the module proxy lists no stable v1 release of the Karpenter module');

const report = coverage.uncovered.length
  ? coverage.uncovered.map(renderUncovered).join('\n')
  : renderAllCovered(coverage);
process.stdout.write(`${report}\n`);

if (client) {
  try {
    const issue = await reportTrackingIssue(client, {
      marker: RELEASES_ISSUE_MARKER,
      open: coverage.uncovered.length > 0,
      ...renderCoverageIssue(coverage, ctx.runUrl),
    });
    process.stdout.write(
      `issue: ${issue.action}${issue.number ? ` #${issue.number}` : ''}${issue.url ? ` ${issue.url}` : ''}\n`,
    );
  } catch (e) {
    fail(`could not update the issue: ${describeError(e)}`);
  }
} else if (coverage.uncovered.length) process.exitCode = 1;
