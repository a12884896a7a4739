/**
 * The GitHub flows end to end through the bundled action, as the runner runs it: `dist/index.js` with
 * INPUT_* variables and a GitHub event file, talking to a local stand-in for the GitHub REST and
 * GraphQL APIs (which records every request), a local stand-in for the Actions OIDC token endpoint,
 * moto as AWS and a sandbox API server with Karpenter's CRDs as the cluster. The pools stage is the
 * one applied here; the stages themselves have their own end-to-end tests.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { APPLY_LEASE } from '../../src/adapters/apply-lock.ts';
import { LEASES } from '../../src/adapters/kube-resources.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { TEST_CREDENTIALS, withAccount } from '../../sandbox/lib/aws.ts';
import { buildTrustPolicy } from '../../src/commands/iam-policy.ts';
import { parsePlanMarker } from '../../src/render/markdown.ts';
import { NODEPOOL as NODEPOOL_RESOURCE } from '../../src/stages/pools.ts';
import { startGithubStandin, type GithubStandin } from '../helpers/github-standin.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { oidcEnv, startOidcStandIn, type OidcStandIn } from '../helpers/oidc-standin.ts';
import { runAction, type ActionRun } from '../helpers/run-action.ts';
import {
  adminKube,
  deleteCluster,
  grantClusterAdmin,
  installKarpenterCrds,
  sandbox,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

let gh: GithubStandin;
let oidc: OidcStandIn;
let cluster: ClusterInfo;
let account: string;
let awsSession: Record<string, string>;
let workspace: string;
let kube: KubeClient;
const runs: ActionRun[] = [];
const NP_PATH = '/apis/karpenter.sh/v1/nodepools/default';

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
const commit = (message: string) => {
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
};

beforeAll(async () => {
  gh = await startGithubStandin({ owner: 'acme', name: 'infra' });
  oidc = await startOidcStandIn({ sub: 'repo:acme/infra:pull_request' });
  const made = await newAccountCluster();
  cluster = made.cluster;
  account = made.account;
  awsSession = made.env;
  await installKarpenterCrds(cluster);
  kube = new KubeClient(new KubeHttp(adminKube(cluster)));
  workspace = createWorkspace({
    'nodepool.yaml': `${NODEPOOL}  limits:\n    cpu: 100\n`,
    'nodeclass.yaml': NODECLASS,
  });
  writeClusterConfig(workspace, cluster);
  git('init', '-q', '-b', 'main');
  commit('karpenter config');
  for (const [login, role] of [
    ['alice', 'write'],
    ['bob', 'write'],
    ['carol', 'maintain'],
    ['dave', 'read'],
  ] as const)
    gh.setPermission(login, role);
});
afterAll(async () => {
  await gh.close();
  await oidc.close();
  await deleteCluster(cluster.name);
});

/** The runner's GitHub variables and event file for one event. */
function githubEnv(eventName: string, payload: object, sha: string, ref = 'refs/heads/main') {
  const dir = mkdtempSync(join(tmpdir(), 'ka-event-'));
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
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'alice',
    GITHUB_SHA: sha,
    GITHUB_REF: ref,
  };
}

async function run(
  inputs: Record<string, string>,
  github: Record<string, string>,
  env: Record<string, string> = awsSession,
): Promise<ActionRun> {
  const r = await runAction({
    inputs: { stages: 'pools', 'github-token': gh.token, ...inputs },
    env: { ...env, ...github },
    workspace,
  });
  runs.push(r);
  return r;
}

const pullEvent = (number: number, headSha: string, fork = false) => ({
  action: 'synchronize',
  number,
  pull_request: {
    number,
    user: { login: 'alice' },
    head: { sha: headSha, ref: 'pools', repo: { full_name: fork ? 'mallory/infra' : 'acme/infra' } },
    base: { sha: 'b'.repeat(40), ref: 'main', repo: { full_name: 'acme/infra' } },
  },
});
const commentEvent = (number: number, body: string, author: string) => ({
  action: 'created',
  issue: { number, pull_request: { url: `${gh.url}/repos/acme/infra/pulls/${number}` } },
  comment: { id: 9000 + runs.length, body, user: { login: author } },
});
/** GitHub's state after a merge: the pull request closed and merged as `mergeSha`, which contains it. */
function mergePull(number: number, mergeSha: string, mergedAt: string): void {
  Object.assign(gh.state.pulls.get(number)!, {
    state: 'closed',
    merged: true,
    merged_at: mergedAt,
    merge_commit_sha: mergeSha,
  });
  gh.linkCommit(mergeSha, [number]);
}
const planComments = (number: number) =>
  gh.commentsOn(number).filter((c) => c.body.startsWith('<!-- karpenter-action:plan'));
