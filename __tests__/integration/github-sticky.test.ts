/**
 * The sticky plan comment and the drift issue over real HTTP against the local GitHub stand-in: one
 * comment or issue per marker, found again by marker and author, never someone else's.
 */
import { GitHubClient } from '../../src/github/client.ts';
import { driftMarker, reportDriftIssue } from '../../src/github/drift-issue.ts';
import { readStickyComment, upsertStickyComment } from '../../src/github/sticky.ts';
import { planMarker } from '../../src/render/markdown.ts';
import { startGithubStandin, type GithubStandin, type StandinOptions } from '../helpers/github-standin.ts';

let gh: GithubStandin;
let client: GitHubClient;

async function start(opts: StandinOptions = {}): Promise<void> {
  gh = await startGithubStandin(opts);
  client = new GitHubClient({
    token: gh.token,
    apiUrl: gh.url,
    graphqlUrl: gh.graphqlUrl,
    repo: { owner: 'acme', repo: 'infra' },
    retryBaseMs: 1,
  });
}
afterEach(() => gh.close());

const prod = planMarker('prod');
const planBody = (cluster: string, fingerprint: string, text: string) =>
  `${planMarker(cluster)}fingerprint=${fingerprint} head=abc -->\n${text}`;
const patches = () => gh.requestsTo('PATCH', /^\/repos\/acme\/infra\/issues\/comments\/\d+$/);
const posts = (n: number) => gh.requestsTo('POST', `/repos/acme/infra/issues/${n}/comments`);

describe('sticky comment', () => {
  beforeEach(() => start());

  test('is created once, then updated in place', async () => {
    const pr = gh.addPull();
    const first = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f1', 'plan one'));
    expect(first).toEqual({
      id: expect.any(Number) as unknown,
      created: true,
      url: expect.stringContaining(`/pull/${pr.number}#issuecomment-`) as unknown,
    });
    const second = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f2', 'plan two'));
    expect(second).toMatchObject({ id: first.id, created: false });
    expect(gh.commentsOn(pr.number).map((c) => c.body)).toEqual([planBody('prod', 'f2', 'plan two')]);
    expect(posts(pr.number)).toHaveLength(1);
    expect(patches().map((r) => r.path)).toEqual([`/repos/acme/infra/issues/comments/${first.id}`]);
  });

  test('an unchanged body sends no update', async () => {
    const pr = gh.addPull();
    const body = planBody('prod', 'f1', 'same');
    const first = await upsertStickyComment(client, pr.number, prod, body);
    const again = await upsertStickyComment(client, pr.number, prod, body);
    expect(again).toMatchObject({ id: first.id, created: false });
    expect(patches()).toHaveLength(0);
    expect(posts(pr.number)).toHaveLength(1);
  });

  test("another user's comment that copies our marker is left alone and we create our own", async () => {
    const pr = gh.addPull();
    const forged = gh.addComment(pr.number, planBody('prod', 'evil', 'approve me'), { author: 'mallory' });
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f1', 'real plan'));
    expect(r.created).toBe(true);
    expect(gh.commentsOn(pr.number).map((c) => [c.user.login, c.body])).toEqual([
      ['mallory', forged.body],
      ['github-actions[bot]', planBody('prod', 'f1', 'real plan')],
    ]);
    expect(patches()).toHaveLength(0);
    const read = await readStickyComment(client, pr.number, prod);
    expect(read?.id).toBe(r.id);
  });

  test('a minimized comment of ours is ignored and a new one is created', async () => {
    const pr = gh.addPull();
    const hidden = gh.addComment(pr.number, planBody('prod', 'old', 'outdated'), { minimized: true });
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f1', 'new'));
    expect(r.created).toBe(true);
    expect(r.id).not.toBe(hidden.id);
    expect(gh.commentsOn(pr.number).find((c) => c.id === hidden.id)?.body).toBe(
      planBody('prod', 'old', 'outdated'),
    );
    const graphql = gh
      .requestsTo('POST', '/graphql')
      .map((q) => q.body as { variables?: { ids?: string[] } });
    expect(graphql.flatMap((b) => b.variables?.ids ?? [])).toEqual([hidden.node_id]);
  });

  test("another cluster's comment is not touched", async () => {
    const pr = gh.addPull();
    const staging = await upsertStickyComment(
      client,
      pr.number,
      planMarker('staging'),
      planBody('staging', 's1', 'staging'),
    );
    const prodC = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'p1', 'prod'));
    expect(prodC.created).toBe(true);
    await upsertStickyComment(client, pr.number, prod, planBody('prod', 'p2', 'prod again'));
    expect(gh.commentsOn(pr.number).map((c) => [c.id, c.body])).toEqual([
      [staging.id, planBody('staging', 's1', 'staging')],
      [prodC.id, planBody('prod', 'p2', 'prod again')],
    ]);
  });

  test('a marker in the middle of a comment does not count, only on its first line', async () => {
    const pr = gh.addPull();
    gh.addComment(pr.number, `quoting the bot:\n${planBody('prod', 'f0', 'x')}`);
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f1', 'y'));
    expect(r.created).toBe(true);
  });

  test('our comment on page 2 is found and updated', async () => {
    const pr = gh.addPull();
    for (let i = 0; i < 120; i++) gh.addComment(pr.number, `chatter ${i}`, { author: 'alice' });
    const ours = gh.addComment(pr.number, planBody('prod', 'f1', 'plan'));
    gh.addComment(pr.number, 'lgtm', { author: 'bob' });
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f2', 'plan 2'));
    expect(r).toMatchObject({ id: ours.id, created: false });
    expect(
      gh.requestsTo('GET', `/repos/acme/infra/issues/${pr.number}/comments`).map((q) => q.query.page),
    ).toEqual([undefined, '2']);
    expect(posts(pr.number)).toHaveLength(0);
    expect(gh.commentsOn(pr.number).find((c) => c.id === ours.id)?.body).toBe(
      planBody('prod', 'f2', 'plan 2'),
    );
  });

  test('of two comments of ours, the oldest is the one kept up to date', async () => {
    const pr = gh.addPull();
    const older = gh.addComment(pr.number, planBody('prod', 'a', 'first'));
    gh.addComment(pr.number, planBody('prod', 'b', 'race duplicate'));
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'c', 'latest'));
    expect(r.id).toBe(older.id);
    await expect(readStickyComment(client, pr.number, prod)).resolves.toMatchObject({
      id: older.id,
      body: planBody('prod', 'c', 'latest'),
    });
  });

  test('a body that does not start with the marker is refused before any request', async () => {
    const pr = gh.addPull();
    const before = gh.requests.length;
    await expect(upsertStickyComment(client, pr.number, prod, 'no marker')).rejects.toThrow(
      /must start with its marker/,
    );
    expect(gh.requests.length).toBe(before);
  });
});

