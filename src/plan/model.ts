import type { StageName } from '../inputs.ts';

/**
 * What a plan says will happen to one resource. A closed set, as in Terraform's plans package:
 * `replace` means the resource itself is deleted and created again (a property that cannot be
 * updated in place); node replacement caused by an in-place update is an `impact`, not an action.
 */
export const ACTIONS = ['create', 'update', 'replace', 'delete', 'no-op'] as const;
export type Action = (typeof ACTIONS)[number];

/** Where a desired resource came from, so messages and annotations can point at the file and line. */
export interface SourceRef {
  file: string;
  line: number;
}

/** One field-level difference between the live and the desired state, by dotted path. */
export interface FieldChange {
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

/** What applying a change does beyond the resource itself. */
export interface Impact {
  /** Karpenter will drift (replace) the nodes this object governs. */
  replacesNodes: boolean;
  /** One sentence for the reader: which fields, and what happens to which nodes. */
  detail: string;
}

/**
 * Invariants: `ref` is stable across runs and unique within a plan; `before` is the normalized live
 * state (absent for create), `after` the normalized desired state (absent for delete); both have
 * secrets masked; `fieldChanges` is empty for create, delete and no-op.
 */
export interface Change {
  /** Stable id, e.g. `aws:iam:role/KarpenterNodeRole-weasel-eks` or `k8s:karpenter.sh/v1/NodePool/default`. */
  ref: string;
  stage: StageName;
  /** Human type, e.g. `NodePool`, `IAM role`. */
  kind: string;
  name: string;
  action: Action;
  before?: unknown;
  after?: unknown;
  fieldChanges: FieldChange[];
  /** Why this action: "not in the cluster", "manifest removed and pruning is enabled", ... */
  reason?: string;
  impact?: Impact;
  source?: SourceRef;
}

export type FindingLevel = 'error' | 'warning' | 'info';

/**
 * A preflight or validation result. An error-level finding stops apply before any write; warnings
 * are shown in the plan.
 */
export interface Finding {
  level: FindingLevel;
  /** Stable machine code, e.g. `k8s-version-unsupported`, `manifest-v1beta1`. */
  code: string;
  message: string;
  /** What to do about it. */
  fix?: string;
  ref?: string;
  source?: SourceRef;
}

export interface StagePlan {
  stage: StageName;
  changes: Change[];
  findings: Finding[];
  /** Extra text shown with the stage (for example the v1 equivalent of a v1beta1 manifest). */
  notes: string[];
}

export interface ChangeCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  'no-op': number;
}

export const PLAN_FORMAT_VERSION = 1;

export interface Plan {
  formatVersion: typeof PLAN_FORMAT_VERSION;
  tool: { name: 'karpenter-action'; version: string };
  cluster: string;
  region: string;
  karpenterVersion: string;
  /** The commit the plan was made for (the PR head), when known. */
  headSha?: string;
  createdAt: string;
  stages: StagePlan[];
  counts: ChangeCounts;
  /** sha256 over the normalized actionable changes; see buildFingerprint. */
  fingerprint: string;
}

/** Counts per action over all stages. */
export function countChanges(stages: readonly StagePlan[]): ChangeCounts {
  const counts: ChangeCounts = { create: 0, update: 0, replace: 0, delete: 0, 'no-op': 0 };
  for (const s of stages) for (const c of s.changes) counts[c.action]++;
  return counts;
}

export const hasChanges = (c: ChangeCounts): boolean => c.create + c.update + c.replace + c.delete > 0;

/** The one-line summary of the contract's `summary` output: `+create ~update±replace -delete`. */
export function renderSummaryLine(c: ChangeCounts): string {
  const parts = [`+${c.create}`, `~${c.update}`];
  if (c.replace > 0) parts.push(`±${c.replace}`);
  parts.push(`-${c.delete}`);
  return parts.join(' ');
}