const lastReply = (number: number) =>
  gh
    .commentsOn(number)
    .filter((c) => c.body.startsWith('<!-- karpenter-action:apply'))
    .at(-1)?.body;

let headSha: string;

test('plan on a pull request: one comment per cluster, created once and then updated in place', async () => {
  headSha = git('rev-parse', 'HEAD');
  gh.addPull({ number: 7, author: 'alice', head: { sha: headSha, ref: 'pools', repo: 'acme/infra' } });
  const first = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(7, headSha), headSha));
  expect(first.code).toBe(0);
  expect(planComments(7)).toHaveLength(1);
  const marker = parsePlanMarker(planComments(7)[0]!.body);
  expect(marker).toEqual({ cluster: cluster.name, fingerprint: first.outputs.fingerprint, head: headSha });
  expect(planComments(7)[0]!.body).toContain('NodePool `default`');
  expect(planComments(7)[0]!.user.login).toBe('github-actions[bot]');
  expect(first.outputs['comment-url']).toMatch(/#issuecomment-\d+$/);

  // a new commit: the same comment now shows its plan
  writeFileSync(
    join(workspace, 'karpenter', 'nodepool.yaml'),
    readFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), 'utf8').replace('cpu: 100', 'cpu: 200'),
  );
  headSha = commit('bigger pool');
  gh.pushTo(7, headSha);
  const second = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(7, headSha), headSha));
  expect(second.code).toBe(0);
  expect(planComments(7)).toHaveLength(1);
  expect(parsePlanMarker(planComments(7)[0]!.body)).toEqual({
    cluster: cluster.name,
    fingerprint: second.outputs.fingerprint,
    head: headSha,
  });
  expect(gh.requestsTo('POST', /\/issues\/7\/comments$/)).toHaveLength(1);
  expect(gh.requestsTo('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1);
  for (const r of gh.requests) expect(r.headers.authorization).toMatch(new RegExp(`${gh.token}$`));

  // the same plan again writes nothing
  await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(7, headSha), headSha));
  expect(gh.requestsTo('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1);
  expect(planComments(7)).toHaveLength(1);

  // comment: false writes no comment at all
  const before = gh.requests.length;
  const quiet = await run(
    { command: 'plan', comment: 'false' },
    githubEnv('pull_request', pullEvent(7, headSha), headSha),
  );
  expect(quiet.code).toBe(0);
  expect(gh.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
});

test.each([
  {
    name: 'no review at all',
    reviews: [],
    commenter: 'bob',
    refusal: 'is not approved for apply',
  },
  {
    name: "the author's own approval",
    reviews: [{ author: 'alice', state: 'APPROVED' as const, head: true }],
    commenter: 'bob',
    refusal: 'is not approved for apply',
  },
  {
    name: 'an approval of an older commit',
    reviews: [{ author: 'bob', state: 'APPROVED' as const, head: false }],
    commenter: 'bob',
    refusal: 'is not approved for apply',
  },
  {
    name: 'an approval, then changes requested by the same reviewer',
    reviews: [
      { author: 'bob', state: 'APPROVED' as const, head: true },
      { author: 'bob', state: 'CHANGES_REQUESTED' as const, head: true },
    ],
    commenter: 'bob',
    refusal: 'is not approved for apply',
  },
  {
    name: 'an approval while another reviewer requests changes',
    reviews: [
      { author: 'bob', state: 'APPROVED' as const, head: true },
      { author: 'carol', state: 'CHANGES_REQUESTED' as const, head: true },
    ],
    commenter: 'bob',
    refusal: 'is not approved for apply',
  },
  {
    name: 'a commenter without write access',
    reviews: [{ author: 'bob', state: 'APPROVED' as const, head: true }],
    commenter: 'dave',
    refusal: '@dave may not apply',
  },
])('/karpenter apply is refused with $name, and nothing is applied', async (c) => {
  gh.state.reviews.length = 0;
  let minute = 0;
  for (const r of c.reviews)
    gh.addReview(7, {
      author: r.author,
      state: r.state,
      commitId: r.head ? headSha : 'a'.repeat(40),
      submittedAt: new Date(Date.UTC(2026, 10, 28, 10, minute++)).toISOString(),
    });
  const r = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(7, '/karpenter apply', c.commenter), 'f'.repeat(40)),
  );
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain(c.refusal);
  expect(lastReply(7)).toContain(c.refusal);
  expect(await kube.get(NODEPOOL_RESOURCE, 'default')).toBeUndefined();
});

