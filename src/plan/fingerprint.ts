import { createHash } from 'node:crypto';
import type { StagePlan } from './model.ts';
import { canonicalJson } from './normalize.ts';

/**
 * The plan's identity: sha256 over the cluster, the target version and every actionable change (ref,
 * action, before and after, all normalized). A later plan has the same fingerprint only if it would
 * do exactly the same thing to the same live state, which is what "apply what was approved" needs;
 * no-op entries, notes, timestamps and the head SHA are left out.
 */
export function buildFingerprint(
  cluster: string,
  karpenterVersion: string,
  stages: readonly StagePlan[],
): string {
  const changes = stages
    .flatMap((s) => s.changes)
    .filter((c) => c.action !== 'no-op')
    .map((c) => ({ ref: c.ref, action: c.action, before: c.before ?? null, after: c.after ?? null }))
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  return createHash('sha256').update(canonicalJson({ cluster, karpenterVersion, changes })).digest('hex');
}
