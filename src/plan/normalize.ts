const VOLATILE_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
  'deletionGracePeriodSeconds',
];
const VOLATILE_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
];

/**
 * The comparable form of a Kubernetes object: what the server keeps for itself (managedFields,
 * resourceVersion, generation, uid, timestamps, status) is stripped, as `kubectl diff` and Argo CD do,
 * so live and dry-run objects differ only where the config and the cluster really disagree.
 */
export function normalizeKubeObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  delete out.status;
  const meta = { ...((out.metadata as Record<string, unknown> | undefined) ?? {}) };
  for (const k of VOLATILE_METADATA) delete meta[k];
  const ann = { ...((meta.annotations as Record<string, string> | undefined) ?? {}) };
  for (const k of VOLATILE_ANNOTATIONS) delete ann[k];
  if (Object.keys(ann).length > 0) meta.annotations = ann;
  else delete meta.annotations;
  if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  out.metadata = meta;
  return out;
}

/** JSON with sorted keys: the canonical text for hashing and equality. */
export function canonicalJson(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, walk((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(walk(value));
}

export const deepEqual = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