test('/karpenter apply with an approval of the head by another reviewer applies the plan and reports it', async () => {
  gh.state.reviews.length = 0;
  gh.addReview(7, {
    author: 'carol',
    state: 'CHANGES_REQUESTED',
    commitId: headSha,
    submittedAt: '2026-11-28T10:00:00Z',
  });
  gh.addReview(7, {
    author: 'bob',
    state: 'APPROVED',
    commitId: headSha,
    submittedAt: '2026-11-28T10:01:00Z',
  });
  gh.addReview(7, {
    author: 'carol',
    state: 'APPROVED',
    commitId: headSha,
    submittedAt: '2026-11-28T10:02:00Z',
  });
  gh.addReview(7, {
    author: 'bob',
    state: 'COMMENTED',
    commitId: headSha,
    submittedAt: '2026-11-28T10:03:00Z',
  });
  const r = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(7, '/karpenter apply', 'bob'), 'f'.repeat(40)),
  );
  expect(r.stdout).not.toContain('::error::');
  expect(r.code).toBe(0);
  expect(lastReply(7)).toContain('succeeded');
  expect(lastReply(7)).toContain('Applied +2 ~0 -0');
  const pool = await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH);
  expect(pool.spec.limits.cpu).toBe(200);
});

test('/karpenter apply refuses a plan that is stale, and a plan of an older commit', async () => {
  // the plan comment still shows the creates that were just applied: a fresh plan differs
  const stale = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(7, '/karpenter apply', 'bob'), 'f'.repeat(40)),
  );
  expect(stale.code).not.toBe(0);
  expect(lastReply(7)).toContain('plan is stale');

  // a new commit without a plan yet
  const newer = 'c'.repeat(40);
  gh.pushTo(7, newer);
  gh.addReview(7, { author: 'bob', state: 'APPROVED', commitId: newer, submittedAt: '2026-11-28T11:00:00Z' });
  const old = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(7, '/karpenter apply', 'bob'), 'f'.repeat(40)),
  );
  expect(old.code).not.toBe(0);
  expect(lastReply(7)).toContain(
    `is for commit ${headSha.slice(0, 7)}, but the pull request's head is ccccccc`,
  );
  gh.pushTo(7, headSha);
});

test("after a merge, apply on push applies the merged pull request's last plan and reports on it", async () => {
  writeFileSync(
    join(workspace, 'karpenter', 'nodepool.yaml'),
    readFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), 'utf8').replace('cpu: 200', 'cpu: 300'),
  );
  const prHead = commit('even bigger pool');
  gh.addPull({ number: 8, author: 'alice', head: { sha: prHead, ref: 'bigger', repo: 'acme/infra' } });
  const planned = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(8, prHead), prHead));
  expect(planned.outputs.summary).toBe('+0 ~1 -0');
  mergePull(8, prHead, '2026-11-28T12:00:00Z');

  // a push of a commit no pull request merged: no approved plan
  const stray = await run({ command: 'apply' }, githubEnv('push', { after: 'd'.repeat(40) }, 'd'.repeat(40)));
  expect(stray.code).not.toBe(0);
  expect(stray.stdout).toContain('is not the merge of a pull request');

  const applied = await run({ command: 'apply' }, githubEnv('push', { after: prHead }, prHead));
  expect(applied.code).toBe(0);
  expect(lastReply(8)).toContain('Applied +0 ~1 -0');
  const pool = await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH);
  expect(pool.spec.limits.cpu).toBe(300);
});

