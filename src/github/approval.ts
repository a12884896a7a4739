import type { Comparison, PullCheck, PullStatus, RepoActivity, RepoPermission } from './client.ts';

/**
 * What a `/karpenter apply` must satisfy besides a fresh plan, named as Atlantis names its apply
 * requirements so that users who know Atlantis recognise them.
 */
export const APPLY_REQUIREMENTS = ['approved', 'mergeable', 'undiverged'] as const;
export type ApplyRequirement = (typeof APPLY_REQUIREMENTS)[number];

/** One pull request review as the GitHub REST API lists it, reduced to what the approval rules read. */
export interface ReviewInput {
  user: string;
  state: string;
  commitId: string | undefined;
  submittedAt: string | undefined;
  id: number;
}

/** The pull request's author and head commit, its reviews, and what counts as an approval of them. */
export interface ApprovalInput {
  author: string;
  headSha: string;
  /** The head branch, named in the refusal when its pusher cannot be found. */
  headRef: string;
  reviews: ReviewInput[];
  required: number;
  /** Each reviewer's permission on the repository, keyed by lower-cased login; a missing one is `none`. */
  permissions: ReadonlyMap<string, RepoPermission>;
  /** Who pushed the head commit (see `buildPushers`); undefined when GitHub's activity log does not say. */
  pushers: readonly string[] | undefined;
  /** When the plan comment being approved last changed: an earlier approval was of another plan. */
  planChangedAt: string;
}

/** The verdict, with the approvals that counted and, when refused, why in words the author can act on. */
export interface ApprovalResult {
  approved: boolean;
  /** Reviewers whose approval of the head commit counts, in the order they approved. */
  approvers: string[];
  /** Why the pull request is not approved, as sentences for its author; empty when approved. */
  problems: string[];
}

/** Everything the apply requirements are judged on, read from GitHub before any change is made. */
export interface RequirementsInput {
  requirements: readonly ApplyRequirement[];
  approval: ApprovalInput;
  /** GitHub's own verdict; needed for `approved` (its review decision) and `mergeable`. */
  status: PullStatus | undefined;
  /** The head against the base branch; needed for `undiverged`. */
  comparison: Comparison | undefined;
  baseRef: string;
  /** The workflow running this apply: its own checks on the head are not held against it. */
  ownWorkflow: string | undefined;
}

const VERDICTS = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);
const MAY_APPROVE: ReadonlySet<RepoPermission> = new Set(['admin', 'maintain', 'write']);
const PASSING_CHECKS = new Set(['SUCCESS', 'NEUTRAL', 'SKIPPED']);
const MERGEABLE_STATES = new Set(['CLEAN', 'HAS_HOOKS', 'UNSTABLE']);

const shortSha = (sha: string | undefined) => (sha ? sha.slice(0, 7) : 'an unknown commit');
const lower = (s: string) => s.toLowerCase();

const timeOf = (r: ReviewInput) => (r.submittedAt ? Date.parse(r.submittedAt) : Number.NEGATIVE_INFINITY);

const byTime = (a: ReviewInput, b: ReviewInput): number => {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id - b.id;
};

const list = (names: string[]) =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;

/** Each reviewer's latest verdict: a later comment-only review does not undo an approval or a change request. */
function buildLatestVerdicts(reviews: readonly ReviewInput[]): ReviewInput[] {
  const latest = new Map<string, ReviewInput>();
  for (const r of [...reviews].sort(byTime)) {
    if (!VERDICTS.has(r.state.toUpperCase())) continue;
    latest.set(lower(r.user), r);
  }
  return [...latest.values()].sort(byTime);
}

/**
 * The reviewers whose permission on the repository decides whether their verdict counts: those whose
 * latest review approves or requests changes, other than the author. Only these are looked up.
 */
export function buildDeciders(author: string, reviews: readonly ReviewInput[]): string[] {
  return buildLatestVerdicts(reviews)
    .filter((r) => ['APPROVED', 'CHANGES_REQUESTED'].includes(r.state.toUpperCase()))
    .map((r) => r.user)
    .filter((u) => lower(u) !== lower(author));
}

/**
 * Who pushed `sha` onto the branch, from its activity log: every actor of a push, force push or
 * branch creation that left the branch at that commit. A commit's author and committer are not used:
 * anyone can write any name into them. Undefined when the log has no such entry.
 */
