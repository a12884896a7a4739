import {
  buildDeciders,
  buildPushers,
  evaluateApplyRequirements,
  evaluateApproval,
  type ApprovalInput,
  type RequirementsInput,
  type ReviewInput,
} from '../../src/github/approval.ts';
import type { PullStatus, RepoPermission } from '../../src/github/client.ts';

const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const OLD = '0f9e8d7c6b5a49382716051f2e3d4c5b6a798877';
const PLANNED_AT = '2026-03-01T09:00:00Z';
const PERMISSIONS = new Map<string, RepoPermission>([
  ['alice', 'write'],
  ['bob', 'write'],
  ['carol', 'maintain'],
  ['dan', 'admin'],
  ['octo-author', 'write'],
  ['puppet', 'read'],
  ['helper', 'triage'],
]);

/** The pull request of these tests: by octo-author, who also pushed its head, planned at 09:00. */
function approvalInput(over: Partial<ApprovalInput> = {}): ApprovalInput {
  return {
    author: 'octo-author',
    headSha: HEAD,
    headRef: 'feature',
    reviews: [],
    required: 1,
    permissions: PERMISSIONS,
    pushers: ['octo-author'],
    planChangedAt: PLANNED_AT,
    ...over,
  };
}

let nextId = 1;
function review(
  user: string,
  state: string,
  minute: number,
  commitId: string | undefined = HEAD,
): ReviewInput {
  return {
    user,
    state,
    commitId,
    submittedAt: `2026-03-01T10:${String(minute).padStart(2, '0')}:00Z`,
    id: nextId++,
  };
}

interface Case {
  name: string;
  reviews: ReviewInput[];
  required?: number;
  pushers?: string[] | undefined;
  planChangedAt?: string;
  approved: boolean;
  approvers: string[];
  problems: RegExp[];
}