test('an apply refuses while another holds the cluster lock, naming it, or waits for it', async () => {
  writeFileSync(
    join(workspace, 'karpenter', 'nodepool.yaml'),
    readFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), 'utf8').replace('cpu: 300', 'cpu: 400'),
  );
  const sha = commit('yet bigger');
  // another run holds the lock (the applies before left the Lease released)
  const renewTime = new Date().toISOString().replace(/Z$/, '000Z');
  const released = (await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
  expect((released.spec as { holderIdentity?: string }).holderIdentity).toBeUndefined();
  await kube.replace(LEASES, {
    ...released,
    spec: {
      holderIdentity: 'acme/infra run 77/1 by carol',
      leaseDurationSeconds: 120,
      renewTime,
      acquireTime: renewTime,
    },
  });
  const refused = await run(
    { command: 'apply', 'auto-approve': 'true', 'lock-wait': '0' },
    githubEnv('workflow_dispatch', {}, sha),
  );
  expect(refused.code).not.toBe(0);
  expect(refused.stdout).toContain(
    'another apply holds the lock on this cluster: acme/infra run 77/1 by carol',
  );
  expect(
    (await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH)).spec.limits.cpu,
  ).toBe(300);

  const waiting = run(
    { command: 'apply', 'auto-approve': 'true', 'lock-wait': '60' },
    githubEnv('workflow_dispatch', {}, sha),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const held = (await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
  await kube.replace(LEASES, { ...held, spec: { ...(held.spec as object), holderIdentity: null } });
  const applied = await waiting;
  expect(applied.code).toBe(0);
  expect(
    (await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH)).spec.limits.cpu,
  ).toBe(400);
  const lease = (await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!.spec as {
    holderIdentity?: string;
  };
  expect(lease.holderIdentity).toBeUndefined();
});

test('both apply flows on one pull request end green: the merge push finds the comment apply done and says so', async () => {
  writeFileSync(
    join(workspace, 'karpenter', 'nodepool.yaml'),
    readFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), 'utf8').replace('cpu: 400', 'cpu: 450'),
  );
  const prHead = commit('a pool for the batch jobs');
  gh.addPull({ number: 9, author: 'alice', head: { sha: prHead, ref: 'batch', repo: 'acme/infra' } });
  const planned = await run({ command: 'plan' }, githubEnv('pull_request', pullEvent(9, prHead), prHead));
  expect(planned.outputs.summary).toBe('+0 ~1 -0');
  gh.addReview(9, {
    author: 'bob',
    state: 'APPROVED',
    commitId: prHead,
    submittedAt: '2026-11-28T13:00:00Z',
  });
  const byComment = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(9, '/karpenter apply', 'bob'), prHead),
  );
  expect(byComment.code).toBe(0);
  expect(lastReply(9)).toContain('Applied +0 ~1 -0');

  mergePull(9, prHead, '2026-11-28T13:05:00Z');
  const onPush = await run({ command: 'apply' }, githubEnv('push', { after: prHead }, prHead));
  expect({ code: onPush.code, out: onPush.code === 0 ? '' : onPush.stdout }).toEqual({ code: 0, out: '' });
  expect(onPush.stdout).toContain('no changes to apply: the cluster already matches the repository');
  expect(lastReply(9)).toContain('Nothing left to apply: the cluster already matches the repository');
  const pool = await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH);
  expect(pool.spec.limits.cpu).toBe(450);
});

test('recovery by hand: a workflow_dispatch apply on main applies the plan whose fingerprint it is given, and only that', async () => {
  writeFileSync(
    join(workspace, 'karpenter', 'nodepool.yaml'),
    readFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), 'utf8').replace('cpu: 450', 'cpu: 500'),
  );
  const sha = commit('pushed straight to main');
  const dispatch = githubEnv('workflow_dispatch', { inputs: {} }, sha);
  const withoutFingerprint = await run({ command: 'apply' }, dispatch);
  expect(withoutFingerprint.code).not.toBe(0);
  expect(withoutFingerprint.stdout).toContain('is not the merge of a pull request');

  const reviewed = await run({ command: 'plan' }, dispatch);
  expect(reviewed.outputs.summary).toBe('+0 ~1 -0');
  const wrong = await run({ command: 'apply', fingerprint: 'f'.repeat(64) }, dispatch);
  expect(wrong.code).not.toBe(0);
  expect(wrong.stdout).toContain('plan is stale');
  const applied = await run({ command: 'apply', fingerprint: reviewed.outputs.fingerprint! }, dispatch);
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  const pool = await kube.http.request<{ spec: { limits: { cpu: number } } }>('GET', NP_PATH);
  expect(pool.spec.limits.cpu).toBe(500);
});

