/**
 * The GitHub client over real HTTP against the local stand-in: pagination, retries, errors that say
 * what to fix, and the mapping of every endpoint the action uses.
 */
import { GitHubApiError, GitHubClient } from '../../src/github/client.ts';
import { startGithubStandin, type GithubStandin } from '../helpers/github-standin.ts';

let gh: GithubStandin;
const debug: string[] = [];
const log = { debug: (l: string) => debug.push(l), warn: (l: string) => debug.push(l) };

const client = (token = 'ghs_test', extra: { graphqlUrl?: string } = {}) =>
  new GitHubClient({
    token,
    apiUrl: gh.url,
    graphqlUrl: extra.graphqlUrl ?? gh.graphqlUrl,
    repo: { owner: 'acme', repo: 'infra' },
    log,
    retryBaseMs: 1,
  });

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as GitHubApiError,
  );

beforeEach(async () => {
  debug.length = 0;
  gh = await startGithubStandin({
    tokens: {
      ghs_readonly: {
        login: 'github-actions[bot]',
        scopes: { 'pull-requests': 'read', issues: 'read', contents: 'read' },
      },
      ghs_nocontents: { login: 'github-actions[bot]', scopes: { 'pull-requests': 'write', issues: 'write' } },
    },
  });
});
afterEach(() => gh.close());

describe('requests', () => {
  test('send the token as a bearer token with the GitHub media type, API version and a user agent', async () => {
    gh.addPull({ number: 7 });
    await client().readPull(7);
    const [req] = gh.requestsTo('GET', '/repos/acme/infra/pulls/7');
    expect(req?.headers.authorization).toBe('Bearer ghs_test');
    expect(req?.headers.accept).toBe('application/vnd.github+json');
    expect(req?.headers['x-github-api-version']).toBe('2022-11-28');
    expect(req?.headers['user-agent']).toBe('karpenter-action');
  });

  test('follow Link pagination through more than 100 comments, 100 at a time', async () => {
    const pr = gh.addPull();
    for (let i = 0; i < 250; i++)
      gh.addComment(pr.number, `comment ${i}`, { author: i % 2 ? 'alice' : 'bob' });
    const comments = await client().listIssueComments(pr.number);
    expect(comments).toHaveLength(250);
    expect(comments.map((c) => c.body)).toEqual(Array.from({ length: 250 }, (_, i) => `comment ${i}`));
    expect(comments[1]).toMatchObject({
      user: { login: 'alice', type: 'User' },
      nodeId: expect.stringMatching(/^IC_/) as unknown,
    });
    const pages = gh.requestsTo('GET', `/repos/acme/infra/issues/${pr.number}/comments`);
    expect(pages.map((r) => [r.query.per_page, r.query.page])).toEqual([
      ['100', undefined],
      ['100', '2'],
      ['100', '3'],
    ]);
  });
});

