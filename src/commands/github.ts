import { execFileSync } from 'node:child_process';
import { EVENTS, NODECLAIMS } from '../adapters/kube-resources.ts';
import { conditionOf, type KubeObject, type KubePort } from '../adapters/kube.ts';
import { OidcUnavailable } from '../adapters/aws-credentials.ts';
import { renderIssue } from '../config/issues.ts';
import { loadConfig, selectCluster } from '../config/load.ts';
import { Refusal, describeError } from '../errors.ts';
import { buildFleetMatrix, readBaseConfig } from '../fleet/matrix.ts';
import { parseApplyComment } from '../github/apply-comment.ts';
import {
  buildDeciders,
  buildPushers,
  evaluateApplyRequirements,
  type ReviewInput,
} from '../github/approval.ts';
import { GitHubApiError, GitHubClient, type RepoPermission } from '../github/client.ts';
import { readGithubContext, type GithubContext } from '../github/context.ts';
import { reportDriftIssue } from '../github/drift-issue.ts';
import {
  buildFirstLine,
  evaluateSameAuthor,
  readStickyComment,
  upsertStickyComment,
} from '../github/sticky.ts';
import type { Inputs } from '../inputs.ts';
import { hasChanges, renderSummaryLine, type Plan } from '../plan/model.ts';
import { parsePlanMarker, planMarker, renderPlanComment } from '../render/markdown.ts';
import { escapeMarkdown } from '../render/markdown-escape.ts';
import { maskSecrets } from '../render/sensitive.ts';
import { buildPlan, publishPlan, runApply } from './plan.ts';
import type { RunEnv } from './prepare.ts';

/** The pull request, repository and client a command talks to GitHub with, when it runs in Actions. */
interface GithubRun {
  ctx: GithubContext;
  client: GitHubClient | undefined;
  /** The `comment` input: false keeps the action from writing any pull-request comment. */
  comment: boolean;
}

function openGithub(inputs: Inputs, env: RunEnv, source: NodeJS.ProcessEnv = process.env): GithubRun {
  const ctx = readGithubContext(source);
  const client =
    inputs.githubToken && ctx.repo
      ? new GitHubClient({
          token: inputs.githubToken,
          apiUrl: ctx.apiUrl,
          graphqlUrl: ctx.graphqlUrl,
          repo: ctx.repo,
          log: env.log,
        })
      : undefined;
  return { ctx, client, comment: inputs.comment };
}