test('drift: the issue opens, updates, and closes once the cluster matches again', async () => {
  const schedule = () => githubEnv('schedule', { schedule: '17 5 * * *' }, git('rev-parse', 'HEAD'));
  const clean = await run({ command: 'drift' }, schedule());
  expect(clean.code).toBe(0);
  expect(clean.outputs.drift).toBe('false');
  expect([...gh.state.issues.values()]).toEqual([]);

  await kube.http.request('PATCH', NP_PATH, {
    contentType: 'application/merge-patch+json',
    body: { spec: { limits: { cpu: 5 } } },
  });
  // Karpenter's own node drift is reported alongside, and is not configuration drift
  await kube.http.request('POST', '/apis/karpenter.sh/v1/nodeclaims', {
    body: {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodeClaim',
      metadata: { name: 'default-x1y2z', labels: { 'karpenter.sh/nodepool': 'default' } },
      spec: {
        nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
        requirements: [],
      },
    },
  });
  await kube.http.request('PATCH', '/apis/karpenter.sh/v1/nodeclaims/default-x1y2z/status', {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        conditions: [
          {
            type: 'Drifted',
            status: 'True',
            reason: 'NodePoolDrifted',
            message: '',
            lastTransitionTime: '2026-11-28T05:00:00Z',
          },
        ],
      },
    },
  });
  const drifted = await run({ command: 'drift' }, schedule());
  expect(drifted.code).not.toBe(0);
  expect(drifted.outputs.drift).toBe('true');
  expect(drifted.stdout).toContain('configuration drift');
  const issues = [...gh.state.issues.values()];
  expect(issues).toHaveLength(1);
  expect(issues[0]!.state).toBe('open');
  expect(issues[0]!.body.split('\n')[0]).toBe(`<!-- karpenter-action:drift cluster=${cluster.name} -->`);
  expect(issues[0]!.body).toContain('spec.limits.cpu');
  expect(issues[0]!.body).toContain('1 NodeClaim is Drifted: Karpenter replaces it');
  expect(drifted.outputs['drift-issue']).toBe(String(issues[0]!.number));

  await kube.http.request('PATCH', NP_PATH, {
    contentType: 'application/merge-patch+json',
    body: { spec: { limits: { cpu: 6 } } },
  });
  const again = await run({ command: 'drift', 'fail-on-drift': 'false' }, schedule());
  expect(again.code).toBe(0);
  expect(again.outputs.drift).toBe('true');
  expect(gh.state.issues.size).toBe(1);
  expect([...gh.state.issues.values()][0]!.body).toContain('6');

  const fixed = await run({ command: 'apply', 'auto-approve': 'true' }, schedule());
  expect(fixed.code).toBe(0);
  const back = await run({ command: 'drift' }, schedule());
  expect(back.code).toBe(0);
  expect(back.outputs.drift).toBe('false');
  const closed = [...gh.state.issues.values()][0]!;
  expect(closed.state).toBe('closed');
  expect(closed.state_reason).toBe('completed');
  expect(gh.commentsOn(closed.number).at(-1)!.body).toContain('matches the repository again');
});