describe('retries', () => {
  test('a 502 is retried and the comment is created once', async () => {
    const pr = gh.addPull();
    gh.fail({
      method: 'POST',
      path: `/repos/acme/infra/issues/${pr.number}/comments`,
      status: 502,
      count: 2,
    });
    const c = await client().createIssueComment(pr.number, 'hello');
    expect(c.body).toBe('hello');
    expect(gh.requestsTo('POST', `/repos/acme/infra/issues/${pr.number}/comments`)).toHaveLength(3);
    expect(gh.commentsOn(pr.number).map((x) => x.body)).toEqual(['hello']);
    expect(debug.filter((l) => l.startsWith('retrying'))).toHaveLength(2);
  });

  test('a comment POST that went through before it failed is found, not posted again', async () => {
    const pr = gh.addPull();
    const path = `/repos/acme/infra/issues/${pr.number}/comments`;
    gh.fail({ method: 'POST', path, status: 502, after: true });
    const c = await client().createIssueComment(pr.number, 'hello');
    expect(c).toMatchObject({ body: 'hello', id: gh.commentsOn(pr.number)[0]!.id });
    expect(gh.commentsOn(pr.number).map((x) => x.body)).toEqual(['hello']);
    expect(gh.requestsTo('POST', path)).toHaveLength(1);
    expect(gh.requestsTo('GET', path)).toHaveLength(1);
  });

  test('a comment POST whose connection dropped after it was carried out is found by the caller’s own finder', async () => {
    const pr = gh.addPull();
    const path = `/repos/acme/infra/issues/${pr.number}/comments`;
    gh.addComment(pr.number, 'hello');
    gh.fail({ method: 'POST', path, status: 'disconnect', after: true });
    const finds: string[] = [];
    const c = await client().createIssueComment(pr.number, 'hello', async () => {
      finds.push('looked');
      return (await client().listIssueComments(pr.number)).at(-1);
    });
    expect(finds).toEqual(['looked']);
    expect(c.id).toBe(gh.commentsOn(pr.number)[1]!.id);
    expect(gh.commentsOn(pr.number)).toHaveLength(2);
    expect(gh.requestsTo('POST', path)).toHaveLength(1);
  });

  test('an issue POST that went through before it timed out is found, not opened again', async () => {
    gh.fail({ method: 'POST', path: '/repos/acme/infra/issues', status: 504, after: true, count: 1 });
    const issue = await client().createIssue({ title: 'Drift', body: 'report' });
    expect([...gh.state.issues.values()].map((i) => [i.number, i.title])).toEqual([[issue.number, 'Drift']]);
    expect(gh.requestsTo('POST', '/repos/acme/infra/issues')).toHaveLength(1);
  });

  test('a create that keeps failing without going through is given up after four attempts', async () => {
    const pr = gh.addPull();
    const path = `/repos/acme/infra/issues/${pr.number}/comments`;
    gh.fail({ method: 'POST', path, status: 500, count: 10 });
    const err = await failure(client().createIssueComment(pr.number, 'hello'));
    expect(err.status).toBe(500);
    expect(err.ambiguous).toBe(true);
    expect(gh.requestsTo('POST', path)).toHaveLength(4);
    expect(gh.commentsOn(pr.number)).toEqual([]);
  });

  test('a secondary rate limit with retry-after is waited out and retried', async () => {
    const pr = gh.addPull();
    gh.fail({ path: `/repos/acme/infra/issues/${pr.number}/comments`, status: 403, retryAfter: 0 });
    await expect(client().listIssueComments(pr.number)).resolves.toEqual([]);
    expect(gh.requestsTo('GET', `/repos/acme/infra/issues/${pr.number}/comments`)).toHaveLength(2);
  });

  test('a dropped connection is retried', async () => {
    gh.addPull({ number: 3 });
    gh.fail({ path: '/repos/acme/infra/pulls/3', status: 'disconnect' });
    await expect(client().readPull(3)).resolves.toMatchObject({ number: 3 });
    expect(gh.requestsTo('GET', '/repos/acme/infra/pulls/3')).toHaveLength(2);
  });

  test('gives up after four attempts with the last status', async () => {
    gh.addPull({ number: 3 });
    gh.fail({ path: '/repos/acme/infra/pulls/3', status: 503, count: 10 });
    const err = await failure(client().readPull(3));
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err.status).toBe(503);
    expect(gh.requestsTo('GET', '/repos/acme/infra/pulls/3')).toHaveLength(4);
  });

  test('a 404 is not retried', async () => {
    const err = await failure(client().readPull(999));
    expect(err.status).toBe(404);
    expect(err.method).toBe('GET');
    expect(err.path).toBe('/repos/acme/infra/pulls/999');
    expect(gh.requestsTo('GET', '/repos/acme/infra/pulls/999')).toHaveLength(1);
  });

  test('a used-up primary rate limit is not retried and the hint says when it resets', async () => {
    gh.addPull({ number: 3 });
    gh.fail({
      path: '/repos/acme/infra/pulls/3',
      status: 403,
      message: 'API rate limit exceeded for installation ID 1.',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1893456000' },
    });
    const err = await failure(client().readPull(3));
    expect(err.status).toBe(403);
    expect(err.hint()).toBe("the token's API rate limit is used up; it resets at 2030-01-01T00:00:00.000Z");
    expect(gh.requestsTo('GET', '/repos/acme/infra/pulls/3')).toHaveLength(1);
  });
});

