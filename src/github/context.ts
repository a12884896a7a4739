import { readFileSync } from 'node:fs';
import type { RepoRef } from './client.ts';

/** The pull request a run is about, from its event payload. */
export interface PullContext {
  number: number;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
  /** `owner/name` of the head repository; undefined when that fork was deleted. */
  headRepo: string | undefined;
  baseRepo: string | undefined;
  /** Fork pull requests get a read-only token and no OIDC token, so the action must say so. */
  isFork: boolean;
  author: string;
}

/** The comment that triggered an `issue_comment` run, e.g. `/karpenter apply`. */
export interface CommentContext {
  /** `created`, `edited` or `deleted`: only a newly created comment is a command. */
  action: string;
  id: number;
  body: string;
  author: string;
  issueNumber: number;
  onPullRequest: boolean;
}

/** What a run is about, read once, so that commands never reach into `process.env` or the event file. */
export interface GithubContext {
  eventName: string;
  repo?: RepoRef;
  apiUrl: string;
  graphqlUrl: string;
  serverUrl: string;
  runId: string;
  /** Which attempt of the run this is: a re-run is a new attempt and reports anew. */
  runAttempt: string;
  /** Link to this run's log, for comments and issues to point at. */
  runUrl?: string;
  actor: string;
  /** The running workflow's name (`GITHUB_WORKFLOW`): its own checks are not held against its apply. */
  workflow: string;
  sha: string;
  ref: string;
  defaultBranch?: string;
  pull?: PullContext;
  comment?: CommentContext;
}

interface RawPull {
  number?: number;
  user?: { login?: string } | null;
  head?: { sha?: string; ref?: string; repo?: { full_name?: string } | null };
  base?: { sha?: string; ref?: string; repo?: { full_name?: string } | null };
}

interface RawEvent {
  action?: string;
  pull_request?: RawPull;
  issue?: { number?: number; pull_request?: unknown };
  comment?: { id?: number; body?: string | null; user?: { login?: string } | null };
  repository?: { default_branch?: string; full_name?: string };
}

function readEvent(path: string | undefined): RawEvent {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

function buildPull(p: RawPull | undefined): PullContext | undefined {
  if (typeof p?.number !== 'number' || !p.head?.sha) return undefined;
  const headRepo = p.head.repo?.full_name;
  const baseRepo = p.base?.repo?.full_name;
  return {
    number: p.number,
    headSha: p.head.sha,
    headRef: p.head.ref ?? '',
    baseSha: p.base?.sha ?? '',
    baseRef: p.base?.ref ?? '',
    headRepo,
    baseRepo,
    isFork: headRepo === undefined || headRepo !== baseRepo,
    author: p.user?.login ?? '',
  };
}

function buildComment(e: RawEvent): CommentContext | undefined {
  if (typeof e.comment?.id !== 'number' || typeof e.issue?.number !== 'number') return undefined;
  return {
    action: typeof e.action === 'string' ? e.action : '',
    id: e.comment.id,
    body: e.comment.body ?? '',
    author: e.comment.user?.login ?? '',
    issueNumber: e.issue.number,
    onPullRequest: e.issue.pull_request !== undefined && e.issue.pull_request !== null,
  };
}

function buildRepo(full: string | undefined): RepoRef | undefined {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(full ?? '');
  return m?.[1] && m[2] ? { owner: m[1], repo: m[2] } : undefined;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * Reads the run's context from the variables and event file the Actions runner provides. A missing or
 * unreadable event file is not an error: the context then has no pull request and no comment.
 */
export function readGithubContext(env: NodeJS.ProcessEnv = process.env): GithubContext {
  const event = readEvent(env.GITHUB_EVENT_PATH);
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  const repo = buildRepo(env.GITHUB_REPOSITORY) ?? buildRepo(event.repository?.full_name);
  const apiUrl = trimSlash(env.GITHUB_API_URL || 'https://api.github.com');
  const serverUrl = trimSlash(env.GITHUB_SERVER_URL || 'https://github.com');
  const runId = env.GITHUB_RUN_ID ?? '';
  const isPullEvent = eventName === 'pull_request' || eventName === 'pull_request_target';
  const pull = isPullEvent || event.pull_request ? buildPull(event.pull_request) : undefined;
  const comment = eventName === 'issue_comment' || event.comment ? buildComment(event) : undefined;
  return {
    eventName,
    ...(repo ? { repo } : {}),
    apiUrl,
    graphqlUrl: trimSlash(env.GITHUB_GRAPHQL_URL || `${apiUrl}/graphql`),
    serverUrl,
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
    ...(repo && runId ? { runUrl: `${serverUrl}/${repo.owner}/${repo.repo}/actions/runs/${runId}` } : {}),
    actor: env.GITHUB_ACTOR ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    ...(event.repository?.default_branch ? { defaultBranch: event.repository.default_branch } : {}),
    ...(pull ? { pull } : {}),
    ...(comment ? { comment } : {}),
  };
}
