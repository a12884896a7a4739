import { readFileSync } from 'node:fs';
import type { Change, Plan } from '../../src/plan/model.ts';

export { parseOutputs, runAction, type ActionRun } from '../../sandbox/lib/action-run.ts';

/** A plan (or verify report) file the action wrote. */
export const readPlan = (path: string): Plan => JSON.parse(readFileSync(path, 'utf8')) as Plan;

/** The plan's changes that would do something. */
export const actionable = (p: Plan): Change[] =>
  p.stages.flatMap((s) => s.changes).filter((c) => c.action !== 'no-op');
