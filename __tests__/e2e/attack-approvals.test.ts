/**
 * Attacks on the apply gates, played through the bundled action as the runner runs it: each attacker
 * tries to get a change into the cluster without the review of a second person with write access, or
 * to get a reviewed plan applied from somewhere it was not reviewed. Each run must refuse (or ignore
 * the event), say why in words the attacker's reviewers can read, and leave the cluster untouched.
 * Repeated GitHub writes after a failure that went through must not duplicate comments or issues.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPLY_LEASE } from '../../src/adapters/apply-lock.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { LEASES } from '../../src/adapters/kube-resources.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import { parsePlanMarker } from '../../src/render/markdown.ts';
import { NODEPOOL as NODEPOOL_RESOURCE } from '../../src/stages/pools.ts';
import { startGithubStandin, type GithubStandin } from '../helpers/github-standin.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { runAction, type ActionRun } from '../helpers/run-action.ts';
import { adminKube, deleteCluster, installKarpenterCrds, type ClusterInfo } from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

let gh: GithubStandin;
let cluster: ClusterInfo;
let awsSession: Record<string, string>;
let workspace: string;
let kube: KubeClient;
let head: string;
let runNumber = 5000;
/** The pull request under attack: alice's, with a commit on top that bob pushed. */
const PR = 1;

const git = (...args: string[]) =>
  execFileSync('git', ['-C', workspace, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'alice',
      GIT_AUTHOR_EMAIL: 'alice@example.com',
      GIT_COMMITTER_NAME: 'alice',
      GIT_COMMITTER_EMAIL: 'alice@example.com',
    },
  }).trim();

function githubEnv(eventName: string, payload: object, sha: string, ref = 'refs/heads/main') {
  const dir = mkdtempSync(join(tmpdir(), 'ka-attack-event-'));
  const path = join(dir, 'event.json');
  writeFileSync(
    path,
    JSON.stringify({ ...payload, repository: { full_name: 'acme/infra', default_branch: 'main' } }),
  );
  return {
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: path,
    GITHUB_REPOSITORY: 'acme/infra',
    GITHUB_API_URL: gh.url,
    GITHUB_GRAPHQL_URL: gh.graphqlUrl,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_RUN_ID: String(runNumber++),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'karpenter apply on comment',
    GITHUB_ACTOR: 'alice',
    GITHUB_SHA: sha,
    GITHUB_REF: ref,
  };
}

const run = (inputs: Record<string, string>, github: Record<string, string>): Promise<ActionRun> =>
  runAction({
    inputs: { stages: 'pools', 'github-token': gh.token, ...inputs },
    env: { ...awsSession, ...github },
    workspace,
  });

const pullEvent = (number: number, sha: string) => ({
  action: 'synchronize',
  number,
  pull_request: {
    number,
    user: { login: 'alice' },
    head: { sha, ref: 'pools', repo: { full_name: 'acme/infra' } },
    base: { sha: 'b'.repeat(40), ref: 'main', repo: { full_name: 'acme/infra' } },
  },
});

const commentEvent = (number: number, author: string, action = 'created') => ({
  action,
  issue: { number, pull_request: { url: `${gh.url}/repos/acme/infra/pulls/${number}` } },
  comment: { id: runNumber, body: '/karpenter apply', user: { login: author } },
  ...(action === 'edited' ? { changes: { body: { from: 'thanks, looks good' } } } : {}),
});

const replies = (number: number) =>
  gh.commentsOn(number).filter((c) => c.body.startsWith('<!-- karpenter-action:apply'));
const planComment = (number: number) =>
  gh.commentsOn(number).find((c) => c.body.startsWith('<!-- karpenter-action:plan'));

/** No NodePool, and no apply ever got as far as taking the cluster's apply lock. */
async function expectNothingApplied(): Promise<void> {
  expect(await kube.get(NODEPOOL_RESOURCE, 'default')).toBeUndefined();
  expect(await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace)).toBeUndefined();
}

/** `/karpenter apply` by `commenter` is refused with `refusal`, on the pull request and in the log. */
async function expectCommentRefused(number: number, commenter: string, refusal: string): Promise<void> {
  const before = replies(number).length;
  const r = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(number, commenter), 'f'.repeat(40)),
  );
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain(refusal);
  expect(replies(number)).toHaveLength(before + 1);
  // the reply is markdown, with its punctuation escaped
  expect(replies(number).at(-1)!.body.replace(/\\(.)/g, '$1')).toContain(refusal);
  await expectNothingApplied();
}

function setReviews(reviews: { author: string; state: 'APPROVED' | 'CHANGES_REQUESTED'; commit?: string }[]) {
  gh.state.reviews.length = 0;
  for (const r of reviews) gh.addReview(PR, { author: r.author, state: r.state, commitId: r.commit ?? head });
}

