import type { FieldChange } from './model.ts';
import { canonicalJson } from './normalize.ts';

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface CanonicalPolicy {
  Version: string;
  Statement: PolicyStatement[];
}

const list = (v: unknown): string[] | undefined =>
  v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map((x) => String(x)).sort();

function principal(p: unknown): unknown {
  if (p === undefined || typeof p === 'string') return p;
  return Object.fromEntries(
    Object.entries(p as Record<string, unknown>)
      .map(([k, v]) => [k, list(v)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/**
 * A policy document in one comparable form: IAM returns documents URL-encoded and re-serialized,
 * and `Action`/`Resource`/condition values may be a string or a list in any order; none of that is
 * a difference. Statements are ordered by Sid (then content).
 */
export function canonicalizePolicy(doc: unknown): CanonicalPolicy {
  let parsed: unknown = doc;
  if (typeof doc === 'string') {
    const text = /^\s*%7B/i.test(doc) || /%22/.test(doc) ? decodeURIComponent(doc) : doc;
    parsed = JSON.parse(text) as unknown;
  }
  const d = parsed as { Version?: string; Statement?: unknown };
  const raw = Array.isArray(d.Statement) ? d.Statement : d.Statement === undefined ? [] : [d.Statement];
  const statements = raw.map((s): PolicyStatement => {
    const x = s as Record<string, unknown>;
    const out: PolicyStatement = { Effect: typeof x.Effect === 'string' ? x.Effect : '' };
    if (typeof x.Sid === 'string' || typeof x.Sid === 'number') out.Sid = String(x.Sid);
    if (x.Principal !== undefined) out.Principal = principal(x.Principal);
    for (const k of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      const v = list(x[k]);
      if (v) out[k] = v;
    }
    if (x.Condition) {
      out.Condition = Object.fromEntries(
        Object.entries(x.Condition as Record<string, Record<string, unknown>>)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([op, kv]) => [
            op,
            Object.fromEntries(
              Object.entries(kv)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => [k, list(v)!]),
            ),
          ]),
      );
    }
    return out;
  });
  statements.sort(
    (a, b) => (a.Sid ?? '').localeCompare(b.Sid ?? '') || canonicalJson(a).localeCompare(canonicalJson(b)),
  );
  return { Version: d.Version ?? '2012-10-17', Statement: statements };
}

export const policiesEqual = (a: unknown, b: unknown): boolean =>
  canonicalJson(canonicalizePolicy(a)) === canonicalJson(canonicalizePolicy(b));

/**
 * The statement-level difference a reviewer reads: per Sid, the actions, resources and principals
 * added or removed and the conditions changed, instead of two JSON documents.
 */
export function diffPolicyStatements(before: unknown, after: unknown): FieldChange[] {
  const b = canonicalizePolicy(before);
  const a = canonicalizePolicy(after);
  const key = (s: PolicyStatement, i: number) => s.Sid ?? `#${i}`;
  const bm = new Map(b.Statement.map((s, i) => [key(s, i), s]));
  const am = new Map(a.Statement.map((s, i) => [key(s, i), s]));
  const out: FieldChange[] = [];
  for (const [sid, s] of am) {
    const prev = bm.get(sid);
    if (!prev) {
      out.push({ path: `Statement[${sid}]`, op: 'add', after: s });
      continue;
    }
    for (const field of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      const was = new Set(prev[field] ?? []);
      const now = new Set(s[field] ?? []);
      const added = [...now].filter((x) => !was.has(x));
      const removed = [...was].filter((x) => !now.has(x));
      if (added.length > 0) out.push({ path: `Statement[${sid}].${field}`, op: 'add', after: added });
      if (removed.length > 0) out.push({ path: `Statement[${sid}].${field}`, op: 'remove', before: removed });
    }
    for (const field of ['Effect', 'Principal', 'Condition'] as const) {
      if (canonicalJson(prev[field]) !== canonicalJson(s[field])) {
        out.push({ path: `Statement[${sid}].${field}`, op: 'change', before: prev[field], after: s[field] });
      }
    }
  }
  for (const [sid, s] of bm)
    if (!am.has(sid)) out.push({ path: `Statement[${sid}]`, op: 'remove', before: s });
  return out;
}