describe('errors', () => {
  test('"Resource not accessible by integration" names the permission the workflow lacks', async () => {
    const pr = gh.addPull();
    const onPull = await failure(client('ghs_readonly').createIssueComment(pr.number, 'x'));
    expect(onPull.status).toBe(403);
    expect(onPull.githubMessage).toBe('Resource not accessible by integration');
    expect(onPull.hint()).toContain('`pull-requests: write` (on a pull request)');
    expect(gh.requestsTo('POST', `/repos/acme/infra/issues/${pr.number}/comments`)).toHaveLength(1);

    const newIssue = await failure(client('ghs_readonly').createIssue({ title: 't', body: 'b' }));
    expect(newIssue.hint()).toBe(
      "the token lacks a permission: add `issues: write` to the workflow's or job's `permissions:`",
    );

    const file = await failure(client('ghs_nocontents').readFileAt('a.yaml', 'main'));
    expect(file.hint()).toContain('`contents: read`');
  });

  test('an unknown token gets a 401 whose hint says the token is invalid, and the token never shows', async () => {
    gh.addPull({ number: 1 });
    const secret = 'ghs_0123456789abcdefSECRET';
    const err = await failure(client(secret).readPull(1));
    expect(err.status).toBe(401);
    expect(err.hint()).toMatch(/github-token is invalid or expired/);
    for (const text of [err.message, err.hint() ?? '', err.stack ?? '', JSON.stringify(err)])
      expect(text).not.toContain(secret);
  });

  test('a token echoed back by the server is blanked out of the error', async () => {
    gh.addPull({ number: 1 });
    gh.fail({ path: '/repos/acme/infra/pulls/1', status: 400, message: 'bad header: Bearer ghs_test' });
    const err = await failure(client().readPull(1));
    expect(err.githubMessage).toBe('bad header: Bearer ***');
    expect(err.message).not.toContain('ghs_test');
  });
});

