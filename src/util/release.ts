import { compare, parse, type SemVer } from 'semver';

export type { SemVer };

/**
 * Every version the action reads, Karpenter's, Kubernetes' and helm's, goes through this module, and
 * every comparison through `semver`.
 *
 * `parseRelease` takes `X.Y.Z` with an optional leading `v` and, unless `strict`, a pre-release or
 * build suffix and `X.Y` (patch 0). `strict` takes exactly `X.Y.Z` (and the `v`).
 */
export function parseRelease(text: string | undefined, opts: { strict?: boolean } = {}): SemVer | undefined {
  const t = (text ?? '').trim().replace(/^v(?=\d)/, '');
  if (opts.strict) return /^\d+\.\d+\.\d+$/.test(t) ? (parse(t) ?? undefined) : undefined;
  return parse(t) ?? (/^\d+\.\d+$/.test(t) ? (parse(`${t}.0`) ?? undefined) : undefined);
}

/** The leading `X.Y.Z` of a version string, such as `v3.22.0+g1234` from `helm version --short`. */
export function readLeadingRelease(text: string): SemVer | undefined {
  const m = /^v?(\d+\.\d+\.\d+)/.exec(text.trim());
  return m ? parseRelease(m[1]) : undefined;
}

/** Orders two releases (pre-releases before their release). */
export const compareReleases = (a: SemVer, b: SemVer): number => compare(a, b);

/** `X.Y` of a release. */
export const minorOf = (v: SemVer): string => `${v.major}.${v.minor}`;

/** Orders two versions by `X.Y` alone, so `1.30.2` and `1.30` are the same minor; unreadable ones sort first. */
export function compareMinors(a: string, b: string): number {
  const [x, y] = [parseRelease(a), parseRelease(b)];
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return x.major - y.major || x.minor - y.minor;
}

/** Whether a version's minor is older than `X.Y`. */
export const isBeforeMinor = (version: string, minor: string): boolean => compareMinors(version, minor) < 0;