export function buildPushers(activities: readonly RepoActivity[], sha: string): string[] | undefined {
  const actors = activities.filter((a) => a.after === sha && a.actor !== '').map((a) => a.actor);
  return actors.length === 0 ? undefined : [...new Set(actors)];
}

/**
 * Decides whether a `/karpenter apply` comment has the approvals it needs, the way GitHub's branch
 * protection counts them and a little stricter: each reviewer's latest verdict counts; only users
 * with write, maintain or admin permission count (anyone who can read a repository can approve, so a
 * second account of the author could); neither the author nor whoever pushed the head commit can
 * approve it (else one person who can push could approve their own change); an approval counts for
 * the commit it was given on and only if it is newer than the plan comment's last change (a plan made
 * again for the same head is another plan). One outstanding change request by a user with write
 * access blocks. Logins are compared case-insensitively because GitHub treats them so.
 */
export function evaluateApproval(input: ApprovalInput): ApprovalResult {
  const author = lower(input.author);
  const head = input.headSha;
  const pushers = new Set((input.pushers ?? []).map(lower));
  const planTime = Date.parse(input.planChangedAt);
  const approvers: string[] = [];
  const blockers: string[] = [];
  const notCounted: string[] = [];
  for (const r of buildLatestVerdicts(input.reviews)) {
    const state = r.state.toUpperCase();
    const who = `@${r.user}`;
    const login = lower(r.user);
    if (login === author) {
      if (state === 'APPROVED')
        notCounted.push(`${who} is the pull request's author, and an author's own approval does not count.`);
      continue;
    }
    if (state === 'DISMISSED') {
      notCounted.push(`${who}'s review was dismissed, so it no longer counts.`);
      continue;
    }
    const permission = input.permissions.get(login) ?? 'none';
    if (!MAY_APPROVE.has(permission)) {
      if (state === 'APPROVED')
        notCounted.push(
          `${who} approved, but has ${permission === 'none' ? 'no' : permission} access to the repository; only approvals by users with write, maintain or admin access count.`,
        );
      continue;
    }
    if (state === 'CHANGES_REQUESTED') {
      blockers.push(who);
    } else if (r.commitId !== head) {
      notCounted.push(
        `${who} approved commit ${shortSha(r.commitId)}, not the current head ${shortSha(head)}; the approval must be given again on the new commit.`,
      );
    } else if (pushers.has(login)) {
      notCounted.push(
        `${who} pushed head commit ${shortSha(head)}, and whoever pushed the latest commit cannot approve it; someone else must review it.`,
      );
    } else if (!(timeOf(r) > planTime)) {
      notCounted.push(
        `${who} approved at ${r.submittedAt ?? 'an unknown time'}, before the plan comment last changed (${input.planChangedAt}); the plan was made again, so it must be approved again.`,
      );
    } else {
      approvers.push(r.user);
    }
  }
  const problems: string[] = [];
  if (input.pushers === undefined)
    problems.push(
      `Who pushed head commit ${shortSha(head)} to branch ${input.headRef} is not in the repository's activity log, so an approval by its pusher cannot be ruled out; push the branch again (an empty commit will do), wait for the new plan, and have it approved.`,
    );
  if (blockers.length > 0) {
    problems.push(
      `${list(blockers)} requested changes; apply waits until ${blockers.length === 1 ? 'that review is' : 'those reviews are'} approved or dismissed.`,
    );
  }
  if (approvers.length < input.required) {
    const valid = approvers.length;
    problems.push(
      `Apply needs ${input.required} approval${input.required === 1 ? '' : 's'} of head commit ${shortSha(head)} by someone other than the author, with write access, who did not push that commit, given after the plan comment last changed; it has ${valid === 0 ? 'none' : `${valid} (${list(approvers.map((a) => `@${a}`))})`}.`,
    );
    problems.push(...notCounted);
  }
  return { approved: problems.length === 0, approvers, problems };
}

/** A required check that holds a merge back, other than one of the workflow that is applying. */
function buildBlockingChecks(checks: readonly PullCheck[], ownWorkflow: string | undefined): PullCheck[] {
  return checks.filter(
    (c) => c.required && !PASSING_CHECKS.has(c.state) && !(ownWorkflow && c.workflow === ownWorkflow),
  );
}

