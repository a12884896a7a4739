/** One pull request review as the GitHub REST API lists it, reduced to what the approval rules read. */
export interface ReviewInput {
  user: string;
  state: string;
  commitId: string | undefined;
  submittedAt: string | undefined;
  id: number;
}

/** The pull request's author and head commit, its reviews, and how many approvals apply needs. */
export interface ApprovalInput {
  author: string;
  headSha: string;
  reviews: ReviewInput[];
  required: number;
}

/** The verdict, with the approvals that counted and, when refused, why in words the author can act on. */
export interface ApprovalResult {
  approved: boolean;
  /** Reviewers whose approval of the head commit counts, in the order they approved. */
  approvers: string[];
  /** Why the pull request is not approved, as sentences for its author; empty when approved. */
  problems: string[];
}

const VERDICTS = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);

const shortSha = (sha: string | undefined) => (sha ? sha.slice(0, 7) : 'an unknown commit');

const byTime = (a: ReviewInput, b: ReviewInput): number => {
  const ta = a.submittedAt ? Date.parse(a.submittedAt) : Number.NEGATIVE_INFINITY;
  const tb = b.submittedAt ? Date.parse(b.submittedAt) : Number.NEGATIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id - b.id;
};

const list = (names: string[]) =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;

/**
 * Decides whether a `/karpenter apply` comment may run, the way Atlantis and GitHub's branch
 * protection do: each reviewer's latest verdict counts (a later comment-only review does not undo
 * it), the author cannot approve their own change, an approval of an older commit says nothing about
 * the code that would be applied, and one outstanding change request blocks. Logins are compared
 * case-insensitively because GitHub treats them so.
 */
export function evaluateApproval(input: ApprovalInput): ApprovalResult {
  const author = input.author.toLowerCase();
  const head = input.headSha;
  const latest = new Map<string, ReviewInput>();
  for (const r of [...input.reviews].sort(byTime)) {
    if (!VERDICTS.has(r.state.toUpperCase())) continue;
    latest.set(r.user.toLowerCase(), r);
  }
  const ordered = [...latest.values()].sort(byTime);
  const approvers: string[] = [];
  const blockers: string[] = [];
  const notCounted: string[] = [];
  for (const r of ordered) {
    const state = r.state.toUpperCase();
    const who = `@${r.user}`;
    if (r.user.toLowerCase() === author) {
      if (state === 'APPROVED')
        notCounted.push(`${who} is the pull request's author, and an author's own approval does not count.`);
      continue;
    }
    if (state === 'CHANGES_REQUESTED') {
      blockers.push(who);
    } else if (state === 'DISMISSED') {
      notCounted.push(`${who}'s review was dismissed, so it no longer counts.`);
    } else if (r.commitId !== head) {
      notCounted.push(
        `${who} approved commit ${shortSha(r.commitId)}, not the current head ${shortSha(head)}; the approval must be given again on the new commit.`,
      );
    } else {
      approvers.push(r.user);
    }
  }
  const problems: string[] = [];
  if (blockers.length > 0) {
    problems.push(
      `${list(blockers)} requested changes; apply waits until ${blockers.length === 1 ? 'that review is' : 'those reviews are'} approved or dismissed.`,
    );
  }
  if (approvers.length < input.required) {
    const valid = approvers.length;
    problems.push(
      `Apply needs ${input.required} approval${input.required === 1 ? '' : 's'} of head commit ${shortSha(head)} by someone other than the author; it has ${valid === 0 ? 'none' : `${valid} (${list(approvers.map((a) => `@${a}`))})`}.`,
    );
    problems.push(...notCounted);
  }
  return { approved: problems.length === 0, approvers, problems };
}