test('role-to-assume: the OIDC token is exchanged for the role, and every AWS and cluster call uses it', async () => {
  // the plan role's trust as `karpenter-action iam-policy` prints it: trusted from this repository's pull
  // requests. Its Kubernetes access here is cluster admin, because this test is about credentials; the
  // planner's own access, as iam-policy prints it, is planner-identity.test.ts's.
  const iam = withAccount(
    new IAMClient({ region: cluster.region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: 'https://token.actions.githubusercontent.com',
      ClientIDList: ['sts.amazonaws.com'],
    }),
  );
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'karpenter-action-plan',
      AssumeRolePolicyDocument: JSON.stringify(
        buildTrustPolicy({ account, repository: 'acme/infra', role: 'plan', environment: 'karpenter-apply' }),
      ),
    }),
  );
  const role = `arn:aws:iam::${account}:role/karpenter-action-plan`;
  await grantClusterAdmin(cluster, role);
  const noAmbient = Object.fromEntries(
    Object.entries(awsSession).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(k),
    ),
  );
  const r = await run(
    { command: 'plan', 'role-to-assume': role, comment: 'false' },
    githubEnv('pull_request', pullEvent(7, headSha), headSha),
    { ...noAmbient, ...oidcEnv(oidc) },
  );
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`acting as ${role}`);
  expect(oidc.calls.filter((c) => c.authorized).map((c) => c.audience)).toEqual(['sts.amazonaws.com']);

  // without the role's access entry the cluster refuses it, and the error names that role
  const other = `arn:aws:iam::${account}:role/karpenter-action-nobody`;
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'karpenter-action-nobody',
      AssumeRolePolicyDocument: JSON.stringify(
        buildTrustPolicy({ account, repository: 'acme/infra', role: 'plan', environment: 'karpenter-apply' }),
      ),
    }),
  );
  const denied = await run(
    { command: 'plan', 'role-to-assume': other, comment: 'false' },
    githubEnv('pull_request', pullEvent(7, headSha), headSha),
    { ...noAmbient, ...oidcEnv(oidc) },
  );
  expect(denied.code).not.toBe(0);
  expect(denied.stdout).toContain(
    `aws eks create-access-entry --cluster-name ${cluster.name} --principal-arn ${other}`,
  );
});

test('a fork pull request without an OIDC token: no comment is attempted, the summary says what a maintainer does', async () => {
  const fork = gh.addPull({
    author: 'mallory',
    head: { sha: 'e'.repeat(40), ref: 'evil', repo: 'mallory/infra' },
  }).number;
  const role = `arn:aws:iam::${account}:role/karpenter-action-plan`;
  const r = await run(
    { command: 'plan', 'role-to-assume': role },
    githubEnv('pull_request', pullEvent(fork, 'e'.repeat(40), true), 'e'.repeat(40)),
  );
  expect(r.code).toBe(0);
  expect(r.stdout).not.toMatch(/\n\s+at /);
  // a fork's token is read-only: the action does not try to comment
  expect(gh.requests.filter((q) => q.method !== 'GET' && q.path.includes(`/issues/${fork}/`))).toEqual([]);
  expect(planComments(fork)).toHaveLength(0);
  expect(r.summary).toContain('comes from a fork');
  expect(r.summary).toContain(`gh pr checkout ${fork} && git push origin HEAD:refs/heads/fork-${fork}`);
  expect(r.stdout).toContain('::warning::plan not run: fork pull requests get no OIDC token');
});

test("a maintainer's workflow_dispatch plan of a fork's pull request by number: only of its checked-out head, commented there; apply still refuses the fork", async () => {
  const head = git('rev-parse', 'HEAD');
  const pr = gh.addPull({
    author: 'mallory',
    head: { sha: 'f'.repeat(40), ref: 'patch-1', repo: 'mallory/infra' },
  });
  const dispatch = () =>
    run(
      { command: 'plan', 'pull-request': String(pr.number) },
      githubEnv('workflow_dispatch', { inputs: { 'pull-request': String(pr.number) } }, head),
    );
  // the workspace is not the pull request's head: nothing is planned or posted
  const wrong = await dispatch();
  expect(wrong.code).not.toBe(0);
  expect(wrong.stdout).toContain(
    `the workspace has commit ${head.slice(0, 12)} checked out, not the head ${'f'.repeat(12)} of pull request #${pr.number}`,
  );
  expect(wrong.stdout).toContain(`ref: refs/pull/${pr.number}/head`);
  expect(planComments(pr.number)).toHaveLength(0);

  // with its head checked out, the plan is of that commit and becomes the pull request's plan comment
  pr.head.sha = head;
  const planned = await dispatch();
  expect(planned.code).toBe(0);
  expect(planned.stdout).toContain(
    `planning pull request #${pr.number} at ${head.slice(0, 12)} (checked out)`,
  );
  expect(planComments(pr.number)).toHaveLength(1);
  expect(parsePlanMarker(planComments(pr.number)[0]!.body)).toEqual({
    cluster: cluster.name,
    fingerprint: planned.outputs.fingerprint,
    head,
  });

  // a comment apply on the fork is still refused
  const applied = await run(
    { command: 'apply' },
    githubEnv('issue_comment', commentEvent(pr.number, '/karpenter apply', 'carol'), head),
  );
  expect(applied.code).not.toBe(0);
  expect(lastReply(pr.number)).toContain('comes from a fork');

  // the input belongs to plan, and names a pull request by its number
  const misuse = await run(
    { command: 'apply', 'pull-request': String(pr.number) },
    githubEnv('workflow_dispatch', {}, head),
  );
  expect(misuse.stdout).toContain('input "pull-request" is for the plan command only');
  const notNumber = await run(
    { command: 'plan', 'pull-request': 'main' },
    githubEnv('workflow_dispatch', {}, head),
  );
  expect(notNumber.stdout).toContain(`input "pull-request" is "main"; use the pull request's number`);
});

