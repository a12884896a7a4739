import type { StageName } from '../inputs.ts';
import { countChanges } from '../plan/model.ts';
import type { Action, Change, ChangeCounts, Finding, Plan, SourceRef, StagePlan } from '../plan/model.ts';
import { diffObjects } from '../plan/text-diff.ts';
import { maskChange } from './sensitive.ts';

/** The sign each renderer puts in front of a change, as in the `summary` output. */
export const ACTION_SYMBOL: Record<Action, string> = {
  create: '+',
  update: '~',
  replace: '±',
  delete: '-',
  'no-op': '=',
};

/** A change ready to print: secrets masked, diff computed once for every layout that needs it. */
export interface ChangeView {
  /** Unique within the plan: `<stage index>:<change index>`. */
  key: string;
  change: Change;
  diff: string;
}

/** One stage as the renderers show it. */
export interface StageView {
  stage: StageName;
  counts: ChangeCounts;
  /** Changes that do something; no-ops are only counted. */
  changes: ChangeView[];
  unchanged: number;
  /** Info-level findings; errors and warnings are gathered plan-wide. */
  info: Finding[];
  notes: string[];
  /** The stage deletes something or makes Karpenter replace nodes, so its block starts open. */
  risky: boolean;
}

/** A finding with the stage it came from, for the plan-wide error and warning lists. */
export interface StagedFinding {
  stage: StageName;
  finding: Finding;
}

/** A change with its stage, for the plan-wide warning list. */
export interface StagedChange {
  stage: StageName;
  change: Change;
}

/** Everything the markdown and text renderers show, derived once from the plan. */
export interface PlanView {
  plan: Plan;
  stages: StageView[];
  errors: StagedFinding[];
  warnings: StagedFinding[];
  /** Deletes and replaces: the resource goes away, at least for a moment. */
  deletions: StagedChange[];
  /** Changes whose impact says Karpenter will replace nodes. */
  nodeReplacements: StagedChange[];
}

/** Whether applying the change removes the resource, even if it comes back. */
export const removesResource = (c: Change): boolean => c.action === 'delete' || c.action === 'replace';

function buildStageView(stage: StagePlan, index: number): StageView {
  const changes: ChangeView[] = [];
  let unchanged = 0;
  stage.changes.forEach((raw, i) => {
    if (raw.action === 'no-op') {
      unchanged++;
      return;
    }
    const change = maskChange(raw);
    changes.push({ key: `${index}:${i}`, change, diff: diffObjects(change.before, change.after) });
  });
  return {
    stage: stage.stage,
    counts: countChanges([stage]),
    changes,
    unchanged,
    info: stage.findings.filter((f) => f.level === 'info'),
    notes: stage.notes,
    risky: changes.some(({ change }) => removesResource(change) || change.impact?.replacesNodes === true),
  };
}

/** The renderers' shared reading of a plan, so the comment, the summary and the CLI never disagree. */
export function buildPlanView(plan: Plan): PlanView {
  const stages = plan.stages.map(buildStageView);
  const findings = plan.stages.flatMap((s) => s.findings.map((finding) => ({ stage: s.stage, finding })));
  const changes = stages.flatMap((s) => s.changes.map(({ change }) => ({ stage: s.stage, change })));
  return {
    plan,
    stages,
    errors: findings.filter((f) => f.finding.level === 'error'),
    warnings: findings.filter((f) => f.finding.level === 'warning'),
    deletions: changes.filter((c) => removesResource(c.change)),
    nodeReplacements: changes.filter((c) => c.change.impact?.replacesNodes === true),
  };
}

/** `karpenter/default.yaml:12`, the form editors and GitHub annotations understand. */
export const renderSource = (s: SourceRef): string => `${s.file}:${s.line}`;

/** "2 to create, 1 to delete": the per-action counts in words, zero counts left out. */
export function renderCountsInWords(c: ChangeCounts): string {
  const parts: string[] = [];
  if (c.create > 0) parts.push(`${c.create} to create`);
  if (c.update > 0) parts.push(`${c.update} to update`);
  if (c.replace > 0) parts.push(`${c.replace} to replace`);
  if (c.delete > 0) parts.push(`${c.delete} to delete`);
  return parts.join(', ');
}

/** The sentence every renderer uses for a plan without changes. */
export const NO_CHANGES = 'No changes. The cluster matches the repository.';

/** "1 error" / "2 errors". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
