/**
 * The run's context from runner variables and event payloads, with the payload shapes GitHub sends
 * for pull requests (same repository and fork), comments on pull requests and issues, pushes and
 * schedules.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGithubContext } from '../../src/github/context.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'github-context-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const repository = { full_name: 'acme/infra', default_branch: 'main' };
const baseEnv = {
  GITHUB_REPOSITORY: 'acme/infra',
  GITHUB_RUN_ID: '4242',
  GITHUB_ACTOR: 'alice',
  GITHUB_SHA: 'f'.repeat(40),
  GITHUB_REF: 'refs/heads/main',
};

let n = 0;
function env(eventName: string, payload: unknown, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const path = join(dir, `event-${n++}.json`);
  writeFileSync(path, JSON.stringify(payload));
  return { ...baseEnv, GITHUB_EVENT_NAME: eventName, GITHUB_EVENT_PATH: path, ...extra };
}

const pullPayload = (headRepo: string | null) => ({
  action: 'synchronize',
  number: 12,
  pull_request: {
    number: 12,
    user: { login: 'alice' },
    head: {
      sha: 'a'.repeat(40),
      ref: 'more-nodes',
      repo: headRepo === null ? null : { full_name: headRepo },
    },
    base: { sha: 'b'.repeat(40), ref: 'main', repo: { full_name: 'acme/infra' } },
  },
  repository,
});

test('pull_request from a branch of the same repository', () => {
  const ctx = readGithubContext(
    env('pull_request', pullPayload('acme/infra'), { GITHUB_REF: 'refs/pull/12/merge' }),
  );
  expect(ctx).toEqual({
    eventName: 'pull_request',
    repo: { owner: 'acme', repo: 'infra' },
    apiUrl: 'https://api.github.com',
    graphqlUrl: 'https://api.github.com/graphql',
    serverUrl: 'https://github.com',
    runId: '4242',
    runAttempt: '',
    runUrl: 'https://github.com/acme/infra/actions/runs/4242',
    actor: 'alice',
    workflow: '',
    sha: 'f'.repeat(40),
    ref: 'refs/pull/12/merge',
    defaultBranch: 'main',
    pull: {
      number: 12,
      headSha: 'a'.repeat(40),
      headRef: 'more-nodes',
      baseSha: 'b'.repeat(40),
      baseRef: 'main',
      headRepo: 'acme/infra',
      baseRepo: 'acme/infra',
      isFork: false,
      author: 'alice',
    },
  });
});

test('pull_request from a fork, and from a fork that was deleted', () => {
  expect(readGithubContext(env('pull_request', pullPayload('mallory/infra'))).pull).toMatchObject({
    headRepo: 'mallory/infra',
    isFork: true,
  });
  expect(readGithubContext(env('pull_request_target', pullPayload(null))).pull).toMatchObject({
    headRepo: undefined,
    isFork: true,
  });
});

test('API, GraphQL and server URLs of GitHub Enterprise Server come from the environment', () => {
  const ctx = readGithubContext(
    env(
      'schedule',
      { schedule: '0 6 * * *', repository },
      {
        GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
        GITHUB_GRAPHQL_URL: 'https://ghe.example.com/api/graphql',
        GITHUB_SERVER_URL: 'https://ghe.example.com',
      },
    ),
  );
  expect(ctx.apiUrl).toBe('https://ghe.example.com/api/v3');
  expect(ctx.graphqlUrl).toBe('https://ghe.example.com/api/graphql');
  expect(ctx.runUrl).toBe('https://ghe.example.com/acme/infra/actions/runs/4242');
});

test('issue_comment on a pull request', () => {
  const ctx = readGithubContext(
    env('issue_comment', {
      action: 'created',
      issue: { number: 12, pull_request: { url: 'https://api.github.com/repos/acme/infra/pulls/12' } },
      comment: { id: 99, body: '/karpenter apply prod', user: { login: 'bob' } },
      repository,
    }),
  );
  expect(ctx.comment).toEqual({
    action: 'created',
    id: 99,
    body: '/karpenter apply prod',
    author: 'bob',
    issueNumber: 12,
    onPullRequest: true,
  });
  expect(ctx.pull).toBeUndefined();
});

test('issue_comment on a plain issue', () => {
  const ctx = readGithubContext(
    env('issue_comment', {
      action: 'created',
      issue: { number: 5 },
      comment: { id: 100, body: null, user: { login: 'carol' } },
      repository,
    }),
  );
  expect(ctx.comment).toEqual({
    action: 'created',
    id: 100,
    body: '',
    author: 'carol',
    issueNumber: 5,
    onPullRequest: false,
  });
});

test.each(['edited', 'deleted'])(
  'an %s comment keeps its action, so it is not taken for a new command',
  (action) => {
    const ctx = readGithubContext(
      env('issue_comment', {
        action,
        issue: { number: 12, pull_request: { url: 'https://api.github.com/repos/acme/infra/pulls/12' } },
        comment: { id: 99, body: '/karpenter apply', user: { login: 'bob' } },
        changes: { body: { from: 'looks good' } },
        repository,
      }),
    );
    expect(ctx.comment?.action).toBe(action);
  },
);

test('a payload without an action has an empty one, which no gate takes for created', () => {
  const ctx = readGithubContext(
    env('issue_comment', {
      issue: { number: 12, pull_request: {} },
      comment: { id: 99, body: '/karpenter apply', user: { login: 'bob' } },
      repository,
    }),
  );
  expect(ctx.comment?.action).toBe('');
});

test('the run attempt and the workflow name come from the runner', () => {
  const ctx = readGithubContext(
    env('push', { repository }, { GITHUB_RUN_ATTEMPT: '2', GITHUB_WORKFLOW: 'karpenter apply' }),
  );
  expect(ctx.runAttempt).toBe('2');
  expect(ctx.workflow).toBe('karpenter apply');
});

test('push to the default branch', () => {
  const ctx = readGithubContext(
    env('push', {
      ref: 'refs/heads/main',
      after: 'f'.repeat(40),
      repository: { ...repository, master_branch: 'main' },
    }),
  );
  expect(ctx).toMatchObject({
    eventName: 'push',
    ref: 'refs/heads/main',
    sha: 'f'.repeat(40),
    defaultBranch: 'main',
  });
  expect(ctx.pull).toBeUndefined();
  expect(ctx.comment).toBeUndefined();
});

test('schedule', () => {
  const ctx = readGithubContext(env('schedule', { schedule: '17 3 * * *', repository }));
  expect(ctx).toMatchObject({
    eventName: 'schedule',
    defaultBranch: 'main',
    repo: { owner: 'acme', repo: 'infra' },
  });
  expect(ctx.pull).toBeUndefined();
});

test('a missing or unreadable event file gives a context without pull request or comment', () => {
  const missing = readGithubContext({
    ...baseEnv,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: join(dir, 'nope.json'),
  });
  expect(missing).toMatchObject({ eventName: 'pull_request', repo: { owner: 'acme', repo: 'infra' } });
  expect(missing.pull).toBeUndefined();
  expect(missing.defaultBranch).toBeUndefined();

  const garbled = join(dir, 'garbled.json');
  writeFileSync(garbled, '{ not json');
  expect(
    readGithubContext({ ...baseEnv, GITHUB_EVENT_NAME: 'issue_comment', GITHUB_EVENT_PATH: garbled }).comment,
  ).toBeUndefined();
});

test('outside Actions: no repository, no run link, github.com defaults', () => {
  const ctx = readGithubContext({});
  expect(ctx).toEqual({
    eventName: '',
    apiUrl: 'https://api.github.com',
    graphqlUrl: 'https://api.github.com/graphql',
    serverUrl: 'https://github.com',
    runId: '',
    runAttempt: '',
    actor: '',
    workflow: '',
    sha: '',
    ref: '',
  });
});
