import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeError, Refusal } from '../errors.ts';
import type { Inputs } from '../inputs.ts';
import { buildFingerprint } from '../plan/fingerprint.ts';
import {
  countChanges,
  hasChanges,
  PLAN_FORMAT_VERSION,
  renderSummaryLine,
  type Plan,
  type StagePlan,
} from '../plan/model.ts';
import { renderJobSummary, renderPlanComment } from '../render/markdown.ts';
import { renderPlanJson } from '../render/json.ts';
import { renderPlanText } from '../render/text.ts';
import { poolsStage, type PoolsContext } from '../stages/pools.ts';
import { prereqsStage, type PrereqsContext } from '../stages/prereqs.ts';
import { checkInstallApply, installStage, type InstallContext } from '../stages/install.ts';
import { isFailing, runVerify } from '../stages/verify.ts';
import { homedir } from 'node:os';
import type { StageResult } from '../stages/types.ts';
import { TOOL_VERSION } from '../version.ts';
import { prepare, type Prepared, type RunEnv } from './prepare.ts';
import { acquireApplyLock, ApplyLockLost } from '../adapters/apply-lock.ts';
import { KubeClient } from '../adapters/kube.ts';

/** Stages this build can plan; the others are reported as not run. */

export interface PlannedRun {
  prepared: Prepared;
  plan: Plan;
  poolsCtx: PoolsContext;
  prereqsCtx: PrereqsContext;
  installCtx: InstallContext;
}

/** The plan (or verify report) for this run's cluster: its stages, counts and fingerprint. */
function buildPlanRecord(prepared: Prepared, env: RunEnv, stages: StagePlan[]): Plan {
  const { cluster } = prepared;
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    tool: { name: 'karpenter-action', version: TOOL_VERSION },
    cluster: cluster.cluster,
    region: prepared.aws.region,
    karpenterVersion: cluster.karpenter.version,
    ...(env.headSha ? { headSha: env.headSha } : {}),
    createdAt: new Date().toISOString(),
    stages,
    counts: countChanges(stages),
    fingerprint: buildFingerprint(cluster.cluster, cluster.karpenter.version, stages),
  };
}

/** Plans every selected stage. Never writes to AWS or Kubernetes. */
export async function buildPlan(inputs: Inputs, env: RunEnv): Promise<PlannedRun> {
  return planPrepared(inputs, env, await prepare(inputs, env));
}

/** Plans every selected stage of a prepared run (config read, AWS and the cluster connected). */
export async function planPrepared(inputs: Inputs, env: RunEnv, prepared: Prepared): Promise<PlannedRun> {
  const { cluster } = prepared;
  const poolsCtx: PoolsContext = {
    cluster,
    log: env.log,
    kube: prepared.kube,
    manifests: prepared.manifests,
    offline: prepared.offline,
  };
  const prereqsCtx: PrereqsContext = {
    cluster,
    log: env.log,
    aws: prepared.aws,
    kube: prepared.kube,
    manifests: prepared.manifests,
  };
  const installCtx: InstallContext = {
    cluster,
    log: env.log,
    aws: prepared.aws,
    kube: prepared.kube,
    configDir: prepared.config.dir,
    toolCacheDir: join(process.env.RUNNER_TOOL_CACHE ?? join(homedir(), '.cache'), 'karpenter-action'),
  };
  const stages: StagePlan[] = [];
  for (const stage of inputs.stages) {
    // verify is no plan of changes: it runs after apply, and as its own command
    if (stage === 'verify') continue;
    if (stage === 'prereqs') stages.push(await prereqsStage.plan(prereqsCtx));
    else if (stage === 'install') stages.push(await installStage.plan(installCtx));
    else stages.push(await poolsStage.plan(poolsCtx));
  }
  const plan = buildPlanRecord(prepared, env, stages);
  return { prepared, plan, poolsCtx, prereqsCtx, installCtx };
}