beforeAll(async () => {
  gh = await startGithubStandin({ owner: 'acme', name: 'infra' });
  const made = await newAccountCluster();
  cluster = made.cluster;
  awsSession = made.env;
  await installKarpenterCrds(cluster);
  kube = new KubeClient(new KubeHttp(adminKube(cluster)));
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeClusterConfig(workspace, cluster);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'karpenter pools');
  head = git('rev-parse', 'HEAD');
  for (const [login, role] of [
    ['alice', 'write'],
    ['bob', 'write'],
    ['carol', 'write'],
    ['alice-review', 'read'],
  ] as const)
    gh.setPermission(login, role);
  // alice opens the pull request; bob, who can write, pushes the head commit onto it
  gh.addPull({ number: PR, author: 'alice', head: { sha: '0'.repeat(39) + '1', ref: 'pools' } });
  gh.pushTo(PR, head, 'bob');
  // the plan comment's create goes through but its response is lost: still one plan comment
  gh.fail({ method: 'POST', path: `/repos/acme/infra/issues/${PR}/comments`, status: 502, after: true });
  const planned = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(PR, head), head));
  expect(planned.code).toBe(0);
  expect(gh.commentsOn(PR).filter((c) => c.body.startsWith('<!-- karpenter-action:plan'))).toHaveLength(1);
  expect(parsePlanMarker(planComment(PR)!.body)?.head).toBe(head);
});
afterAll(async () => {
  await gh.close();
  await deleteCluster(cluster.name);
});

test("a sock puppet: the author's second account, with read access, approves and the author applies", async () => {
  setReviews([{ author: 'alice-review', state: 'APPROVED' }]);
  await expectCommentRefused(
    PR,
    'alice',
    '@alice-review approved, but has read access to the repository; only approvals by users with write, maintain or admin access count.',
  );
});

test('the last pusher: bob pushes a commit onto the pull request, approves it and applies', async () => {
  setReviews([{ author: 'bob', state: 'APPROVED' }]);
  await expectCommentRefused(
    PR,
    'bob',
    `@bob pushed head commit ${head.slice(0, 7)}, and whoever pushed the latest commit cannot approve it; someone else must review it.`,
  );
});

test('the author approves their own pull request and applies', async () => {
  setReviews([{ author: 'alice', state: 'APPROVED' }]);
  await expectCommentRefused(
    PR,
    'alice',
    "@alice is the pull request's author, and an author's own approval does not count.",
  );
});

test('a pull request into a branch the attacker made: the small diff is reviewed, the whole head would be applied', async () => {
  const into = gh.addPull({
    author: 'alice',
    head: { sha: head, ref: 'pools' },
    base: { ref: 'attacker-base' },
  });
  gh.addReview(into.number, { author: 'carol', state: 'APPROVED', commitId: head });
  await expectCommentRefused(
    into.number,
    'alice',
    `pull request #${into.number} targets branch attacker-base, not main; /karpenter apply runs only for pull requests into main`,
  );
});

test.each(['edited', 'deleted'])(
  'an old comment %s into "/karpenter apply" starts nothing, even with a valid approval',
  async (action) => {
    setReviews([{ author: 'carol', state: 'APPROVED' }]);
    const before = gh.requests.length;
    const r = await run(
      { command: 'apply' },
      githubEnv('issue_comment', commentEvent(PR, 'alice', action), 'f'.repeat(40)),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `::warning::/karpenter apply ignored: the comment was ${action}; only a newly created comment starts an apply, so post a new one`,
    );
    expect(gh.requests.slice(before)).toEqual([]);
    await expectNothingApplied();
  },
);

test('a stale approval: the plan is made again for the same head after the cluster changed', async () => {
  setReviews([{ author: 'carol', state: 'APPROVED' }]);
  const approvedAt = gh.state.reviews[0]!.submitted_at;
  const firstFingerprint = parsePlanMarker(planComment(PR)!.body)?.fingerprint;
  // someone creates the EC2NodeClass by hand; the plan of the same head now differs
  await kube.http.request('POST', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses', {
    body: {
      apiVersion: 'karpenter.k8s.aws/v1',
      kind: 'EC2NodeClass',
      metadata: { name: 'default' },
      spec: {
        role: `KarpenterNodeRole-${cluster.name}`,
        amiSelectorTerms: [{ alias: 'al2023@v20260101' }],
        subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'somewhere-else' } }],
        securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': cluster.name } }],
      },
    },
  });
  const replanned = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(PR, head), head));
  expect(replanned.code).toBe(0);
  const comment = planComment(PR)!;
  expect(parsePlanMarker(comment.body)?.fingerprint).not.toBe(firstFingerprint);
  expect(parsePlanMarker(comment.body)?.head).toBe(head);
  await expectCommentRefused(
    PR,
    'alice',
    `@carol approved at ${approvedAt}, before the plan comment last changed (${comment.updated_at}); the plan was made again, so it must be approved again.`,
  );
});

