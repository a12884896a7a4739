import type { FieldChange } from './model.ts';
import { deepEqual } from './normalize.ts';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const join = (base: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (base ? `${base}.${key}` : key) : `${base}[${JSON.stringify(key)}]`;

/**
 * Field-level differences between two JSON values. Maps are compared key by key; lists are compared
 * as a whole (a reordered requirement list is a change), which is how Karpenter's drift hashing
 * sees them too.
 */
export function diffFields(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (deepEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const out: FieldChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) {
      const p = join(path, k);
      if (!(k in before)) out.push({ path: p, op: 'add', after: after[k] });
      else if (!(k in after)) out.push({ path: p, op: 'remove', before: before[k] });
      else out.push(...diffFields(before[k], after[k], p));
    }
    return out;
  }
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  return [{ path, op: 'change', before, after }];
}
