/** An inclusive range of Kubernetes minor versions, e.g. `{ min: '1.26', max: '1.36' }`. */
export interface KubernetesRange {
  min: string;
  max: string;
}

/** One entry of Karpenter's compatibility data: from `since` (a patch version) on, this range applies. */
interface CompatibilityEntry {
  since: string;
  range: KubernetesRange;
  /**
   * Set only when the range is not taken from compatibility.yaml (that file has no entry for the
   * minor): where it comes from instead.
   */
  source?: string;
}

/**
 * Karpenter ⇄ Kubernetes compatibility, from hack/docs/compatibilitymatrix_gen/compatibility.yaml as
 * shipped in the aws/karpenter-provider-aws v1.14.1 module (the `1.0.5` entry is a patch-level
 * exception to `1.0.x`), except entries with a `source`. The controller refuses to run outside this range.
 *
 * 1.15 is such an exception: the v1.15.0–v1.15.2 modules' compatibility.yaml lags and has no `1.15.x`
 * entry (it ends with a second copy of the `1.14.x` entry, max 1.36), so reading that file would give
 * 1.15 the wrong maximum. Its range comes from the code (pkg/providers/version/version.go in v1.15.0,
 * v1.15.1 and v1.15.2: MinK8sVersion 1.26, MaxK8sVersion 1.37) and the v1.15 docs matrix
 * (website/content/en/v1.15/upgrading/compatibility.md at d77d1a3a5a44d7ce9c041bcc51da1e567de3f2ec:
 * Kubernetes 1.37 needs Karpenter 1.15.x; the matrix starts at 1.31, so the minimum is from the code).
 */
export const COMPATIBILITY: readonly CompatibilityEntry[] = [
  { since: '1.0.0', range: { min: '1.25', max: '1.30' } },
  { since: '1.0.5', range: { min: '1.25', max: '1.31' } },
  { since: '1.1.0', range: { min: '1.25', max: '1.31' } },
  { since: '1.2.0', range: { min: '1.25', max: '1.32' } },
  { since: '1.3.0', range: { min: '1.25', max: '1.32' } },
  { since: '1.4.0', range: { min: '1.25', max: '1.32' } },
  { since: '1.5.0', range: { min: '1.26', max: '1.33' } },
  { since: '1.6.0', range: { min: '1.26', max: '1.34' } },
  { since: '1.7.0', range: { min: '1.26', max: '1.34' } },
  { since: '1.8.0', range: { min: '1.26', max: '1.34' } },
  { since: '1.9.0', range: { min: '1.26', max: '1.35' } },
  { since: '1.10.0', range: { min: '1.26', max: '1.35' } },
  { since: '1.11.0', range: { min: '1.26', max: '1.35' } },
  { since: '1.12.0', range: { min: '1.26', max: '1.35' } },
  { since: '1.13.0', range: { min: '1.26', max: '1.36' } },
  { since: '1.14.0', range: { min: '1.26', max: '1.36' } },
  {
    since: '1.15.0',
    range: { min: '1.26', max: '1.37' },
    source:
      "pkg/providers/version/version.go in the v1.15.0-v1.15.2 modules (MinK8sVersion 1.26, MaxK8sVersion 1.37) and website/content/en/v1.15/upgrading/compatibility.md at d77d1a3a5a44d7ce9c041bcc51da1e567de3f2ec (Kubernetes 1.37 needs 1.15.x); the modules' compatibility.yaml has no 1.15.x entry",
  },
];

/** A release the upgrade guide tells users not to install. */
export interface KnownBadRelease {
  version: string;
  reason: string;
  reference: string;
}

/**
 * Releases the action refuses to install, each with the reason the plan shows. None is known for
 * 1.15.x (v1.15.0–v1.15.2): no warning or regression report was found, though the upgrade guide's
 * 1.15 section, where such a warning would be, could not be read.
 */
export const KNOWN_BAD_RELEASES: readonly KnownBadRelease[] = [
  {
    version: '1.8.4',
    reason:
      'the upgrade guide says not to upgrade to 1.8.4: it has a TopologySpreadConstraint scheduling regression',
    reference: 'kubernetes-sigs/karpenter#2785',
  },
];
