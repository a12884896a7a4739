import { STAGES } from '../inputs.ts';
import type { StageName } from '../inputs.ts';
import { ACTIONS, PLAN_FORMAT_VERSION, countChanges } from '../plan/model.ts';
import type {
  Action,
  Change,
  ChangeCounts,
  FieldChange,
  Finding,
  FindingLevel,
  Impact,
  Plan,
  SourceRef,
  StagePlan,
} from '../plan/model.ts';
import { maskChange } from './sensitive.ts';

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy with `keys` first in the given order, then any other keys as they were; undefined dropped. */
function ordered(obj: object, keys: readonly string[]): Json {
  const src = obj as Json;
  const out: Json = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out) && src[k] !== undefined) out[k] = src[k];
  return out;
}

const SOURCE_KEYS = ['file', 'line'] as const;
const FINDING_KEYS = ['level', 'code', 'message', 'fix', 'ref', 'source'] as const;
const CHANGE_KEYS = [
  'ref',
  'stage',
  'kind',
  'name',
  'action',
  'before',
  'after',
  'fieldChanges',
  'reason',
  'impact',
  'source',
] as const;
const COUNT_KEYS = ['create', 'update', 'replace', 'delete', 'no-op'] as const;
const PLAN_KEYS = [
  'formatVersion',
  'tool',
  'cluster',
  'region',
  'karpenterVersion',
  'headSha',
  'createdAt',
  'stages',
  'counts',
  'fingerprint',
] as const;

function orderSource(s: SourceRef | undefined): Json | undefined {
  return s && ordered(s, SOURCE_KEYS);
}

function orderFinding(f: Finding): Json {
  return ordered({ ...f, source: orderSource(f.source) }, FINDING_KEYS);
}

function orderChange(c: Change): Json {
  return ordered(
    {
      ...c,
      fieldChanges: c.fieldChanges.map((fc) => ordered(fc, ['path', 'op', 'before', 'after'])),
      impact: c.impact && ordered(c.impact, ['replacesNodes', 'detail']),
      source: orderSource(c.source),
    },
    CHANGE_KEYS,
  );
}

/**
 * The plan file behind the `plan-path` output: pretty JSON in the model's key order, so files diff
 * well and read like the type. Secret-looking values are masked here too, because the file is
 * uploaded as an artifact.
 */
export function renderPlanJson(plan: Plan): string {
  const out = ordered(
    {
      ...plan,
      tool: ordered(plan.tool, ['name', 'version']),
      stages: plan.stages.map((s) =>
        ordered(
          {
            ...s,
            changes: s.changes.map((c) => orderChange(maskChange(c))),
            findings: s.findings.map(orderFinding),
          },
          ['stage', 'changes', 'findings', 'notes'],
        ),
      ),
      counts: ordered(plan.counts, COUNT_KEYS),
    },
    PLAN_KEYS,
  );
  return `${JSON.stringify(out, null, 2)}\n`;
}

class Reader {
  fail(path: string, problem: string): never {
    throw new Error(`invalid plan file: ${path} ${problem}`);
  }

