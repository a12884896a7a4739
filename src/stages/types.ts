import type { ClusterConfig } from '../config/load.ts';
import type { StageName } from '../inputs.ts';
import type { Action, StagePlan } from '../plan/model.ts';

/** What one applied change did. Results are past tense: created, updated, deleted. */
export interface AppliedChange {
  ref: string;
  action: Action;
  outcome: 'done' | 'failed' | 'skipped';
  message?: string;
}

export interface StageResult {
  stage: StageName;
  changes: AppliedChange[];
  ok: boolean;
}

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  debug(line: string): void;
}

/** Every stage: plan never writes; apply carries out exactly the listed changes and never re-decides. */
export interface Stage<Ctx> {
  readonly name: StageName;
  plan(ctx: Ctx): Promise<StagePlan>;
  apply(ctx: Ctx, plan: StagePlan): Promise<StageResult>;
}

export interface BaseContext {
  cluster: ClusterConfig;
  log: Logger;
}