describe('sticky comment, GraphQL naming the bot without [bot]', () => {
  beforeEach(() => start({ graphqlDropsBotSuffix: true }));

  test('our REST-authored comment is still recognised', async () => {
    await expect(client.readViewerLogin()).resolves.toBe('github-actions');
    const pr = gh.addPull();
    const ours = gh.addComment(pr.number, planBody('prod', 'f1', 'plan'));
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f2', 'plan'));
    expect(r).toEqual({ id: ours.id, created: false, url: expect.any(String) as unknown });
  });
});

describe('sticky comment after a failed create', () => {
  beforeEach(() => start());

  test('a create that went through although it failed leaves one comment, found by its marker', async () => {
    const pr = gh.addPull();
    gh.fail({
      method: 'POST',
      path: `/repos/acme/infra/issues/${pr.number}/comments`,
      status: 'disconnect',
      after: true,
    });
    const r = await upsertStickyComment(client, pr.number, prod, planBody('prod', 'f1', 'plan'));
    expect(r.created).toBe(true);
    expect(gh.commentsOn(pr.number).map((c) => c.id)).toEqual([r.id]);
    expect(posts(pr.number)).toHaveLength(1);
  });
});

describe('drift issue', () => {
  beforeEach(() => start());
  const report = (drift: boolean, body = 'NodePool default differs') => ({
    cluster: 'prod east',
    drift,
    title: 'Configuration drift: prod east',
    body,
    resolvedComment:
      'The cluster matches the repository again (run https://github.com/acme/infra/actions/runs/9).',
  });

  test('opens, updates, stays unchanged, then closes with a comment', async () => {
    const opened = await reportDriftIssue(client, report(true));
    expect(opened).toEqual({
      action: 'opened',
      number: expect.any(Number) as unknown,
      url: expect.stringContaining('/issues/') as unknown,
    });
    const issue = gh.state.issues.get(opened.number ?? 0);
    expect(issue?.body).toBe(`<!-- karpenter-action:drift cluster=prod%20east -->\nNodePool default differs`);
    expect(issue?.body.split('\n')[0]).toBe(driftMarker('prod east'));

    await expect(reportDriftIssue(client, report(true, 'two objects differ'))).resolves.toEqual({
      action: 'updated',
      number: opened.number,
      url: opened.url,
    });
    expect(gh.state.issues.get(opened.number ?? 0)?.body).toBe(
      `${driftMarker('prod east')}\ntwo objects differ`,
    );

    const patchesBefore = gh.requestsTo('PATCH', /\/issues\/\d+$/).length;
    await expect(reportDriftIssue(client, report(true, 'two objects differ'))).resolves.toMatchObject({
      action: 'unchanged',
      number: opened.number,
    });
    expect(gh.requestsTo('PATCH', /\/issues\/\d+$/)).toHaveLength(patchesBefore);

    await expect(reportDriftIssue(client, report(false))).resolves.toMatchObject({
      action: 'closed',
      number: opened.number,
    });
    const closed = gh.state.issues.get(opened.number ?? 0);
    expect(closed).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(gh.commentsOn(opened.number ?? 0).map((c) => c.body)).toEqual([report(false).resolvedComment]);
    expect(gh.state.issues.size).toBe(1);
  });

  test('duplicates of ours are closed pointing at the oldest, which is kept up to date; clean closes them all', async () => {
    const first = gh.addIssue({
      title: 'old',
      body: `${driftMarker('prod east')}\nold`,
      author: 'github-actions[bot]',
    });
    const second = gh.addIssue({
      title: 'old',
      body: `${driftMarker('prod east')}\nold`,
      author: 'github-actions[bot]',
    });
    await expect(reportDriftIssue(client, report(true))).resolves.toMatchObject({
      action: 'updated',
      number: first.number,
    });
    expect(gh.state.issues.get(first.number)).toMatchObject({ state: 'open', title: report(true).title });
    expect(gh.state.issues.get(second.number)).toMatchObject({
      state: 'closed',
      state_reason: 'not_planned',
    });
    expect(gh.commentsOn(second.number).map((c) => c.body)).toEqual([
      `Closed as a duplicate of #${first.number}.`,
    ]);

    const third = gh.addIssue({
      title: 'x',
      body: `${driftMarker('prod east')}\nx`,
      author: 'github-actions[bot]',
    });
    await expect(reportDriftIssue(client, report(false))).resolves.toMatchObject({
      action: 'closed',
      number: first.number,
    });
    for (const n of [first.number, third.number]) {
      expect(gh.state.issues.get(n)).toMatchObject({ state: 'closed', state_reason: 'completed' });
      expect(gh.commentsOn(n).map((c) => c.body)).toEqual([report(false).resolvedComment]);
    }
  });

  test('an issue create that went through although it failed opens exactly one issue', async () => {
    gh.fail({ method: 'POST', path: '/repos/acme/infra/issues', status: 502, after: true });
    const opened = await reportDriftIssue(client, report(true));
    expect(opened.action).toBe('opened');
    expect([...gh.state.issues.values()].map((i) => i.number)).toEqual([opened.number]);
    expect(gh.requestsTo('POST', '/repos/acme/infra/issues')).toHaveLength(1);
  });

  test('none when the cluster is clean and no issue is open', async () => {
    await expect(reportDriftIssue(client, report(false))).resolves.toEqual({ action: 'none' });
    expect(gh.requests.filter((r) => r.method !== 'GET' && r.path !== '/graphql')).toEqual([]);
  });

  test('an issue with our marker by another author is ignored', async () => {
    const forged = gh.addIssue({
      title: 'fake',
      body: `${driftMarker('prod east')}\nnothing to see`,
      author: 'mallory',
    });
    await expect(reportDriftIssue(client, report(false))).resolves.toEqual({ action: 'none' });
    const opened = await reportDriftIssue(client, report(true));
    expect(opened.action).toBe('opened');
    expect(opened.number).not.toBe(forged.number);
    expect(gh.state.issues.get(forged.number)).toMatchObject({
      state: 'open',
      body: `${driftMarker('prod east')}\nnothing to see`,
    });
  });

  test("another cluster's drift issue is left open", async () => {
    const other = await reportDriftIssue(client, {
      ...report(true),
      cluster: 'staging',
      title: 'staging drift',
    });
    await expect(reportDriftIssue(client, report(false))).resolves.toEqual({ action: 'none' });
    expect(gh.state.issues.get(other.number ?? 0)?.state).toBe('open');
  });
});
