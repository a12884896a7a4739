/** An inclusive range of Kubernetes minor versions, e.g. `{ min: '1.26', max: '1.36' }`. */
export interface KubernetesRange {
  min: string;
  max: string;
}

/** One entry of Karpenter's compatibility data: from `since` (a patch version) on, this range applies. */
interface CompatibilityEntry {
  since: string;
  range: KubernetesRange;
}

/**
 * Karpenter ⇄ Kubernetes compatibility, from hack/docs/compatibilitymatrix_gen/compatibility.yaml as
 * shipped in the aws/karpenter-provider-aws v1.14.1 module (the `1.0.5` entry is a patch-level
 * exception to `1.0.x`). The controller refuses to run outside this range.
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
];

/** A release the upgrade guide tells users not to install. */
export interface KnownBadRelease {
  version: string;
  reason: string;
  reference: string;
}

/** Releases the action refuses to install, each with the reason the plan shows. */
export const KNOWN_BAD_RELEASES: readonly KnownBadRelease[] = [
  {
    version: '1.8.4',
    reason:
      'the upgrade guide says not to upgrade to 1.8.4: it has a TopologySpreadConstraint scheduling regression',
    reference: 'kubernetes-sigs/karpenter#2785',
  },
];