test('matrix: a fleet pull request fans out to the clusters it touches, a schedule to all', async () => {
  const fleet = mkdtempSync(join(tmpdir(), 'ka-fleet-'));
  cpSync(join(import.meta.dirname, '..', 'fixtures', 'fleet', 'infra'), join(fleet, '.github'), {
    recursive: true,
  });
  const matrix = (eventName: string, payload: object, sha = 'a'.repeat(40)) =>
    runAction({
      inputs: { command: 'matrix', 'github-token': gh.token },
      env: { ...githubEnv(eventName, payload, sha), PATH: process.env.PATH ?? '' },
      workspace: fleet,
    });
  const all = await matrix('schedule', {});
  expect(all.code).toBe(0);
  const every = (JSON.parse(all.outputs.matrix!) as { include: { cluster: string }[] }).include.map(
    (c) => c.cluster,
  );
  expect(every.length).toBeGreaterThanOrEqual(2);

  const pr = gh.addPull({ author: 'alice', files: [] });
  pr.files = [{ filename: `.github/karpenter/prod/nodepool.yaml`, status: 'modified' }];
  const touched = await matrix('pull_request', pullEvent(pr.number, pr.head.sha));
  expect(touched.code).toBe(0);
  const include = (JSON.parse(touched.outputs.matrix!) as { include: { cluster: string }[] }).include;
  expect(include.map((c) => c.cluster)).toEqual([every.find((c) => c.includes('prod'))]);

  // after the merge, the push's matrix is the merged pull request's clusters, for the apply jobs
  const merge = '9'.repeat(40);
  mergePull(pr.number, merge, '2026-11-28T13:00:00Z');
  const pushed = await matrix('push', { after: merge }, merge);
  expect((JSON.parse(pushed.outputs.matrix!) as { include: unknown[] }).include).toEqual(include);
});

test('no secret appears in any output, summary, comment, issue or plan file', () => {
  const secrets = [
    gh.token,
    awsSession.AWS_SECRET_ACCESS_KEY!,
    awsSession.AWS_SESSION_TOKEN!,
    oidc.requestToken,
    ...oidc.calls.flatMap((c) => (c.token ? [c.token, c.token.split('.')[2]!] : [])),
  ];
  const files = runs.flatMap((r) =>
    readdirSync(r.runnerTemp)
      .filter((f) => f.endsWith('.json') || f.endsWith('.md'))
      .map((f) => readFileSync(join(r.runnerTemp, f), 'utf8')),
  );
  expect(files.length).toBeGreaterThan(5);
  const texts = [
    ...files,
    // the runner consumes ::add-mask:: commands (that is how a secret gets masked); all else is shown
    ...runs.flatMap((r) => [
      r.stdout.replace(/^::add-mask::.*$/gm, ''),
      r.stderr,
      r.summary,
      JSON.stringify(r.outputs),
    ]),
    ...gh.state.comments.map((c) => c.body),
    ...[...gh.state.issues.values()].map((i) => i.body),
  ];
  expect(texts.length).toBeGreaterThan(20);
  for (const s of secrets) {
    expect(s.length).toBeGreaterThanOrEqual(8);
    for (const t of texts) expect(t).not.toContain(s);
  }
});