/** Writes the plan file, outputs, annotations and summary; returns the plan file's path. */
export async function publishPlan(
  inputs: Inputs,
  env: RunEnv,
  plan: Plan,
  kind: 'plan' | 'verify' = 'plan',
): Promise<string> {
  const dir = resolve(env.workspace, inputs.planDir ?? env.tempDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `karpenter-${kind}-${plan.cluster}.json`);
  writeFileSync(path, renderPlanJson(plan));
  writeFileSync(join(dir, `karpenter-${kind}-${plan.cluster}.md`), renderPlanComment(plan, {}));
  for (const s of plan.stages) {
    for (const f of s.findings) {
      if (f.level === 'info') continue;
      env.annotate(f.level, `${f.message}${f.fix ? ` (${f.fix})` : ''}`, f.source);
    }
  }
  if (kind === 'plan') {
    env.setOutput('has-changes', String(hasChanges(plan.counts)));
    env.setOutput('fingerprint', plan.fingerprint);
    env.setOutput('plan-path', path);
    env.setOutput('summary', renderSummaryLine(plan.counts));
  } else env.setOutput('verify-path', path);
  if (env.print) env.print(renderPlanText(plan, { color: process.stdout.isTTY === true }));
  else await env.writeSummary(renderJobSummary(plan));
  return path;
}

export async function runPlan(inputs: Inputs, env: RunEnv): Promise<Plan> {
  const { plan } = await buildPlan(inputs, env);
  await publishPlan(inputs, env, plan);
  return plan;
}

/**
 * Verifies the cluster as it is now and publishes the report like a plan (file, comment markdown,
 * summary, annotations); a check that failed or timed out fails the command.
 */
export async function verifyPrepared(inputs: Inputs, env: RunEnv, prepared: Prepared): Promise<Plan> {
  const { cluster } = prepared;
  const { plan: stage, checks } = await runVerify({
    cluster,
    log: env.log,
    kube: prepared.kube,
    manifests: prepared.manifests,
    timeoutSeconds: cluster.verify.timeoutSeconds,
  });
  for (const c of checks)
    env.log.info(`verify ${c.status}: ${c.name} (${(c.elapsedMs / 1000).toFixed(1)} s) ${c.detail}`);
  const report = buildPlanRecord(prepared, env, [stage]);
  await publishPlan(inputs, env, report, 'verify');
  const bad = checks.filter(isFailing);
  if (bad.length > 0) {
    throw new Refusal(
      `verification failed: ${bad.length} of ${checks.length} check${checks.length === 1 ? '' : 's'} did not pass`,
      bad.map((c) => `${c.name}: ${c.status}: ${c.detail}${c.fix ? ` (${c.fix})` : ''}`),
    );
  }
  return report;
}

export async function runVerifyCommand(inputs: Inputs, env: RunEnv): Promise<Plan> {
  return verifyPrepared(inputs, env, await prepare(inputs, env));
}

const errorsOf = (plan: Plan) => plan.stages.flatMap((s) => s.findings).filter((f) => f.level === 'error');

/**
 * Re-plans, refuses when the plan has errors or differs from the approved one, then applies stage by
 * stage. A failure stops the run; what was applied stays applied and the next run completes the rest.
 */
export async function runApply(
  inputs: Inputs,
  env: RunEnv,
  opts: {
    autoApprove?: boolean;
    /**
     * A fresh plan with no changes is a success even when it is not the approved plan: the push of a
     * merge whose pull request was already applied by comment has nothing left to do.
     */
    alreadyAppliedOk?: boolean;
    onPrepared?: (p: Prepared) => void;
    onPlanned?: (p: Plan) => void;
  } = {},
): Promise<StageResult[]> {
  // One signal fences the run: when the lock is lost, every later AWS, Kubernetes and helm call fails
  // before it is sent, and a helm command in flight is killed.
  const fence = new AbortController();
  const prepared = await prepare(inputs, env, { signal: fence.signal });
  opts.onPrepared?.(prepared);
  // The re-plan, the comparison with the approved plan and the writes all happen under the lock, so
  // a second apply waits for this one and then plans against what this one left.
  const lock = await acquireApplyLock(new KubeClient(prepared.kube.http.withSignal(undefined)), {
    holder: env.identity ?? 'karpenter-action',
    waitSeconds: inputs.lockWait,
    fence,
    log: env.log,
  });
  try {
    const results = await applyLocked(inputs, env, prepared, opts);
    if (fence.signal.aborted) throw evaluateLockLoss(fence.signal, undefined);
    return results;
  } catch (e) {
    throw fence.signal.aborted ? evaluateLockLoss(fence.signal, e) : e;
  } finally {
    await lock.release();
  }
}

