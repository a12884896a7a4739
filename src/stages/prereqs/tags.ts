import { deepEqual } from '../../plan/normalize.ts';

/** AWS tags as a map, from the `[{Key, Value}]` list most AWS APIs return. */
export function readTagList(
  list: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/**
 * The live side of the tags the action writes: the resource's values for exactly the keys the config
 * wants, so a plan compares (and shows) what the action would change and never a tag someone else
 * added. A key the config no longer names is left on the resource and out of the plan.
 */
export function buildLiveTags(
  live: Record<string, string>,
  wanted: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(wanted).sort()) if (Object.hasOwn(live, k)) out[k] = live[k]!;
  return out;
}

/** Whether the resource lacks a tag the action writes, or has it with another value. */
export function evaluateTagDrift(live: Record<string, string>, wanted: Record<string, string>): boolean {
  return !deepEqual(buildLiveTags(live, wanted), sortedTags(wanted));
}

/** The tags with their keys in order, so plans and fingerprints do not depend on the config's order. */
export function sortedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