test('a push to a branch other than the default one applies nothing, even the merge of a planned pull request', async () => {
  const merge = '7'.repeat(40);
  const pr = gh.addPull({
    author: 'alice',
    head: { sha: head, ref: 'pools' },
    base: { ref: 'attacker-base' },
    state: 'closed',
    merged: true,
    merge_commit_sha: merge,
  });
  gh.linkCommit(merge, [pr.number]);
  const r = await run(
    { command: 'apply' },
    githubEnv('push', { after: merge }, merge, 'refs/heads/attacker-base'),
  );
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain(
    'apply on push runs only for pushes to main; this push is to refs/heads/attacker-base',
  );
  await expectNothingApplied();
});

test("a push of a pull request's commit straight to main is not that pull request's merge", async () => {
  const merge = '8'.repeat(40);
  const pr = gh.addPull({
    author: 'alice',
    head: { sha: head, ref: 'pools' },
    state: 'closed',
    merged: true,
    merge_commit_sha: merge,
  });
  gh.addComment(pr.number, planComment(PR)!.body);
  gh.linkCommit(head, [pr.number]);
  const r = await run({ command: 'apply' }, githubEnv('push', { after: head }, head));
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain(`commit ${head.slice(0, 7)} is not the merge of a pull request into main`);
  expect(r.stdout).toContain(
    `pull request #${pr.number} contains it, but was merged into main as commit 8888888; only the push of its merge applies its plan`,
  );
  expect(replies(pr.number)).toEqual([]);
  await expectNothingApplied();
});

test('a refusal whose POST went through although it failed is posted once', async () => {
  setReviews([{ author: 'bob', state: 'APPROVED' }]);
  const path = `/repos/acme/infra/issues/${PR}/comments`;
  const posts = gh.requestsTo('POST', path).length;
  gh.fail({ method: 'POST', path, status: 502, after: true });
  await expectCommentRefused(PR, 'bob', 'whoever pushed the latest commit cannot approve it');
  expect(gh.requestsTo('POST', path)).toHaveLength(posts + 1);
});

test('a drift issue whose POST went through although it timed out is opened once', async () => {
  gh.fail({ method: 'POST', path: '/repos/acme/infra/issues', status: 504, after: true });
  const r = await run(
    { command: 'drift', 'fail-on-drift': 'false' },
    githubEnv('schedule', { schedule: '17 5 * * *' }, head),
  );
  expect(r.code).toBe(0);
  expect(r.outputs.drift).toBe('true');
  const issues = [...gh.state.issues.values()];
  expect(issues).toHaveLength(1);
  expect(r.outputs['drift-issue']).toBe(String(issues[0]!.number));
  expect(gh.requestsTo('POST', '/repos/acme/infra/issues')).toHaveLength(1);
});

test('a required check fails under branch protection: a valid approval does not override GitHub', async () => {
  setReviews([{ author: 'carol', state: 'APPROVED' }]);
  const pull = gh.state.pulls.get(PR)!;
  pull.mergeStateStatus = 'BLOCKED';
  pull.checks = [
    { name: 'policy', workflow: 'ci', conclusion: 'FAILURE', required: true },
    { name: 'apply', workflow: 'karpenter apply on comment', status: 'IN_PROGRESS', required: true },
  ];
  try {
    await expectCommentRefused(
      PR,
      'alice',
      'GitHub would not merge the pull request now (blocked: required check "policy" is failure)',
    );
  } finally {
    pull.mergeStateStatus = 'CLEAN';
    pull.checks = [];
  }
});

test('a head behind main would undo what main applied since', async () => {
  setReviews([{ author: 'carol', state: 'APPROVED' }]);
  const pull = gh.state.pulls.get(PR)!;
  pull.behind_by = 2;
  try {
    await expectCommentRefused(
      PR,
      'alice',
      `Head commit ${head.slice(0, 7)} is 2 commits behind main; applying it would undo what main has changed since.`,
    );
  } finally {
    pull.behind_by = 0;
  }
});

test('a collaborator edits the plan comment to hide a change, then it is approved', async () => {
  gh.setPermission('mallory', 'write');
  const comment = planComment(PR)!;
  const [marker] = comment.body.split('\n');
  gh.editComment(comment.id, `${marker}\n### Karpenter plan\n\nNo changes.`, 'mallory');
  setReviews([{ author: 'carol', state: 'APPROVED' }]);
  await expectCommentRefused(
    PR,
    'alice',
    `the plan comment on #${PR} was last edited by @mallory, so it no longer shows what the action planned`,
  );
  // the plan workflow writes the plan anew, and the action is its last editor again
  const replanned = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(PR, head), head));
  expect(replanned.code).toBe(0);
  expect(planComment(PR)!.editor?.login).toBe('github-actions[bot]');
});

test('the control: a fresh approval by carol, who has write access and pushed nothing, applies', async () => {
  setReviews([{ author: 'carol', state: 'APPROVED' }]);
  const r = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(PR, 'alice'), 'f'.repeat(40)),
  );
  expect(r.stdout).not.toContain('::error::');
  expect(r.code).toBe(0);
  expect(replies(PR).at(-1)!.body).toContain('succeeded');
  expect(await kube.get(NODEPOOL_RESOURCE, 'default')).toBeDefined();
});
