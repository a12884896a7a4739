import { evaluateApproval, type ReviewInput } from '../../src/github/approval.ts';

const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const OLD = '0f9e8d7c6b5a49382716051f2e3d4c5b6a798877';

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
    problems: [/needs 1 approval of head commit a1b2c3d by someone other than the author; it has none/],
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
];

test.each(cases)('$name', (c) => {
  const r = evaluateApproval({
    author: 'octo-author',
    headSha: HEAD,
    reviews: c.reviews,
    required: c.required ?? 1,
  });
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
  expect(
    evaluateApproval({ author: 'x', headSha: HEAD, reviews: [later, earlier], required: 1 }).approved,
  ).toBe(true);
  const sameTime = [
    { ...earlier, submittedAt: later.submittedAt, id: 7 },
    { ...later, id: 6 },
  ];
  const r = evaluateApproval({ author: 'x', headSha: HEAD, reviews: sameTime, required: 1 });
  expect(r.approved).toBe(false);
  expect(r.problems[0]).toMatch(/@alice requested changes/);
});

test('several blockers are all named', () => {
  const r = evaluateApproval({
    author: 'x',
    headSha: HEAD,
    reviews: [
      review('bob', 'CHANGES_REQUESTED', 1),
      review('dan', 'CHANGES_REQUESTED', 2),
      review('alice', 'APPROVED', 3),
    ],
    required: 1,
  });
  expect(r.problems).toEqual([
    '@bob and @dan requested changes; apply waits until those reviews are approved or dismissed.',
  ]);
});