describe('endpoints', () => {
  test('viewer login from GraphQL, falling back to the Actions bot when GraphQL is unavailable', async () => {
    await expect(client().readViewerLogin()).resolves.toBe('github-actions[bot]');
    const broken = client('ghs_test', { graphqlUrl: `${gh.url}/no-graphql-here` });
    await expect(broken.readViewerLogin()).resolves.toBe('github-actions[bot]');
    expect(debug.some((l) => l.startsWith("could not read the token's login"))).toBe(true);
  });

  test('minimized comments are found in batches of 100 node ids', async () => {
    const pr = gh.addPull();
    const all = Array.from({ length: 150 }, (_, i) =>
      gh.addComment(pr.number, `c${i}`, { minimized: i % 50 === 7 }),
    );
    const hidden = await client().listMinimizedCommentIds(all.map((c) => c.node_id));
    expect([...hidden].sort()).toEqual([all[7], all[57], all[107]].map((c) => c?.node_id).sort());
    expect(gh.requestsTo('POST', '/graphql')).toHaveLength(2);
  });

  test('pull request, reviews, files and the pulls of a commit', async () => {
    const pr = gh.addPull({
      author: 'alice',
      head: { sha: 'h'.repeat(40), ref: 'feature', repo: 'mallory/infra' },
      files: [
        { filename: 'karpenter/a.yaml', status: 'modified' },
        { filename: 'karpenter/b.yaml', status: 'renamed', previous_filename: 'karpenter/old.yaml' },
      ],
    });
    gh.addReview(pr.number, { author: 'bob', state: 'APPROVED', commitId: 'h'.repeat(40) });
    const merged = gh.addPull({ merged: true, state: 'closed', merge_commit_sha: 'm'.repeat(40) });
    gh.linkCommit('m'.repeat(40), [merged.number]);

    const c = client();
    await expect(c.readPull(pr.number)).resolves.toEqual({
      number: pr.number,
      state: 'open',
      merged: false,
      draft: false,
      user: { login: 'alice' },
      head: { sha: 'h'.repeat(40), ref: 'feature', repoFullName: 'mallory/infra' },
      base: { sha: pr.base.sha, ref: 'main', repoFullName: 'acme/infra' },
    });
    await expect(c.listPullReviews(pr.number)).resolves.toEqual([
      {
        id: expect.any(Number) as unknown,
        user: { login: 'bob' },
        state: 'APPROVED',
        commitId: 'h'.repeat(40),
        submittedAt: expect.any(String) as unknown,
      },
    ]);
    await expect(c.listPullFiles(pr.number)).resolves.toEqual([
      { filename: 'karpenter/a.yaml', status: 'modified' },
      { filename: 'karpenter/b.yaml', status: 'renamed', previousFilename: 'karpenter/old.yaml' },
    ]);
    await expect(c.listPullsForCommit('m'.repeat(40))).resolves.toEqual([
      {
        number: merged.number,
        state: 'closed',
        mergedAt: expect.any(String) as unknown,
        mergeCommitSha: 'm'.repeat(40),
        head: { sha: merged.head.sha },
        base: { ref: 'main' },
      },
    ]);
    await expect(c.listPullsForCommit('0'.repeat(40))).resolves.toEqual([]);
  });

  test('collaborator permission prefers role_name and is none for strangers', async () => {
    gh.setPermission('maya', 'maintain');
    gh.setPermission('tom', 'triage');
    gh.addPull({ author: 'stranger' });
    const c = client();
    await expect(c.readCollaboratorPermission('maya')).resolves.toBe('maintain');
    await expect(c.readCollaboratorPermission('tom')).resolves.toBe('triage');
    await expect(c.readCollaboratorPermission('stranger')).resolves.toBe('none');
    await expect(c.readCollaboratorPermission('nobody-at-all')).resolves.toBe('none');
  });

  test('open issues leave pull requests out; issues are created, edited and closed with a reason', async () => {
    gh.addPull();
    gh.addIssue({ title: 'old', state: 'closed' });
    const c = client();
    const created = await c.createIssue({ title: 'Drift', body: 'report' });
    expect(created).toMatchObject({
      title: 'Drift',
      body: 'report',
      user: { login: 'github-actions[bot]' },
      state: 'open',
    });
    expect((await c.listOpenIssues()).map((i) => i.number)).toEqual([created.number]);
    const closed = await c.updateIssue(created.number, { state: 'closed', stateReason: 'not_planned' });
    expect(closed.state).toBe('closed');
    expect(gh.state.issues.get(created.number)?.state_reason).toBe('not_planned');
    expect(gh.requestsTo('PATCH', `/repos/acme/infra/issues/${created.number}`)[0]?.body).toEqual({
      state: 'closed',
      state_reason: 'not_planned',
    });
    await expect(c.listOpenIssues()).resolves.toEqual([]);
  });

  test('a file at a commit, and undefined where it does not exist', async () => {
    const text = 'cluster: weasel\nregion: us-east-1\n' + '# padding so the base64 wraps\n'.repeat(5);
    gh.setFile('b'.repeat(40), '.github/karpenter.yaml', text);
    const c = client();
    await expect(c.readFileAt('.github/karpenter.yaml', 'b'.repeat(40))).resolves.toBe(text);
    await expect(c.readFileAt('.github/karpenter.yaml', 'c'.repeat(40))).resolves.toBeUndefined();
    expect(gh.requestsTo('GET', '/repos/acme/infra/contents/.github/karpenter.yaml')[0]?.query.ref).toBe(
      'b'.repeat(40),
    );
  });

  test('the default branch, a branch activity log newest first, and a comparison', async () => {
    const pr = gh.addPull({ author: 'alice', head: { sha: '1'.repeat(40), ref: 'feature' }, behind_by: 2 });
    gh.pushTo(pr.number, '2'.repeat(40), 'bob', 'force_push');
    gh.addPull({ head: { ref: 'other' } });
    const c = client();
    await expect(c.readDefaultBranch()).resolves.toBe('main');
    await expect(c.listBranchActivity('feature')).resolves.toEqual([
      expect.objectContaining({
        actor: 'bob',
        before: '1'.repeat(40),
        after: '2'.repeat(40),
        activityType: 'force_push',
      }),
      expect.objectContaining({
        actor: 'alice',
        after: '1'.repeat(40),
        activityType: 'branch_creation',
        ref: 'refs/heads/feature',
      }),
    ]);
    expect(gh.requestsTo('GET', '/repos/acme/infra/activity')[0]?.query).toMatchObject({
      ref: 'refs/heads/feature',
      direction: 'desc',
    });
    await expect(c.readComparison('main', '2'.repeat(40))).resolves.toEqual({
      aheadBy: 1,
      behindBy: 2,
      status: 'diverged',
    });
  });

  test("GitHub's verdict on a pull request: review decision, mergeability and the head's checks", async () => {
    const pr = gh.addPull({
      head: { sha: '3'.repeat(40) },
      reviewDecision: 'REVIEW_REQUIRED',
      mergeStateStatus: 'BLOCKED',
      checks: [
        { name: 'plan', workflow: 'karpenter plan', conclusion: 'SUCCESS', required: true },
        { name: 'apply', workflow: 'karpenter apply', status: 'IN_PROGRESS', required: true },
        { name: 'ci/legacy', kind: 'StatusContext', conclusion: 'FAILURE' },
      ],
    });
    await expect(client().readPullStatus(pr.number)).resolves.toEqual({
      reviewDecision: 'REVIEW_REQUIRED',
      mergeable: 'MERGEABLE',
      mergeStateStatus: 'BLOCKED',
      headSha: '3'.repeat(40),
      checks: [
        { name: 'plan', workflow: 'karpenter plan', state: 'SUCCESS', required: true },
        { name: 'apply', workflow: 'karpenter apply', state: 'PENDING', required: true },
        { name: 'ci/legacy', workflow: undefined, state: 'FAILURE', required: false },
      ],
    });
    const plain = gh.addPull();
    await expect(client().readPullStatus(plain.number)).resolves.toMatchObject({
      reviewDecision: undefined,
      mergeStateStatus: 'CLEAN',
      checks: [],
    });
    await expect(failure(client().readPullStatus(999))).resolves.toMatchObject({
      githubMessage: expect.stringContaining('Could not resolve to a PullRequest') as unknown,
    });
  });

  test("a comment's last editor: none, the token's own identity, or a person", async () => {
    const pr = gh.addPull();
    const c = client();
    const ours = await c.createIssueComment(pr.number, 'plan');
    await expect(c.readCommentEditor(ours.nodeId)).resolves.toBeUndefined();
    await c.updateIssueComment(ours.id, 'plan 2');
    await expect(c.readCommentEditor(ours.nodeId)).resolves.toBe('github-actions');
    gh.editComment(ours.id, 'plan 3', 'mallory');
    await expect(c.readCommentEditor(ours.nodeId)).resolves.toBe('mallory');
  });

  test('comments are created and updated with their links', async () => {
    const issue = gh.addIssue({ title: 'x' });
    const c = client();
    const created = await c.createIssueComment(issue.number, 'one');
    expect(created.url).toBe(
      `https://github.com/acme/infra/issues/${issue.number}#issuecomment-${created.id}`,
    );
    const updated = await c.updateIssueComment(created.id, 'two');
    expect(updated).toMatchObject({ id: created.id, body: 'two' });
    expect(gh.commentsOn(issue.number).map((x) => x.body)).toEqual(['two']);
  });
});
