/**
 * Which Karpenter releases the version data does not cover yet, from a list of module versions.
 */
import {
  KARPENTER_MODULE,
  findUncovered,
  isCoveredByData,
  listModuleReleases,
  renderAllCovered,
  renderCoverageIssue,
  renderUncovered,
} from '../../src/versions/coverage.ts';
import { supportedVersions } from '../../src/versions/index.ts';

const NEWEST = supportedVersions().at(-1)!;
const [MAJOR, MINOR] = NEWEST.split('.').map(Number) as [number, number];
const NEXT = `${MAJOR}.${MINOR + 1}`;
const upTo = (minor: string) => (v: string) => {
  const [, m] = v.split('.').map(Number) as [number, number];
  return m <= Number(minor.split('.')[1]);
};

describe('findUncovered', () => {
  it('keeps only stable v1 releases, sorted oldest first without the v', () => {
    const c = findUncovered(
      [
        'v1.10.0',
        'v1.9.3',
        'v1.2.0-rc.1',
        'v0.37.7',
        'v1.10.0-beta.1',
        'v1.0.8',
        'v1.10.1+incompatible',
        'v2.0.0',
        'v1.9.10',
        'v1.01.0',
        'v1.9.3',
      ],
      () => true,
    );
    expect(c.releases).toEqual(['1.0.8', '1.9.3', '1.9.10', '1.10.0']);
    expect(c.newest).toBe('1.10.0');
    expect(c.uncovered).toEqual([]);
  });

  it('reports every release of a minor without data, and nothing else', () => {
    const c = findUncovered(['v1.16.1', 'v1.15.2', 'v1.16.0-rc.0', 'v1.16.0', 'v1.15.0'], upTo('1.15'));
    expect(c.newest).toBe('1.16.1');
    expect(c.uncovered).toEqual([
      { version: '1.16.0', minor: '1.16' },
      { version: '1.16.1', minor: '1.16' },
    ]);
  });

  it('asks the version data by default: its minors are covered, the next one is not', () => {
    expect(isCoveredByData(`${NEWEST}.0`)).toBe(true);
    expect(isCoveredByData(`${NEXT}.0`)).toBe(false);
    const c = findUncovered([`v${NEWEST}.0`, `v${NEXT}.0-rc.1`, `v${NEXT}.0`, 'v1.0.0']);
    expect(c.uncovered).toEqual([{ version: `${NEXT}.0`, minor: NEXT }]);
    expect(findUncovered([`v${NEWEST}.0`, `v${NEXT}.0-rc.1`, 'v1.0.0']).uncovered).toEqual([]);
  });

  it('says when every release is covered, naming the newest', () => {
    const c = findUncovered(['v1.14.3', 'v1.15.2', 'v1.15.10', 'v1.16.0-rc.1'], () => true);
    expect(renderAllCovered(c)).toBe('every release on the module proxy is covered (newest: 1.15.10)');
  });

  it('has no newest release when none is stable', () => {
    expect(findUncovered(['v1.0.0-rc.1', 'v0.37.0'], () => true)).toEqual({
      releases: [],
      newest: undefined,
      uncovered: [],
    });
  });
});

describe('reports', () => {
  const c = findUncovered(['v1.15.2', 'v1.16.0', 'v1.16.1', 'v1.17.0'], upTo('1.15'));

  it('says per release what is missing and where it goes', () => {
    expect(renderUncovered({ version: '1.16.0', minor: '1.16' })).toBe(
      "1.16.0: no prerequisite data for 1.16.x; add a row to src/versions/templates.ts from that release's getting-started CloudFormation template, its Kubernetes range to compatibility.ts, its upgrade notes to src/install/upgrade-path.ts",
    );
  });

  it('writes the tracking issue: the minors in the title, a line per release in the body', () => {
    const issue = renderCoverageIssue(c, 'https://github.example/acme/infra/actions/runs/1');
    expect(issue.title).toBe('Karpenter releases without version data: 1.16.x, 1.17.x');
    const lines = issue.body.split('\n').filter((l) => l.startsWith('- '));
    expect(lines).toEqual(c.uncovered.map((u) => `- ${renderUncovered(u)}`));
    expect(issue.body).toContain('npm run versions:check');
    expect(issue.resolvedComment).toBe(
      'Every release on the module proxy is covered again (newest: 1.17.0) ([run](https://github.example/acme/infra/actions/runs/1)).',
    );
    expect(renderCoverageIssue(findUncovered(['v1.16.0'], () => false)).title).toBe(
      'Karpenter release without version data: 1.16.x',
    );
  });
});

describe('listModuleReleases', () => {
  it('asks go for the versions of the Karpenter module and returns them', () => {
    const calls: string[][] = [];
    const releases = listModuleReleases((args) => {
      calls.push(args);
      return `${KARPENTER_MODULE} v1.0.8 v1.15.2\n`;
    });
    expect(calls).toEqual([['list', '-m', '-versions', KARPENTER_MODULE]]);
    expect(releases).toEqual(['v1.0.8', 'v1.15.2']);
  });

  it('refuses an answer that is not the module and its versions', () => {
    expect(() => listModuleReleases(() => 'something else v1.0.0')).toThrow(/not the versions of/);
  });
});
