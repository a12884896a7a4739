import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { Refusal } from '../errors.ts';
import { versionData } from './index.ts';
import { compareReleases, minorOf, parseRelease } from '../util/release.ts';

/** The Go module Karpenter's AWS provider is released as; each release is a tag of it. */
export const KARPENTER_MODULE = 'github.com/aws/karpenter-provider-aws';

/** A stable v1 release as the module proxy names it: `v1.MINOR.PATCH`, no pre-release or build suffix. */
const STABLE_V1 = /^v?1\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** A stable release whose version the data does not cover, and the minor that lacks data. */
export interface UncoveredRelease {
  /** Without the `v`, as `karpenter.version` takes it: `1.16.0`. */
  version: string;
  minor: string;
}

export interface Coverage {
  /** Every stable v1 release seen, oldest first, without the `v`. */
  releases: string[];
  newest: string | undefined;
  /** The releases the data does not cover, oldest first. */
  uncovered: UncoveredRelease[];
}

/** A release is covered when the version data accepts it (`versionData` refuses a version without data). */
export function isCoveredByData(version: string): boolean {
  try {
    versionData(version);
    return true;
  } catch (e) {
    if (e instanceof Refusal) return false;
    throw e;
  }
}

/**
 * Which of the listed releases the data does not cover. Only stable `v1.x.y` releases count:
 * pre-releases (`-rc.1`), build suffixes and anything else are left out, and the rest is sorted
 * oldest first whatever order it was listed in.
 */
export function findUncovered(
  releases: readonly string[],
  isCovered: (version: string) => boolean = isCoveredByData,
): Coverage {
  const stable = releases
    .filter((r) => STABLE_V1.test(r.trim()))
    .map((r) => parseRelease(r, { strict: true })!)
    .sort(compareReleases)
    .map((v) => ({ version: v.version, minor: minorOf(v) }))
    .filter((v, i, all) => all.findIndex((w) => w.version === v.version) === i);
  return {
    releases: stable.map((v) => v.version),
    newest: stable.at(-1)?.version,
    uncovered: stable.filter((v) => !isCovered(v.version)),
  };
}

/** One line per uncovered release: what is missing and where it goes. */
export function renderUncovered(u: UncoveredRelease): string {
  return `${u.version}: no prerequisite data for ${u.minor}.x; add a row to src/versions/templates.ts from that release's getting-started CloudFormation template, its Kubernetes range to compatibility.ts, its upgrade notes to src/install/upgrade-path.ts`;
}

/** What `versions:check` prints when every release is covered. */
export function renderAllCovered(coverage: Coverage): string {
  return `every release on the module proxy is covered (newest: ${coverage.newest ?? 'none'})`;
}

/**
 * The releases of the Karpenter module, as `go list -m -versions` reports them: through the proxies
 * and private-module settings of the environment (GOPROXY, GOFLAGS, GONOPROXY, .netrc), sorted, and
 * without the releases the module retracts. Run outside any module, so no go.mod of the caller's
 * directory is involved.
 */
export function listModuleReleases(
  run: (args: string[]) => string = (args) =>
    execFileSync('go', args, { cwd: tmpdir(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
): string[] {
  const out = run(['list', '-m', '-versions', KARPENTER_MODULE]).trim().split(/\s+/);
  if (out[0] !== KARPENTER_MODULE)
    throw new Error(`go list answered "${out.join(' ')}", not the versions of ${KARPENTER_MODULE}`);
  return out.slice(1);
}

/** The hidden first line of the one issue that lists the uncovered releases. */
export const RELEASES_ISSUE_MARKER = '<!-- karpenter-action:karpenter-releases -->';

/** The tracking issue's title and body while releases are uncovered, and what is said when it closes. */
export function renderCoverageIssue(
  coverage: Coverage,
  runUrl?: string,
): { title: string; body: string; resolvedComment: string } {
  const versions = coverage.uncovered.map((u) => u.version);
  const minors = [...new Set(coverage.uncovered.map((u) => u.minor))];
  return {
    title: `Karpenter ${versions.length === 1 ? 'release' : 'releases'} without version data: ${minors.map((m) => `${m}.x`).join(', ')}`,
    body: [
      `The module proxy lists ${versions.length === 1 ? 'a Karpenter release' : 'Karpenter releases'} that karpenter-action has no data for, so a plan for ${versions.length === 1 ? 'it' : 'them'} is refused:`,
      '',
      ...coverage.uncovered.map((u) => `- ${renderUncovered(u)}`),
      '',
      'Run `npm run versions:check` to see what is still missing; this issue closes once every release is covered.',
    ].join('\n'),
    resolvedComment: `Every release on the module proxy is covered again (newest: ${coverage.newest ?? 'none'})${
      runUrl ? ` ([run](${runUrl}))` : ''
    }.`,
  };
}