const cases: Case[] = [
  {
    name: 'no reviews',
    reviews: [],
    approved: false,
    approvers: [],
    problems: [
      /needs 1 approval of head commit a1b2c3d by someone other than the author, with write access, who did not push that commit, given after the plan comment last changed; it has none/,
    ],
  },
  {
    name: "the author's own approval only",
    reviews: [review('octo-author', 'APPROVED', 1)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@octo-author is the pull request's author.*own approval does not count/],
  },
  {
    name: 'an approval of an older commit',
    reviews: [review('alice', 'APPROVED', 1, OLD)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@alice approved commit 0f9e8d7, not the current head a1b2c3d/],
  },
  {
    name: 'approval, then changes requested by the same reviewer',
    reviews: [review('alice', 'APPROVED', 1), review('alice', 'CHANGES_REQUESTED', 2)],
    approved: false,
    approvers: [],
    problems: [
      /@alice requested changes; apply waits until that review is approved or dismissed/,
      /it has none/,
    ],
  },
  {
    name: 'changes requested, then approval by the same reviewer',
    reviews: [review('alice', 'CHANGES_REQUESTED', 1), review('alice', 'APPROVED', 2)],
    approved: true,
    approvers: ['alice'],
    problems: [],
  },
  {
    name: "one approves while another's latest verdict requests changes",
    reviews: [
      review('bob', 'CHANGES_REQUESTED', 1),
      review('alice', 'APPROVED', 2),
      review('bob', 'COMMENTED', 3),
    ],
    approved: false,
    approvers: ['alice'],
    problems: [/^@bob requested changes/],
  },
  {
    name: 'approval followed by a comment-only review from the same reviewer',
    reviews: [review('alice', 'APPROVED', 1), review('alice', 'COMMENTED', 2), review('alice', 'PENDING', 3)],
    approved: true,
    approvers: ['alice'],
    problems: [],
  },
  {
    name: 'a dismissed approval',
    reviews: [review('alice', 'DISMISSED', 1)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@alice's review was dismissed, so it no longer counts/],
  },
  {
    name: 'two required, one valid approval',
    reviews: [review('alice', 'APPROVED', 1), review('carol', 'APPROVED', 2, OLD)],
    required: 2,
    approved: false,
    approvers: ['alice'],
    problems: [
      /needs 2 approvals of head commit a1b2c3d.*it has 1 \(@alice\)/,
      /@carol approved commit 0f9e8d7/,
    ],
  },
  {
    name: 'two required, two valid approvals',
    reviews: [review('alice', 'APPROVED', 1), review('carol', 'APPROVED', 2)],
    required: 2,
    approved: true,
    approvers: ['alice', 'carol'],
    problems: [],
  },
  {
    name: 'the same login in another case is the same reviewer',
    reviews: [review('Alice', 'APPROVED', 1), review('alice', 'CHANGES_REQUESTED', 2)],
    approved: false,
    approvers: [],
    problems: [/@alice requested changes/, /it has none/],
  },
  {
    name: 'the author under another case still cannot approve',
    reviews: [review('Octo-Author', 'APPROVED', 1)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@Octo-Author is the pull request's author/],
  },
  {
    name: 'a sock puppet: an approval by an account with read access only',
    reviews: [review('puppet', 'APPROVED', 1)],
    approved: false,
    approvers: [],
    problems: [
      /it has none/,
      /@puppet approved, but has read access to the repository; only approvals by users with write, maintain or admin access count/,
    ],
  },
  {
    name: 'an approval by an account with no access at all',
    reviews: [review('stranger', 'APPROVED', 1)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@stranger approved, but has no access to the repository/],
  },
  {
    name: 'an approval by a triager',
    reviews: [review('helper', 'APPROVED', 1)],
    approved: false,
    approvers: [],
    problems: [/it has none/, /@helper approved, but has triage access/],
  },
  {
    name: 'maintain and admin permissions count like write',
    reviews: [review('carol', 'APPROVED', 1), review('dan', 'APPROVED', 2)],
    required: 2,
    approved: true,
    approvers: ['carol', 'dan'],
    problems: [],
  },
  {
    name: 'a change request by a user without write access does not block',
    reviews: [review('puppet', 'CHANGES_REQUESTED', 1), review('alice', 'APPROVED', 2)],
    approved: true,
    approvers: ['alice'],
    problems: [],
  },
  {
    name: 'the last pusher approves the commit they pushed onto the pull request',
    reviews: [review('bob', 'APPROVED', 1)],
    pushers: ['bob'],
    approved: false,
    approvers: [],
    problems: [
      /it has none/,
      /@bob pushed head commit a1b2c3d, and whoever pushed the latest commit cannot approve it; someone else must review it/,
    ],
  },
  {
    name: 'the last pusher requesting changes still blocks',
    reviews: [review('bob', 'CHANGES_REQUESTED', 1), review('alice', 'APPROVED', 2)],
    pushers: ['Bob'],
    approved: false,
    approvers: ['alice'],
    problems: [/^@bob requested changes/],
  },
  {
    name: 'a pusher that cannot be found refuses whatever the approvals',
    reviews: [review('alice', 'APPROVED', 1)],
    pushers: undefined,
    approved: false,
    approvers: ['alice'],
    problems: [
      /^Who pushed head commit a1b2c3d to branch feature is not in the repository's activity log, so an approval by its pusher cannot be ruled out; push the branch again/,
    ],
  },
  {
    name: 'an approval given before the plan comment was made again for the same head',
    reviews: [review('alice', 'APPROVED', 1)],
    planChangedAt: '2026-03-01T10:30:00Z',
    approved: false,
    approvers: [],
    problems: [
      /it has none/,
      /@alice approved at 2026-03-01T10:01:00Z, before the plan comment last changed \(2026-03-01T10:30:00Z\); the plan was made again, so it must be approved again/,
    ],
  },
  {
    name: 'an approval in the same second as the plan change does not count',
    reviews: [review('alice', 'APPROVED', 5)],
    planChangedAt: '2026-03-01T10:05:00Z',
    approved: false,
    approvers: [],
    problems: [/it has none/, /before the plan comment last changed/],
  },
];

test.each(cases)('$name', (c) => {
  const r = evaluateApproval(
    approvalInput({
      reviews: c.reviews,
      required: c.required ?? 1,
      pushers: 'pushers' in c ? c.pushers : ['octo-author'],
      planChangedAt: c.planChangedAt ?? PLANNED_AT,
    }),
  );
  expect(r.approved).toBe(c.approved);
  expect(r.approvers).toEqual(c.approvers);
  expect(r.problems).toHaveLength(c.problems.length);
  c.problems.forEach((p, i) => expect(r.problems[i]).toMatch(p));
});

test('reviews are ordered by submission time, then id, whatever order the API lists them in', () => {
  const later = {
    user: 'alice',
    state: 'APPROVED',
    commitId: HEAD,
    submittedAt: '2026-03-01T11:00:00Z',
    id: 5,
  };
  const earlier = {
    user: 'alice',
    state: 'CHANGES_REQUESTED',
    commitId: HEAD,
    submittedAt: '2026-03-01T10:00:00Z',
    id: 9,
  };
  expect(evaluateApproval(approvalInput({ author: 'x', reviews: [later, earlier] })).approved).toBe(true);
  const sameTime = [
    { ...earlier, submittedAt: later.submittedAt, id: 7 },
    { ...later, id: 6 },
  ];
  const r = evaluateApproval(approvalInput({ author: 'x', reviews: sameTime }));
  expect(r.approved).toBe(false);
  expect(r.problems[0]).toMatch(/@alice requested changes/);
});

test('several blockers are all named', () => {
  const r = evaluateApproval(
    approvalInput({
      author: 'x',
      reviews: [
        review('bob', 'CHANGES_REQUESTED', 1),
        review('dan', 'CHANGES_REQUESTED', 2),
        review('alice', 'APPROVED', 3),
      ],
    }),
  );
  expect(r.problems).toEqual([
    '@bob and @dan requested changes; apply waits until those reviews are approved or dismissed.',
  ]);
});

test('the reviewers whose permission is looked up: latest approvers and change requesters, not the author', () => {
  expect(
    buildDeciders('octo-author', [
      review('octo-author', 'APPROVED', 1),
      review('alice', 'APPROVED', 2),
      review('bob', 'CHANGES_REQUESTED', 3),
      review('carol', 'COMMENTED', 4),
      review('dan', 'APPROVED', 5),
      review('dan', 'DISMISSED', 6),
    ]),
  ).toEqual(['alice', 'bob']);
});

test.each([
  { name: 'a push of the head', after: HEAD, want: ['octo-author'] },
  { name: 'no entry for the head', after: OLD, want: undefined },
])('the pushers of a commit from the activity log: $name', ({ after, want }) => {
  const activity = (actor: string, to: string, type = 'push') => ({
    ref: 'refs/heads/feature',
    before: '0'.repeat(40),
    after: to,
    actor,
    activityType: type,
    timestamp: '2026-03-01T09:00:00Z',
  });
  expect(
    buildPushers([activity('alice', OLD, 'branch_creation'), activity('octo-author', after)], HEAD),
  ).toEqual(want);
});

test('every actor who left the branch at the head commit is a pusher', () => {
  const a = (actor: string, type: string) => ({
    ref: 'refs/heads/feature',
    before: OLD,
    after: HEAD,
    actor,
    activityType: type,
    timestamp: '2026-03-01T09:00:00Z',
  });
  expect(buildPushers([a('bob', 'force_push'), a('alice', 'push'), a('bob', 'push')], HEAD)).toEqual([
    'bob',
    'alice',
  ]);
});

const CLEAN: PullStatus = {
  reviewDecision: undefined,
  mergeable: 'MERGEABLE',
  mergeStateStatus: 'CLEAN',
  headSha: HEAD,
  checks: [],
};

function requirementsInput(over: Partial<RequirementsInput> = {}): RequirementsInput {
  return {
    requirements: ['approved', 'mergeable', 'undiverged'],
    approval: approvalInput({ reviews: [review('alice', 'APPROVED', 1)] }),
    status: CLEAN,
    comparison: { aheadBy: 1, behindBy: 0, status: 'ahead' },
    baseRef: 'main',
    ownWorkflow: 'karpenter apply on comment',
    ...over,
  };
}

const check = (name: string, state: string, required: boolean, workflow?: string) => ({
  name,
  state,
  required,
  workflow,
});

interface RequirementCase {
  name: string;
  input: Partial<RequirementsInput>;
  problems: RegExp[];
}

const requirementCases: RequirementCase[] = [
  { name: 'all three met', input: {}, problems: [] },
  {
    name: "branch protection's review decision wants more reviews (e.g. a CODEOWNER's)",
    input: { status: { ...CLEAN, reviewDecision: 'REVIEW_REQUIRED', mergeStateStatus: 'BLOCKED' } },
    problems: [
      /^Branch protection's review decision is review required; the reviews it requires \(including CODEOWNERS\) must approve first\.$/,
      /^GitHub would not merge the pull request now \(blocked: the review decision is review required\)/,
    ],
  },
  {
    name: 'changes requested under branch protection, approved requirement only',
    input: { requirements: ['approved'], status: { ...CLEAN, reviewDecision: 'CHANGES_REQUESTED' } },
    problems: [/^Branch protection's review decision is changes requested/],
  },
  {
    name: 'approved under branch protection',
    input: { status: { ...CLEAN, reviewDecision: 'APPROVED' } },
    problems: [],
  },
  {
    name: 'unstable: a check that is not required fails',
    input: { status: { ...CLEAN, mergeStateStatus: 'UNSTABLE' } },
    problems: [],
  },
  {
    name: 'merge conflicts',
    input: { status: { ...CLEAN, mergeable: 'CONFLICTING', mergeStateStatus: 'DIRTY' } },
    problems: [/^The pull request has merge conflicts with main/],
  },
  {
    name: 'a draft',
    input: { status: { ...CLEAN, mergeStateStatus: 'DRAFT' } },
    problems: [/^The pull request is a draft/],
  },
  {
    name: 'behind a base that must be up to date',
    input: { status: { ...CLEAN, mergeStateStatus: 'BEHIND' } },
    problems: [/^The branch is behind main and branch protection requires it to be up to date/],
  },
  {
    name: 'mergeability not yet computed',
    input: { status: { ...CLEAN, mergeable: 'UNKNOWN', mergeStateStatus: 'UNKNOWN' } },
    problems: [/^GitHub has not finished working out whether the pull request can be merged/],
  },
  {
    name: 'a required check fails',
    input: {
      status: {
        ...CLEAN,
        mergeStateStatus: 'BLOCKED',
        checks: [check('lint', 'FAILURE', true, 'ci'), check('docs', 'FAILURE', false, 'ci')],
      },
    },
    problems: [/^GitHub would not merge the pull request now \(blocked: required check "lint" is failure\)/],
  },
  {
    name: "only the applying workflow's own required check is pending",
    input: {
      status: {
        ...CLEAN,
        mergeStateStatus: 'BLOCKED',
        checks: [
          check('lint', 'SUCCESS', true, 'ci'),
          check('apply', 'PENDING', true, 'karpenter apply on comment'),
        ],
      },
    },
    problems: [],
  },
  {
    name: "the applying workflow's own check does not excuse another's",
    input: {
      status: {
        ...CLEAN,
        mergeStateStatus: 'BLOCKED',
        checks: [
          check('plan', 'PENDING', true, 'karpenter plan'),
          check('apply', 'PENDING', true, 'karpenter apply on comment'),
        ],
      },
    },
    problems: [/required check "plan" is pending/],
  },
  {
    name: 'blocked for a reason the checks do not show',
    input: { status: { ...CLEAN, mergeStateStatus: 'BLOCKED' } },
    problems: [/^GitHub would not merge the pull request now \(blocked\); the mergeable requirement/],
  },
  {
    name: 'the head is behind the base branch',
    input: { comparison: { aheadBy: 1, behindBy: 3, status: 'diverged' } },
    problems: [
      /^Head commit a1b2c3d is 3 commits behind main; applying it would undo what main has changed since\. Merge or rebase onto main/,
    ],
  },
  {
    name: 'behind, but undiverged is not required',
    input: {
      requirements: ['approved', 'mergeable'],
      comparison: { aheadBy: 1, behindBy: 3, status: 'diverged' },
    },
    problems: [],
  },
  {
    name: 'without the approved requirement, approvals are not looked at',
    input: { requirements: ['mergeable'], approval: approvalInput({ reviews: [] }) },
    problems: [],
  },
  {
    name: 'the head moved while the requirements were read',
    input: { status: { ...CLEAN, headSha: OLD } },
    problems: [/^The head moved to 0f9e8d7 while apply was being checked/],
  },
  {
    name: "GitHub's verdict could not be read",
    input: { status: undefined, comparison: undefined },
    problems: [
      /^GitHub's verdict on the pull request .* could not be read/,
      /^How the head compares with main could not be read/,
    ],
  },
];

test.each(requirementCases)('apply requirements: $name', (c) => {
  const r = evaluateApplyRequirements(requirementsInput(c.input));
  expect(r.problems).toHaveLength(c.problems.length);
  c.problems.forEach((p, i) => expect(r.problems[i]).toMatch(p));
  expect(r.approved).toBe(c.problems.length === 0);
});