/** The cluster a run is for, from the config alone, so a failure before planning can still be reported. */
function clusterName(inputs: Inputs, env: RunEnv): string | undefined {
  try {
    const loaded = loadConfig(inputs.config, env.workspace);
    return loaded.config ? selectCluster(loaded.config, inputs.cluster).cluster : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The hidden first line of an apply result. It names the run attempt, so that after a failed post the
 * result can be looked for before it is posted again: one result per attempt, never two.
 */
const applyMarker = (cluster: string, ctx: GithubContext) =>
  `<!-- karpenter-action:apply cluster=${encodeURIComponent(cluster)}${
    ctx.runId ? ` run=${encodeURIComponent(ctx.runId)}.${encodeURIComponent(ctx.runAttempt || '1')}` : ''
  } -->`;

function applyHint(cluster: string): string {
  return `To apply: merge this pull request (the apply job on the default branch runs behind its protected environment), or comment \`/karpenter apply ${cluster}\` once someone with write access, other than the author and whoever pushed the last commit, has approved this plan (a plan made again needs a fresh approval).`;
}

/** Posts or updates the one plan comment of this cluster on the pull request; failures only warn. */
async function commentOnPull(
  gh: GithubRun,
  inputs: Inputs,
  env: RunEnv,
  cluster: string,
  body: string,
): Promise<void> {
  if (!inputs.comment || !gh.ctx.pull || !gh.client) return;
  try {
    const r = await upsertStickyComment(gh.client, gh.ctx.pull.number, planMarker(cluster), body);
    if (r.url) env.setOutput('comment-url', r.url);
    env.log.info(`${r.created ? 'created' : 'updated'} the plan comment on #${gh.ctx.pull.number}`);
  } catch (e) {
    env.log.warn(`could not write the plan comment: ${explainGithub(e)}`);
  }
}

function explainGithub(e: unknown): string {
  if (e instanceof GitHubApiError) return `${e.message}${e.hint() ? ` (${e.hint()})` : ''}`;
  return describeError(e);
}

/**
 * `plan`: plans, publishes, and on a pull request keeps one comment per cluster up to date. A fork's
 * pull request gets no OIDC token; it gets a comment saying so instead of a stack trace.
 */
export async function runPlanCommand(inputs: Inputs, runEnv: RunEnv): Promise<void> {
  const gh = openGithub(inputs, runEnv);
  const env = inputs.pullRequest === undefined ? runEnv : await targetPull(gh, inputs.pullRequest, runEnv);
  let plan: Plan;
  try {
    plan = (await buildPlan(inputs, env)).plan;
  } catch (e) {
    const cluster = clusterName(inputs, env);
    if (e instanceof OidcUnavailable && gh.ctx.pull?.isFork && cluster) {
      // A fork's pull_request run gets no OIDC token and a read-only GITHUB_TOKEN: a comment would
      // fail with 403, so the step summary carries what a maintainer does.
      const text = [
        `### Karpenter plan for \`${escapeMarkdown(cluster)}\` was not run`,
        '',
        'This pull request comes from a fork. GitHub gives workflows of fork pull requests no OIDC token and a read-only token, so the action can reach neither AWS nor the cluster, nor comment here.',
        '',
        'What a maintainer does:',
        `- to see its plan here: review the change, then run the plan workflow by hand with this pull request's number (\`gh workflow run ${gh.ctx.workflow ? `"${gh.ctx.workflow}"` : '<plan workflow>'} -f pull-request=${gh.ctx.pull.number}\`); it plans the pull request's head with the plan role and posts the plan comment here, and after the merge the push applies that plan as for any pull request;`,
        `- to apply before merging: push its commit to a branch of this repository and open a pull request from that branch (\`gh pr checkout ${gh.ctx.pull.number} && git push origin HEAD:refs/heads/fork-${gh.ctx.pull.number}\`); \`/karpenter apply\` works there;`,
        '- `/karpenter apply` is refused on fork pull requests.',
      ].join('\n');
      await env.writeSummary(text);
      env.annotate(
        'warning',
        `plan not run: fork pull requests get no OIDC token; a maintainer pushes the reviewed commit to a branch of this repository (see the job summary)`,
      );
      return;
    }
    throw e;
  }
  await publishPlan(inputs, env, plan);
  await commentOnPull(
    gh,
    inputs,
    env,
    plan.cluster,
    renderPlanComment(plan, { detailsUrl: gh.ctx.runUrl, applyHint: applyHint(plan.cluster) }),
  );
  failOnErrors(plan);
}

/**
 * A plan with an error finding fails the step, whichever check found it (the offline schema check,
 * the API server's dry-run, a preflight), so the pull request's check goes red; the plan is published
 * and commented first, so the reviewer sees why.
 */
function failOnErrors(plan: Plan): void {
  const errors = plan.stages.flatMap((s) => s.findings).filter((f) => f.level === 'error');
  if (errors.length === 0) return;
  throw new Refusal(
    `the plan for ${plan.cluster} has ${errors.length} error${errors.length === 1 ? '' : 's'}; it cannot be applied until ${errors.length === 1 ? 'it is' : 'they are'} fixed`,
    errors.map(
      (f) =>
        `${f.source ? `${f.source.file}:${f.source.line}: ` : ''}${f.message}${f.fix ? ` (${f.fix})` : ''}`,
    ),
  );
}

/**
 * The `pull-request` input of a `workflow_dispatch` plan: the pull request whose head the workspace must
 * have checked out. Its plan comment then says which commit was planned, as on a `pull_request` run, and a
 * later apply is judged against it like any other. A maintainer uses this for a fork's pull request,
 * whose own runs get no OIDC token.
 */
async function targetPull(gh: GithubRun, number: number, env: RunEnv): Promise<RunEnv> {
  if (gh.ctx.pull && gh.ctx.pull.number !== number)
    throw new Refusal(
      `input "pull-request" is #${number} but this run is for pull request #${gh.ctx.pull.number}`,
    );
  if (!gh.client)
    throw new Refusal(
      `input "pull-request" needs the github-token input (and a repository) to read #${number}`,
    );
  const pr = await gh.client.readPull(number);
  const repo = gh.ctx.repo ? `${gh.ctx.repo.owner}/${gh.ctx.repo.repo}` : undefined;
  if (pr.state !== 'open')
    throw new Refusal(`pull request #${number} is ${pr.merged ? 'merged' : pr.state}; plan an open one`);
  if (pr.base.repoFullName !== repo)
    throw new Refusal(
      `pull request #${number} is into ${pr.base.repoFullName ?? 'another repository'}, not ${repo ?? 'this repository'}`,
    );
  const checkedOut = readWorkspaceCommit(env.workspace);
  if (checkedOut !== pr.head.sha)
    throw new Refusal(
      `the workspace has ${checkedOut ? `commit ${checkedOut.slice(0, 12)}` : 'no git commit'} checked out, not the head ${pr.head.sha.slice(0, 12)} of pull request #${number}`,
      [
        `check it out first: actions/checkout with ref: refs/pull/${number}/head (see docs/examples/plan.yml)`,
        'a plan comment names the commit it planned; it must be the one the pull request would merge',
      ],
    );
  gh.ctx = {
    ...gh.ctx,
    pull: {
      number,
      headSha: pr.head.sha,
      headRef: pr.head.ref,
      baseSha: pr.base.sha,
      baseRef: pr.base.ref,
      headRepo: pr.head.repoFullName,
      baseRepo: pr.base.repoFullName,
      isFork: pr.head.repoFullName !== pr.base.repoFullName,
      author: pr.user.login,
    },
  };
  env.log.info(`planning pull request #${number} at ${pr.head.sha.slice(0, 12)} (checked out)`);
  return { ...env, headSha: pr.head.sha };
}

/** The commit checked out in the workspace: `/karpenter apply` must apply the code that was approved. */
function readWorkspaceCommit(workspace: string): string | undefined {
  try {
    return execFileSync('git', ['-C', workspace, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The plan comment of a pull request that an apply is judged against: its fingerprint and last change. */
interface PlannedComment {
  fingerprint: string;
  changedAt: string;
}

/**
 * The fingerprint of the plan comment for `cluster` on a pull request, which must be the plan of
 * `headSha` and last edited by nobody but the action, and when that comment last changed; each gate
 * words the refusals for its own situation.
 */
async function readPlannedComment(
  client: GitHubClient,
  number: number,
  cluster: string,
  headSha: string,
  refuse: { missing: () => Refusal; stale: (plannedHead: string) => Refusal },
): Promise<PlannedComment> {
  const comment = await readStickyComment(client, number, planMarker(cluster));
  const marker = comment ? parsePlanMarker(comment.body) : undefined;
  if (!comment || !marker || marker.fingerprint === 'none') throw refuse.missing();
  if (marker.head !== headSha) throw refuse.stale((marker.head ?? 'unknown').slice(0, 7));
  const editor = await client.readCommentEditor(comment.nodeId);
  if (editor !== undefined && !evaluateSameAuthor(editor, await client.readViewerLogin()))
    throw new Refusal(
      `the plan comment on #${number} was last edited by @${editor}, so it no longer shows what the action planned`,
      ['run the plan workflow again (it writes the plan anew), review it, and have it approved'],
    );
  return { fingerprint: marker.fingerprint, changedAt: comment.updatedAt || comment.createdAt };
}

/** The branch applies come from: the `base-branch` input, else the repository's default branch. */
async function readBaseBranch(client: GitHubClient, inputs: Inputs, ctx: GithubContext): Promise<string> {
  return inputs.baseBranch ?? ctx.defaultBranch ?? (await client.readDefaultBranch());
}

/** Who pushed the head commit, or undefined when GitHub's activity log cannot tell (then nobody is trusted). */
async function readPushers(
  client: GitHubClient,
  env: RunEnv,
  branch: string,
  sha: string,
): Promise<string[] | undefined> {
  try {
    return buildPushers(await client.listBranchActivity(branch), sha);
  } catch (e) {
    if (e instanceof GitHubApiError && [403, 404, 410, 422].includes(e.status)) {
      env.log.warn(`could not read the activity log of branch ${branch}: ${explainGithub(e)}`);
      return undefined;
    }
    throw e;
  }
}

async function readPermissions(client: GitHubClient, logins: string[]): Promise<Map<string, RepoPermission>> {
  const entries = await Promise.all(
    logins.map(async (l) => [l.toLowerCase(), await client.readCollaboratorPermission(l)] as const),
  );
  return new Map(entries);
}

/** A `/karpenter apply` comment's requirements, checked in order; the first failure is the answer. */
async function approveFromComment(
  client: GitHubClient,
  inputs: Inputs,
  env: RunEnv,
  ctx: GithubContext,
  cluster: string,
  number: number,
  commenter: string,
): Promise<{ fingerprint: string }> {
  const pr = await client.readPull(number);
  if (pr.state !== 'open') throw new Refusal(`pull request #${number} is ${pr.merged ? 'merged' : 'closed'}`);
  if (pr.head.repoFullName !== pr.base.repoFullName)
    throw new Refusal(
      `pull request #${number} comes from a fork; /karpenter apply runs only for branches of this repository`,
    );
  const base = await readBaseBranch(client, inputs, ctx);
  if (pr.base.ref !== base)
    throw new Refusal(
      `pull request #${number} targets branch ${pr.base.ref}, not ${base}; /karpenter apply runs only for pull requests into ${base}`,
      [
        `apply would carry out the whole head of the branch, while the review saw only its difference from ${pr.base.ref}; change the pull request's base to ${base}, then wait for the new plan and its approval`,
      ],
    );
  const permission = await client.readCollaboratorPermission(commenter);
  if (!['admin', 'maintain', 'write'].includes(permission))
    throw new Refusal(
      `@${commenter} may not apply: it takes write access to the repository (they have ${permission})`,
    );
  const planned = await readPlannedComment(client, number, cluster, pr.head.sha, {
    missing: () =>
      new Refusal(`pull request #${number} has no plan for cluster ${cluster}`, [
        'wait for the plan workflow to comment, then comment /karpenter apply again',
      ]),
    stale: (plannedHead) =>
      new Refusal(
        `the plan on #${number} is for commit ${plannedHead}, but the pull request's head is ${pr.head.sha.slice(0, 7)}`,
        ['wait for the plan of the newest commit, review it, then comment /karpenter apply again'],
      ),
  });
  const wants = new Set(inputs.applyRequirements);
  const reviews: ReviewInput[] = wants.has('approved')
    ? (await client.listPullReviews(number)).map((r) => ({
        id: r.id,
        user: r.user.login,
        state: r.state,
        commitId: r.commitId,
        submittedAt: r.submittedAt,
      }))
    : [];
  const [permissions, pushers, status, comparison] = await Promise.all([
    readPermissions(client, buildDeciders(pr.user.login, reviews)),
    wants.has('approved') ? readPushers(client, env, pr.head.ref, pr.head.sha) : Promise.resolve([]),
    wants.has('approved') || wants.has('mergeable')
      ? client.readPullStatus(number)
      : Promise.resolve(undefined),
    wants.has('undiverged') ? client.readComparison(base, pr.head.sha) : Promise.resolve(undefined),
  ]);
  const verdict = evaluateApplyRequirements({
    requirements: inputs.applyRequirements,
    approval: {
      author: pr.user.login,
      headSha: pr.head.sha,
      headRef: pr.head.ref,
      reviews,
      required: inputs.approvals,
      permissions,
      pushers,
      planChangedAt: planned.changedAt,
    },
    status,
    comparison,
    baseRef: base,
    ownWorkflow: ctx.workflow || undefined,
  });
  if (!verdict.approved)
    throw new Refusal(`pull request #${number} is not approved for apply`, verdict.problems);
  const checkedOut = readWorkspaceCommit(env.workspace);
  if (checkedOut !== pr.head.sha)
    throw new Refusal(
      `the workspace holds commit ${checkedOut?.slice(0, 7) ?? '(not a git checkout)'}, not the pull request's head ${pr.head.sha.slice(0, 7)}`,
      [
        `check out the pull request's head before the action: actions/checkout with ref: refs/pull/${number}/head`,
      ],
    );
  const by =
    verdict.approvers.length > 0 ? `approved by ${verdict.approvers.join(', ')}` : 'requirements met';
  env.log.info(
    `${by} (${inputs.applyRequirements.join(', ')}); applying the plan ${planned.fingerprint.slice(0, 12)}`,
  );
  return { fingerprint: planned.fingerprint };
}

/**
 * On the base branch after a merge: the plan of the pull request that this push merged is the
 * approved one. Only that pull request counts; a commit merely contained in some pull request (pushed
 * straight to the branch) has no approved plan.
 */
async function approveFromMerge(
  client: GitHubClient,
  sha: string,
  cluster: string,
  base: string,
): Promise<{ fingerprint: string; number: number }> {
  const pulls = await client.listPullsForCommit(sha);
  const pr = pulls.find((p) => p.mergedAt && p.mergeCommitSha === sha && p.base.ref === base);
  if (!pr)
    throw new Refusal(
      `commit ${sha.slice(0, 7)} is not the merge of a pull request into ${base}, so there is no approved plan`,
      [
        ...pulls.map(
          (p) =>
            `pull request #${p.number} contains it, but ${p.mergedAt ? `was merged into ${p.base.ref} as commit ${(p.mergeCommitSha ?? 'unknown').slice(0, 7)}` : 'is not merged'}; only the push of its merge applies its plan`,
        ),
        'apply on push needs the plan comment of the merged pull request; push changes through pull requests, or pass the "fingerprint" input',
      ],
    );
  const { fingerprint } = await readPlannedComment(client, pr.number, cluster, pr.head.sha, {
    missing: () =>
      new Refusal(`merged pull request #${pr.number} has no plan comment for cluster ${cluster}`, [
        'the plan workflow must run on the pull request before it is merged',
      ]),
    stale: (planned) =>
      new Refusal(
        `the last plan on #${pr.number} is for commit ${planned}, but the pull request ended at ${pr.head.sha.slice(0, 7)}`,
        ['the last commit was never planned; run the plan workflow for it and merge again'],
      ),
  });
  return { fingerprint, number: pr.number };
}

function renderApplyResult(
  cluster: string,
  ctx: GithubContext,
  plan: Plan | undefined,
  error: unknown,
  approvedFingerprint?: string,
): string {
  const runUrl = ctx.runUrl;
  const lines = [applyMarker(cluster, ctx)];
  if (error === undefined) {
    lines.push(
      `### Karpenter apply for \`${escapeMarkdown(cluster)}\` succeeded`,
      '',
      plan && hasChanges(plan.counts)
        ? `Applied ${renderSummaryLine(plan.counts)} (plan \`${plan.fingerprint.slice(0, 12)}\`).`
        : plan && approvedFingerprint && approvedFingerprint !== plan.fingerprint
          ? `Nothing left to apply: the cluster already matches the repository, so the approved plan \`${approvedFingerprint.slice(0, 12)}\` was applied before (by \`/karpenter apply\` on the pull request, or another run).`
          : 'Nothing to change: the cluster already matched the plan.',
    );
  } else {
    const r = error instanceof Refusal ? error : undefined;
    lines.push(
      `### Karpenter apply for \`${escapeMarkdown(cluster)}\` did not run to the end`,
      '',
      escapeMarkdown(maskSecrets(r ? r.message : describeError(error))),
      ...(r?.details ?? []).map((d) => `- ${escapeMarkdown(maskSecrets(d))}`),
    );
  }
  if (runUrl) lines.push('', `[Run log](${runUrl})`);
  return lines.join('\n');
}

/**
 * `apply`, gated: with a `fingerprint` input (or `auto-approve`) as given; on an issue comment only for
 * an approved, fresh plan (`/karpenter apply`); on the default branch only the merged pull request's
 * last plan. The outcome is reported back on that pull request.
 */
export async function runApplyCommand(inputs: Inputs, env: RunEnv): Promise<void> {
  const gh = openGithub(inputs, env);
  const { ctx } = gh;
  let approved = inputs;
  let reportTo: number | undefined;
  let approvedByMerge = false;
  let cluster = clusterName(inputs, env);

  if (ctx.eventName === 'issue_comment' && ctx.comment) {
    const cmd = parseApplyComment(ctx.comment.body);
    if (!cmd || !ctx.comment.onPullRequest) {
      env.log.info('the comment is not a /karpenter apply command on a pull request; nothing to do');
      return;
    }
    if (ctx.comment.action !== 'created') {
      env.annotate(
        'warning',
        `/karpenter apply ignored: the comment was ${ctx.comment.action || 'not newly created'}; only a newly created comment starts an apply, so post a new one`,
      );
      return;
    }
    const client = gh.client;
    if (!client || !ctx.repo) throw new Refusal('/karpenter apply needs the github-token input');
    reportTo = ctx.comment.issueNumber;
    if (cmd.kind === 'invalid') {
      await reply(gh, env, reportTo, `${applyMarker(cluster ?? '', ctx)}\n${escapeMarkdown(cmd.message)}`);
      throw new Refusal(cmd.message);
    }
    if (cmd.cluster && cluster && cmd.cluster !== cluster) {
      env.log.info(`the comment asks to apply cluster ${cmd.cluster}; this job is for ${cluster}`);
      return;
    }
    cluster = cluster ?? cmd.cluster;
    if (!cluster) throw new Refusal('set the "cluster" input: the config lists several clusters');
    try {
      const { fingerprint } = await approveFromComment(
        client,
        inputs,
        env,
        ctx,
        cluster,
        reportTo,
        ctx.comment.author,
      );
      approved = { ...inputs, fingerprint, cluster };
    } catch (e) {
      await reply(gh, env, reportTo, renderApplyResult(cluster, ctx, undefined, e));
      throw e;
    }
  } else if (inputs.fingerprint === undefined && !inputs.autoApprove && gh.client && cluster && ctx.sha) {
    const base = await readBaseBranch(gh.client, inputs, ctx);
    const onBase = ctx.ref === `refs/heads/${base}`;
    if (ctx.eventName === 'push' && !onBase)
      throw new Refusal(
        `apply on push runs only for pushes to ${base}; this push is to ${ctx.ref || 'an unknown ref'}`,
        [
          `a branch other than ${base} carries no reviewed plan; limit the workflow to \`on: push: branches: [${base}]\`, or set the "base-branch" input`,
        ],
      );
    if (onBase && (ctx.eventName === 'push' || ctx.eventName === 'workflow_dispatch')) {
      const merged = await approveFromMerge(gh.client, ctx.sha, cluster, base);
      approved = { ...inputs, fingerprint: merged.fingerprint };
      approvedByMerge = true;
      reportTo = merged.number;
    }
  }

  let plan: Plan | undefined;
  try {
    await runApply(approved, env, {
      autoApprove: inputs.autoApprove,
      alreadyAppliedOk: approvedByMerge,
      onPlanned: (p) => (plan = p),
    });
  } catch (e) {
    if (reportTo !== undefined && cluster)
      await reply(gh, env, reportTo, renderApplyResult(cluster, ctx, plan, e));
    throw e;
  }
  if (reportTo !== undefined && cluster)
    await reply(gh, env, reportTo, renderApplyResult(cluster, ctx, plan, undefined, approved.fingerprint));
}

/**
 * Posts an apply's answer on the pull request. Its marker names the run attempt, so after a failed
 * post that went through anyway the answer is found instead of posted twice.
 */
async function reply(gh: GithubRun, env: RunEnv, number: number, body: string): Promise<void> {
  const client = gh.client;
  if (!client || !gh.comment) return;
  const marker = buildFirstLine(body);
  const findExisting = gh.ctx.runId
    ? async () => {
        const viewer = await client.readViewerLogin();
        return (await client.listIssueComments(number)).find(
          (c) => buildFirstLine(c.body) === marker && evaluateSameAuthor(c.user.login, viewer),
        );
      }
    : undefined;
  try {
    const c = await client.createIssueComment(number, body, findExisting);
    if (c.url) env.setOutput('comment-url', c.url);
  } catch (e) {
    env.log.warn(`could not report on #${number}: ${explainGithub(e)}`);
  }
}

/**
 * `drift`: plans against the repository as it is; any change is configuration drift. One issue per
 * cluster is opened or updated with the report, and closed once the cluster matches again.
 */
export async function runDriftCommand(inputs: Inputs, env: RunEnv): Promise<void> {
  const gh = openGithub(inputs, env);
  const driftInputs = { ...inputs, stages: inputs.stages.filter((s) => s !== 'verify') };
  const run = await buildPlan(driftInputs, env);
  const { plan } = run;
  const notes = plan.stages[plan.stages.length - 1]?.notes;
  const drifted = await countDriftedNodeClaims(run.prepared.kube);
  if (drifted > 0)
    notes?.push(
      `${drifted} NodeClaim${drifted === 1 ? ' is' : 's are'} Drifted: Karpenter replaces ${drifted === 1 ? 'it' : 'them'} to match the NodePools and EC2NodeClasses (node drift, not configuration drift).`,
    );
  const interrupted = await interruptedNodeClaims(run.prepared.kube);
  if (interrupted.length > 0)
    notes?.push(
      `Karpenter replaced ${interrupted.length === 1 ? 'a node' : `${interrupted.length} nodes`} on AWS interruption notices (${interrupted.map((i) => `${i.name}: ${i.reasons.join(', ')}`).join('; ')}): capacity events, not configuration drift.`,
    );
  await publishPlan(driftInputs, env, plan);
  const drift = hasChanges(plan.counts);
  env.setOutput('drift', String(drift));
  let issue: { action: string; number?: number; url?: string } | undefined;
  if (gh.client) {
    try {
      issue = await reportDriftIssue(gh.client, {
        cluster: plan.cluster,
        drift,
        title: `Configuration drift: ${plan.cluster} differs from the repository`,
        body: renderPlanComment(plan, { detailsUrl: gh.ctx.runUrl }),
        resolvedComment: `The cluster matches the repository again${gh.ctx.runUrl ? ` ([run](${gh.ctx.runUrl}))` : ''}.`,
      });
      env.log.info(`drift issue: ${issue.action}${issue.number ? ` #${issue.number}` : ''}`);
      if (issue.number && issue.action !== 'closed') env.setOutput('drift-issue', String(issue.number));
    } catch (e) {
      env.log.warn(`could not update the drift issue: ${explainGithub(e)}`);
    }
  }
  if (drift && inputs.failOnDrift)
    throw new Refusal(
      `configuration drift: cluster ${plan.cluster} differs from the repository (${renderSummaryLine(plan.counts)})`,
      [
        issue?.url ? `the report is in ${issue.url}` : 'the report is in the job summary',
        'apply the repository again, or change the repository to match the cluster',
      ],
    );
}

/** The reasons Karpenter's interruption controller records on a NodeClaim it acts on. */
const INTERRUPTION_REASONS = new Set([
  'SpotInterrupted',
  'CapacityReservationInstanceInterrupted',
  'InstanceStopping',
  'InstanceTerminating',
  'InstanceUnhealthy',
  'TerminatingOnInterruption',
]);

/**
 * NodeClaims that Karpenter's interruption controller acted on, from the events it records on them
 * (kept by the API server for about an hour), with each one's reasons.
 */
export async function interruptedNodeClaims(kube: KubePort): Promise<{ name: string; reasons: string[] }[]> {
  let events: KubeObject[];
  try {
    events = await kube.list(EVENTS, { fieldSelector: 'involvedObject.kind=NodeClaim' });
  } catch {
    return [];
  }
  const byClaim = new Map<string, Set<string>>();
  for (const e of events) {
    const { reason, involvedObject } = e as { reason?: string; involvedObject?: { name?: string } };
    if (!reason || !INTERRUPTION_REASONS.has(reason) || !involvedObject?.name) continue;
    byClaim.set(involvedObject.name, (byClaim.get(involvedObject.name) ?? new Set()).add(reason));
  }
  return [...byClaim]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => ({ name, reasons: [...r].sort() }));
}

async function countDriftedNodeClaims(kube: KubePort): Promise<number> {
  try {
    const claims = await kube.list(NODECLAIMS);
    return claims.filter((c) => conditionOf(c, 'Drifted')?.status === 'True').length;
  } catch {
    return 0;
  }
}

/**
 * `matrix`: the clusters of a fleet config a run should act on, as a job matrix: on a pull request
 * those whose config or manifests it touches, otherwise all of them.
 */
export async function runMatrixCommand(inputs: Inputs, env: RunEnv): Promise<void> {
  const gh = openGithub(inputs, env);
  const head = loadConfig(inputs.config, env.workspace);
  if (!head.config) throw new Refusal(`invalid config ${inputs.config}`, head.issues.map(renderIssue));
  let changed: string[] | undefined;
  let base: ReturnType<typeof readBaseConfig>;
  // A pull request's own files; after a merge (push), those of the merged pull request, so the
  // apply jobs are exactly the clusters that pull request planned.
  let source: { number: number; baseSha: string } | undefined;
  const client = gh.client;
  if (client && gh.ctx.pull) source = { number: gh.ctx.pull.number, baseSha: gh.ctx.pull.baseSha };
  else if (client && gh.ctx.eventName === 'push' && gh.ctx.sha) {
    const merged = (await client.listPullsForCommit(gh.ctx.sha)).find(
      (p) => p.mergedAt && p.mergeCommitSha === gh.ctx.sha,
    );
    if (merged) source = { number: merged.number, baseSha: (await client.readPull(merged.number)).base.sha };
  }
  if (client && source) {
    changed = (await client.listPullFiles(source.number)).flatMap((f) =>
      f.previousFilename ? [f.filename, f.previousFilename] : [f.filename],
    );
    const configPath = inputs.config.replace(/^\.\//, '');
    if (changed.includes(configPath) && source.baseSha) {
      const text = await client.readFileAt(configPath, source.baseSha);
      base = text === undefined ? undefined : readBaseConfig(text, configPath);
    } else base = head.config;
    env.log.info(`clusters touched by pull request #${source.number}`);
  }
  const m = buildFleetMatrix({ head: head.config, base, changedFiles: changed, workspace: env.workspace });
  for (const [c, why] of Object.entries(m.reasons)) env.log.info(`${c}: ${why}`);
  env.setOutput('matrix', JSON.stringify({ include: m.include }));
  env.setOutput('has-changes', String(m.include.length > 0));
}