  record(v: unknown, path: string): Json {
    if (!isRecord(v)) this.fail(path, `must be an object, not ${describe(v)}`);
    return v;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be an array, not ${describe(v)}`);
    return v;
  }

  string(obj: Json, key: string, path: string): string {
    const v = obj[key];
    if (typeof v !== 'string') this.fail(`${path}.${key}`, `must be a string, not ${describe(v)}`);
    return v;
  }

  optionalString(obj: Json, key: string, path: string): string | undefined {
    return obj[key] === undefined ? undefined : this.string(obj, key, path);
  }

  count(obj: Json, key: string, path: string): number {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      this.fail(`${path}.${key}`, `must be a whole number ≥ 0, not ${describe(v)}`);
    }
    return v;
  }

  oneOf<T extends string>(obj: Json, key: string, allowed: readonly T[], path: string): T {
    const v = obj[key];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(`${path}.${key}`, `is ${describe(v)}; expected one of ${allowed.join(', ')}`);
    }
    return v as T;
  }

  source(obj: Json, path: string): SourceRef | undefined {
    if (obj.source === undefined) return undefined;
    const s = this.record(obj.source, `${path}.source`);
    return { file: this.string(s, 'file', `${path}.source`), line: this.count(s, 'line', `${path}.source`) };
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}

const LEVELS: readonly FindingLevel[] = ['error', 'warning', 'info'];
const FIELD_OPS: readonly FieldChange['op'][] = ['add', 'remove', 'change'];

function readFinding(r: Reader, v: unknown, path: string): Finding {
  const f = r.record(v, path);
  const out: Finding = {
    ...f,
    level: r.oneOf(f, 'level', LEVELS, path),
    code: r.string(f, 'code', path),
    message: r.string(f, 'message', path),
  };
  const fix = r.optionalString(f, 'fix', path);
  const ref = r.optionalString(f, 'ref', path);
  const source = r.source(f, path);
  if (fix !== undefined) out.fix = fix;
  if (ref !== undefined) out.ref = ref;
  if (source !== undefined) out.source = source;
  return out;
}

function readChange(r: Reader, v: unknown, path: string, stage: StageName): Change {
  const c = r.record(v, path);
  const changeStage = r.oneOf(c, 'stage', STAGES, path);
  if (changeStage !== stage)
    r.fail(`${path}.stage`, `is "${changeStage}" but the change is listed under "${stage}"`);
  const action: Action = r.oneOf(c, 'action', ACTIONS, path);
  const fieldChanges = r.array(c.fieldChanges, `${path}.fieldChanges`).map((fv, i): FieldChange => {
    const fp = `${path}.fieldChanges[${i}]`;
    const fc = r.record(fv, fp);
    return { ...fc, path: r.string(fc, 'path', fp), op: r.oneOf(fc, 'op', FIELD_OPS, fp) };
  });
  const out: Change = {
    ...c,
    ref: r.string(c, 'ref', path),
    stage: changeStage,
    kind: r.string(c, 'kind', path),
    name: r.string(c, 'name', path),
    action,
    fieldChanges,
  };
  const reason = r.optionalString(c, 'reason', path);
  if (reason !== undefined) out.reason = reason;
  if (c.impact !== undefined) {
    const ip = `${path}.impact`;
    const i = r.record(c.impact, ip);
    if (typeof i.replacesNodes !== 'boolean')
      r.fail(`${ip}.replacesNodes`, `must be true or false, not ${describe(i.replacesNodes)}`);
    const impact: Impact = { ...i, replacesNodes: i.replacesNodes, detail: r.string(i, 'detail', ip) };
    out.impact = impact;
  }
  const source = r.source(c, path);
  if (source !== undefined) out.source = source;
  return out;
}

function readStage(r: Reader, v: unknown, path: string): StagePlan {
  const s = r.record(v, path);
  const stage = r.oneOf(s, 'stage', STAGES, path);
  return {
    ...s,
    stage,
    changes: r
      .array(s.changes, `${path}.changes`)
      .map((c, i) => readChange(r, c, `${path}.changes[${i}]`, stage)),
    findings: r
      .array(s.findings, `${path}.findings`)
      .map((f, i) => readFinding(r, f, `${path}.findings[${i}]`)),
    notes: r.array(s.notes, `${path}.notes`).map((n, i) => {
      if (typeof n !== 'string') r.fail(`${path}.notes[${i}]`, `must be a string, not ${describe(n)}`);
      return n;
    }),
  };
}

/**
 * Reads a plan file back (for apply, or for rendering a plan made elsewhere) and checks its format
 * version and shape, naming the first field that is wrong, so a stale or hand-edited file is refused
 * with a reason instead of failing somewhere later.
 */
export function parsePlanJson(text: string): Plan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid plan file: not JSON (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  const r = new Reader();
  const p = r.record(raw, 'plan');
  if (p.formatVersion !== PLAN_FORMAT_VERSION) {
    r.fail(
      'plan.formatVersion',
      `is ${describe(p.formatVersion)}; this version of karpenter-action reads ${PLAN_FORMAT_VERSION}`,
    );
  }
  const tool = r.record(p.tool, 'plan.tool');
  if (tool.name !== 'karpenter-action')
    r.fail('plan.tool.name', `is ${describe(tool.name)}; expected "karpenter-action"`);
  const stages = r.array(p.stages, 'plan.stages').map((s, i) => readStage(r, s, `plan.stages[${i}]`));
  const c = r.record(p.counts, 'plan.counts');
  const counts: ChangeCounts = {
    create: r.count(c, 'create', 'plan.counts'),
    update: r.count(c, 'update', 'plan.counts'),
    replace: r.count(c, 'replace', 'plan.counts'),
    delete: r.count(c, 'delete', 'plan.counts'),
    'no-op': r.count(c, 'no-op', 'plan.counts'),
  };
  const actual = countChanges(stages);
  for (const k of COUNT_KEYS) {
    if (counts[k] !== actual[k])
      r.fail(`plan.counts.${k}`, `is ${counts[k]} but the stages list ${actual[k]}`);
  }
  const plan: Plan = {
    ...p,
    formatVersion: PLAN_FORMAT_VERSION,
    tool: { ...tool, name: 'karpenter-action', version: r.string(tool, 'version', 'plan.tool') },
    cluster: r.string(p, 'cluster', 'plan'),
    region: r.string(p, 'region', 'plan'),
    karpenterVersion: r.string(p, 'karpenterVersion', 'plan'),
    createdAt: r.string(p, 'createdAt', 'plan'),
    stages,
    counts,
    fingerprint: r.string(p, 'fingerprint', 'plan'),
  };
  const headSha = r.optionalString(p, 'headSha', 'plan');
  if (headSha !== undefined) plan.headSha = headSha;
  return plan;
}