/** The apply's error once its lock was lost: the loss first, then what failed because of it. */
function evaluateLockLoss(signal: AbortSignal, cause: unknown): Error {
  const lost: unknown = signal.reason;
  if (!(lost instanceof ApplyLockLost) || cause === lost)
    return (cause as Error | undefined) ?? (lost as Error);
  const what =
    cause instanceof Refusal ? [cause.message, ...cause.details] : cause ? [describeError(cause)] : [];
  return new ApplyLockLost(`${lost.message}; the apply stopped`, [...lost.details, ...what]);
}

async function applyLocked(
  inputs: Inputs,
  env: RunEnv,
  prepared: Prepared,
  opts: { autoApprove?: boolean; alreadyAppliedOk?: boolean; onPlanned?: (p: Plan) => void },
): Promise<StageResult[]> {
  const autoApprove = opts.autoApprove === true;
  const run = await planPrepared(inputs, env, prepared);
  const { plan } = run;
  opts.onPlanned?.(plan);
  await publishPlan(inputs, env, plan);
  const errors = errorsOf(plan);
  if (errors.length > 0) {
    throw new Refusal(
      `the plan has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was applied`,
      errors.map(
        (f) =>
          `${f.source ? `${f.source.file}:${f.source.line}: ` : ''}${f.message}${f.fix ? ` (${f.fix})` : ''}`,
      ),
    );
  }
  if (inputs.fingerprint === undefined && !autoApprove) {
    throw new Refusal(`apply needs the approved plan's fingerprint; this plan's is ${plan.fingerprint}`, [
      'pass it as the "fingerprint" input (or --fingerprint) after reviewing the plan',
    ]);
  }
  const verifyAfter = inputs.stages.includes('verify');
  if (
    opts.alreadyAppliedOk &&
    inputs.fingerprint !== undefined &&
    inputs.fingerprint !== plan.fingerprint &&
    !hasChanges(plan.counts)
  ) {
    env.log.info(
      `no changes to apply: the cluster already matches the repository, so the approved plan ${inputs.fingerprint.slice(0, 12)} was applied before (by /karpenter apply on the pull request, or another run)`,
    );
    if (verifyAfter) await verifyPrepared(inputs, env, run.prepared);
    return [];
  }
  if (inputs.fingerprint !== undefined && inputs.fingerprint !== plan.fingerprint) {
    throw new Refusal(
      `plan is stale: the approved plan was ${inputs.fingerprint}, but the cluster and repository now plan ${plan.fingerprint}`,
      [
        'something changed since the plan was approved (the repository, or the cluster); review the new plan and approve it',
      ],
    );
  }
  if (!hasChanges(plan.counts)) {
    env.log.info('no changes to apply');
    if (verifyAfter) await verifyPrepared(inputs, env, run.prepared);
    return [];
  }
  if (plan.stages.some((s) => s.stage === 'install')) await checkInstallApply(run.installCtx);
  const results: StageResult[] = [];
  for (const stagePlan of plan.stages) {
    let r: StageResult;
    if (stagePlan.stage === 'prereqs') r = await prereqsStage.apply(run.prereqsCtx, stagePlan);
    else if (stagePlan.stage === 'install') r = await installStage.apply(run.installCtx, stagePlan);
    else if (stagePlan.stage === 'pools') r = await poolsStage.apply(run.poolsCtx, stagePlan);
    else continue;
    results.push(r);
    for (const c of r.changes)
      env.log.info(`${c.outcome}: ${c.action} ${c.ref}${c.message ? ` (${c.message})` : ''}`);
    if (!r.ok) {
      const failed = r.changes.filter((c) => c.outcome === 'failed');
      throw new Refusal(
        `apply of stage ${r.stage} failed; run apply again after fixing the cause (applied changes are kept)`,
        failed.map((c) => `${c.ref}: ${c.message ?? 'failed'}`),
      );
    }
  }
  if (verifyAfter) await verifyPrepared(inputs, env, run.prepared);
  return results;
}