function evaluateMergeable(input: RequirementsInput, status: PullStatus): string[] {
  const base = input.baseRef;
  if (status.mergeable === 'CONFLICTING' || status.mergeStateStatus === 'DIRTY')
    return [
      `The pull request has merge conflicts with ${base}; resolve them, wait for the new plan, and have it approved.`,
    ];
  if (status.mergeStateStatus === 'DRAFT')
    return ['The pull request is a draft; mark it ready for review first.'];
  if (status.mergeStateStatus === 'BEHIND')
    return [
      `The branch is behind ${base} and branch protection requires it to be up to date; update the branch, wait for the new plan, and have it approved.`,
    ];
  if (status.mergeable !== 'MERGEABLE' || status.mergeStateStatus === 'UNKNOWN')
    return [
      'GitHub has not finished working out whether the pull request can be merged; comment /karpenter apply again in a minute.',
    ];
  if (MERGEABLE_STATES.has(status.mergeStateStatus)) return [];
  const blocking = buildBlockingChecks(status.checks, input.ownWorkflow);
  const reviewsOk = status.reviewDecision === undefined || status.reviewDecision === 'APPROVED';
  const ownOnly =
    status.mergeStateStatus === 'BLOCKED' &&
    reviewsOk &&
    blocking.length === 0 &&
    status.checks.some((c) => c.required && !PASSING_CHECKS.has(c.state));
  if (ownOnly) return [];
  const why = [
    ...blocking.map((c) => `required check "${c.name}" is ${c.state.toLowerCase()}`),
    ...(reviewsOk
      ? []
      : [`the review decision is ${status.reviewDecision!.toLowerCase().replace(/_/g, ' ')}`]),
  ];
  return [
    `GitHub would not merge the pull request now (${status.mergeStateStatus.toLowerCase()}${why.length ? `: ${why.join('; ')}` : ''}); the mergeable requirement applies only what branch protection would let in.`,
  ];
}

/**
 * The apply requirements as a loop of checks, as Atlantis has them: `approved` (approvals that one
 * person cannot forge, see `evaluateApproval`, plus GitHub's review decision wherever branch protection
 * requires reviews), `mergeable` (GitHub would merge it now: no conflicts, required checks and CODEOWNERS
 * satisfied; the applying workflow's own checks are left out, or an apply that is itself a required
 * check could never run) and `undiverged` (the head contains every commit of the base branch, so the
 * apply cannot undo changes the base branch has since applied). Every problem is returned, not only the
 * first, so one refusal says all there is to fix.
 */
export function evaluateApplyRequirements(input: RequirementsInput): ApprovalResult {
  const problems: string[] = [];
  let approvers: string[] = [];
  const wants = (r: ApplyRequirement) => input.requirements.includes(r);
  if (wants('approved')) {
    const approval = evaluateApproval(input.approval);
    approvers = approval.approvers;
    problems.push(...approval.problems);
    const decision = input.status?.reviewDecision;
    if (decision !== undefined && decision !== 'APPROVED')
      problems.push(
        `Branch protection's review decision is ${decision.toLowerCase().replace(/_/g, ' ')}; the reviews it requires (including CODEOWNERS) must approve first.`,
      );
  }
  if ((wants('approved') || wants('mergeable')) && !input.status)
    problems.push("GitHub's verdict on the pull request (review decision, mergeability) could not be read.");
  if (wants('mergeable') && input.status) problems.push(...evaluateMergeable(input, input.status));
  if (
    (wants('approved') || wants('mergeable')) &&
    input.status &&
    input.status.headSha !== input.approval.headSha
  )
    problems.push(
      `The head moved to ${shortSha(input.status.headSha)} while apply was being checked; wait for its plan and comment again.`,
    );
  if (wants('undiverged') && !input.comparison)
    problems.push(`How the head compares with ${input.baseRef} could not be read.`);
  if (wants('undiverged') && input.comparison && input.comparison.behindBy > 0) {
    const n = input.comparison.behindBy;
    problems.push(
      `Head commit ${shortSha(input.approval.headSha)} is ${n} commit${n === 1 ? '' : 's'} behind ${input.baseRef}; applying it would undo what ${input.baseRef} has changed since. Merge or rebase onto ${input.baseRef}, wait for the new plan, and have it approved.`,
    );
  }
  return { approved: problems.length === 0, approvers, problems };
}
