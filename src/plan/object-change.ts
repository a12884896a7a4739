import { diffFields } from './field-diff.ts';
import type { Change } from './model.ts';
import { deepEqual } from './normalize.ts';

/** What a change is about, without its action: the stage's own id and names for one object. */
export type ChangeBase = Pick<Change, 'ref' | 'stage' | 'kind' | 'name'> & Partial<Pick<Change, 'source'>>;

/** The reason given for each outcome, in the words of the stage that owns the object. */
export interface ChangeReasons {
  create: string;
  same: string;
  differs: string;
}

/**
 * The one comparison of a live object with the one wanted, both already normalized: missing is a
 * create, equal is a no-op, anything else an update with its field changes. Stages share it so that
 * every Kubernetes object is judged by the same rule.
 */
export function buildObjectChange(
  base: ChangeBase,
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  reasons: ChangeReasons,
): Change {
  if (!before) return { ...base, action: 'create', after, fieldChanges: [], reason: reasons.create };
  if (deepEqual(before, after)) return { ...base, action: 'no-op', fieldChanges: [], reason: reasons.same };
  return {
    ...base,
    action: 'update',
    before,
    after,
    fieldChanges: diffFields(before, after),
    reason: reasons.differs,
  };
}
