import type { Logger } from '../stages/types.ts';
import { evaluateSameAuthor } from './sticky.ts';

/** Which repository every REST path of the client is relative to. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export interface GitHubClientOptions {
  token: string;
  /** `GITHUB_API_URL`; GitHub Enterprise Server and the tests' stand-in differ from github.com. */
  apiUrl?: string;
  /** `GITHUB_GRAPHQL_URL`; on GitHub Enterprise Server it is not under the REST base. */
  graphqlUrl?: string;
  repo: RepoRef;
  log?: Pick<Logger, 'debug' | 'warn'>;
  /** First backoff step in milliseconds; tests shorten it, the runner keeps the default. */
  retryBaseMs?: number;
  userAgent?: string;
}

export interface IssueComment {
  id: number;
  nodeId: string;
  body: string;
  user: { login: string; type: string };
  createdAt: string;
  updatedAt: string;
  url?: string;
}

export interface PullRequest {
  number: number;
  state: string;
  merged: boolean;
  draft: boolean;
  user: { login: string };
  /** `repoFullName` is undefined when the head repository (a fork) has been deleted. */
  head: { sha: string; ref: string; repoFullName: string | undefined };
  base: { ref: string; sha: string; repoFullName: string | undefined };
}

export interface PullReview {
  id: number;
  user: { login: string };
  state: string;
  commitId: string;
  submittedAt: string | undefined;
}

export interface PullFile {
  filename: string;
  status: string;
  previousFilename?: string;
}

export interface CommitPull {
  number: number;
  state: string;
  mergedAt: string | undefined;
  mergeCommitSha: string | undefined;
  head: { sha: string };
  base: { ref: string };
}

export interface Issue {
  number: number;
  nodeId: string;
  title: string;
  body: string;
  user: { login: string };
  state: string;
  url?: string;
}

export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** One entry of the repository's activity log: who moved a branch from `before` to `after`, and how. */
export interface RepoActivity {
  ref: string;
  before: string;
  after: string;
  actor: string;
  activityType: string;
  timestamp: string;
}

/** One check or commit status on the head commit, with whether branch protection requires it. */
export interface PullCheck {
  name: string;
  /** The workflow a check run belongs to; undefined for commit statuses and checks of other apps. */
  workflow: string | undefined;
  /** `SUCCESS`, `FAILURE`, `PENDING`, … as GraphQL's rollup names them (a running check is `PENDING`). */
  state: string;
  required: boolean;
}

/**
 * GitHub's own verdict on a pull request, which only GraphQL exposes: the review decision under
 * branch protection (null without required reviews) and whether it could be merged now.
 */
export interface PullStatus {
  reviewDecision: string | undefined;
  mergeable: string;
  mergeStateStatus: string;
  headSha: string;
  checks: PullCheck[];
}

/** How a head commit relates to a base branch, from the compare API. */
export interface Comparison {
  aheadBy: number;
  behindBy: number;
  status: string;
}

const PERMISSIONS: readonly RepoPermission[] = ['admin', 'maintain', 'write', 'triage', 'read', 'none'];
const MAX_ATTEMPTS = 4;
const MAX_RETRY_AFTER_S = 60;
const REQUEST_TIMEOUT_MS = 30_000;
const FALLBACK_VIEWER = 'github-actions[bot]';

/**
 * A failed GitHub API call, keeping the status and GitHub's own message so the run can say what to
 * fix (usually the workflow's `permissions:`) instead of printing a bare HTTP status.
 */
export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly githubMessage: string;
  readonly rateLimitReset: Date | undefined;
  /**
   * True when a write may have been carried out although it failed (a 5xx, a timeout, a dropped
   * connection): repeating it blindly could create a second comment or issue.
   */
  get ambiguous(): boolean {
    return this.method === 'POST' && (this.status === 0 || this.status >= 500);
  }
  constructor(status: number, method: string, path: string, githubMessage: string, rateLimitReset?: Date) {
    super(
      status === 0
        ? `GitHub API ${method} ${path}: ${githubMessage}`
        : `GitHub API ${method} ${path} failed with ${status}: ${githubMessage}`,
    );
    this.status = status;
    this.method = method;
    this.path = path;
    this.githubMessage = githubMessage;
    this.rateLimitReset = rateLimitReset;
  }

  /** The fix for the failures users actually hit, or undefined when there is nothing better to say. */
  hint(): string | undefined {
    const msg = this.githubMessage.toLowerCase();
    if (this.status === 0) return 'the GitHub API could not be reached; check GITHUB_API_URL and the network';
    if (this.status === 401)
      return 'the github-token is invalid or expired; pass a valid token (the default ${{ github.token }} works)';
    if (
      (this.status === 403 || this.status === 404) &&
      msg.includes('resource not accessible by integration')
    ) {
      const needed = buildPermissionNeeded(this.method, this.path);
      return `the token lacks a permission: add ${needed} to the workflow's or job's \`permissions:\``;
    }
    if (this.status === 403 && msg.includes('secondary rate limit'))
      return 'GitHub throttled this token for making many requests in a short time (secondary rate limit); run the job again in a few minutes';
    if ((this.status === 403 || this.status === 429) && msg.includes('rate limit')) {
      const when = this.rateLimitReset ? ` at ${this.rateLimitReset.toISOString()}` : '';
      return `the token's API rate limit is used up; it resets${when}`;
    }
    return undefined;
  }
}

/**
 * The `permissions:` entry an endpoint needs, so a "Resource not accessible by integration" error
 * names exactly what to add. Comments live under the issues API for both issues and pull requests.
 */
function buildPermissionNeeded(method: string, path: string): string {
  const write = method !== 'GET';
  const level = write ? 'write' : 'read';
  const p = path.split('?')[0] ?? path;
  if (/\/issues\/(\d+\/)?comments/.test(p))
    return `\`pull-requests: ${level}\` (on a pull request) or \`issues: ${level}\` (on an issue)`;
  if (/\/(pulls|commits\/[^/]+\/pulls)(\/|$)/.test(p)) return `\`pull-requests: ${level}\``;
  if (/\/issues(\/|$)/.test(p)) return `\`issues: ${level}\``;
  return `\`contents: ${level}\``;
}

interface SendOptions {
  allow404?: boolean;
  /**
   * Send once even when the failure is one that is otherwise retried (5xx, timeout): for creates,
   * whose caller looks for what was created before sending again. Rate limits are still waited out:
   * GitHub did not carry out those requests.
   */
  once?: boolean;
}

interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

interface RawComment {
  id: number;
  node_id: string;
  body?: string | null;
  user?: { login: string; type?: string } | null;
  created_at: string;
  updated_at: string;
  html_url?: string;
}

interface RawIssue {
  number: number;
  node_id: string;
  title: string;
  body?: string | null;
  user?: { login: string } | null;
  state: string;
  html_url?: string;
  pull_request?: unknown;
}

interface RawRepoSide {
  sha: string;
  ref: string;
  repo?: { full_name: string } | null;
}

const toComment = (c: RawComment): IssueComment => ({
  id: c.id,
  nodeId: c.node_id,
  body: c.body ?? '',
  user: { login: c.user?.login ?? '', type: c.user?.type ?? '' },
  createdAt: c.created_at,
  updatedAt: c.updated_at,
  url: c.html_url,
});

const toIssue = (i: RawIssue): Issue => ({
  number: i.number,
  nodeId: i.node_id,
  title: i.title,
  body: i.body ?? '',
  user: { login: i.user?.login ?? '' },
  state: i.state,
  url: i.html_url,
});

function parseNextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m?.[2]?.split(/\s+/).includes('next')) return m[1];
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A small GitHub REST + GraphQL client on Node's `fetch`: the calls this action makes, with retries
 * and pagination, and nothing more, so the bundle stays small and a plain HTTP stand-in can test it.
 */
export class GitHubClient {
  readonly repo: RepoRef;
  readonly apiUrl: string;
  readonly graphqlUrl: string;
  readonly #token: string;
  readonly #log: Pick<Logger, 'debug' | 'warn'> | undefined;
  readonly #retryBaseMs: number;
  readonly #userAgent: string;
  #viewer: Promise<string> | undefined;

  constructor(opts: GitHubClientOptions) {
    this.repo = opts.repo;
    this.apiUrl = (opts.apiUrl || 'https://api.github.com').replace(/\/+$/, '');
    this.graphqlUrl = (opts.graphqlUrl || `${this.apiUrl}/graphql`).replace(/\/+$/, '');
    this.#token = opts.token;
    this.#log = opts.log;
    this.#retryBaseMs = opts.retryBaseMs ?? 1000;
    this.#userAgent = opts.userAgent ?? 'karpenter-action';
  }

  /** Every comment of an issue or pull request, all pages, oldest first. */
  async listIssueComments(issueNumber: number): Promise<IssueComment[]> {
    const raw = await this.#paginate<RawComment>(`/issues/${issueNumber}/comments`);
    return raw.map(toComment);
  }

  /**
   * Comments on issues and pull requests alike (GitHub keeps both under the issues API). A create that
   * failed in a way that may have gone through (a 5xx, a timeout) is never repeated blindly:
   * `findExisting` (by default, a comment of ours with exactly this body) is asked first, so a retry
   * cannot post a second copy.
   */
  async createIssueComment(
    issueNumber: number,
    body: string,
    findExisting?: () => Promise<IssueComment | undefined>,
  ): Promise<IssueComment> {
    return this.#createOnce(
      async () =>
        toComment(
          (await this.#rest<RawComment>('POST', `/issues/${issueNumber}/comments`, { body }, { once: true }))
            .data,
        ),
      findExisting ??
        (async () => {
          const viewer = await this.readViewerLogin();
          return (await this.listIssueComments(issueNumber)).find(
            (c) => c.body === body && evaluateSameAuthor(c.user.login, viewer),
          );
        }),
    );
  }

  /** Replaces a comment's body: sticky comments are edited in place rather than re-posted. */
  async updateIssueComment(commentId: number, body: string): Promise<IssueComment> {
    const r = await this.#rest<RawComment>('PATCH', `/issues/comments/${commentId}`, { body });
    return toComment(r.data);
  }

  /**
   * Who this token acts as, to recognise our own comments. Falls back to the Actions bot when GraphQL
   * is unavailable, because that is who the default token is.
   */
  readViewerLogin(): Promise<string> {
    this.#viewer ??= this.#graphql<{ viewer?: { login?: string } }>('query { viewer { login } }', {}).then(
      (d) => d.viewer?.login || FALLBACK_VIEWER,
      (e: unknown) => {
        this.#log?.debug(`could not read the token's login (${renderCause(e)}); assuming ${FALLBACK_VIEWER}`);
        return FALLBACK_VIEWER;
      },
    );
    return this.#viewer;
  }

  /**
   * Which of these comments someone hid ("minimized"): a hidden comment must not be revived by an
   * update. REST does not expose this, only GraphQL. Best effort: if GraphQL fails, none counts as hidden.
   */
  async listMinimizedCommentIds(nodeIds: string[]): Promise<Set<string>> {
    const hidden = new Set<string>();
    const query = 'query($ids:[ID!]!){ nodes(ids:$ids){ ... on IssueComment { id isMinimized } } }';
    for (let i = 0; i < nodeIds.length; i += 100) {
      const ids = nodeIds.slice(i, i + 100);
      try {
        const data = await this.#graphql<{ nodes?: ({ id?: string; isMinimized?: boolean } | null)[] }>(
          query,
          {
            ids,
          },
        );
        for (const n of data.nodes ?? []) if (n?.id && n.isMinimized) hidden.add(n.id);
      } catch (e) {
        this.#log?.debug(
          `could not read which comments are hidden (${renderCause(e)}); treating them as visible`,
        );
      }
    }
    return hidden;
  }

  /**
   * Who last edited a comment, or undefined when nobody did. People with write access can edit anyone's
   * comment, so a plan comment last edited by someone else no longer says what the action planned.
   */
  async readCommentEditor(nodeId: string): Promise<string | undefined> {
    const data = await this.#graphql<{ node?: { editor?: { login?: string } | null } | null }>(
      'query($id:ID!){ node(id:$id){ ... on IssueComment { id editor { login } } } }',
      { id: nodeId },
    );
    return data.node?.editor?.login || undefined;
  }

  /** A pull request's state, author and head, which approvals and fork checks are judged against. */
  async readPull(number: number): Promise<PullRequest> {
    const r = await this.#rest<{
      number: number;
      state: string;
      merged?: boolean;
      merged_at?: string | null;
      draft?: boolean;
      user?: { login: string } | null;
      head: RawRepoSide;
      base: RawRepoSide;
    }>('GET', `/pulls/${number}`);
    const p = r.data;
    return {
      number: p.number,
      state: p.state,
      merged: p.merged ?? Boolean(p.merged_at),
      draft: p.draft ?? false,
      user: { login: p.user?.login ?? '' },
      head: { sha: p.head.sha, ref: p.head.ref, repoFullName: p.head.repo?.full_name },
      base: { sha: p.base.sha, ref: p.base.ref, repoFullName: p.base.repo?.full_name },
    };
  }

  /** Every review of a pull request, all pages, in the order they were submitted. */
  async listPullReviews(number: number): Promise<PullReview[]> {
    const raw = await this.#paginate<{
      id: number;
      user?: { login: string } | null;
      state: string;
      commit_id: string;
      submitted_at?: string | null;
    }>(`/pulls/${number}/reviews`);
    return raw.map((r) => ({
      id: r.id,
      user: { login: r.user?.login ?? '' },
      state: r.state,
      commitId: r.commit_id,
      submittedAt: r.submitted_at ?? undefined,
    }));
  }

  /** The files a pull request touches, to know which clusters of a fleet it concerns. */
  async listPullFiles(number: number): Promise<PullFile[]> {
    const raw = await this.#paginate<{ filename: string; status: string; previous_filename?: string }>(
      `/pulls/${number}/files`,
    );
    return raw.map((f) => ({
      filename: f.filename,
      status: f.status,
      ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
    }));
  }

  /** The pull requests a commit belongs to; on the default branch this finds the merged one. */
  async listPullsForCommit(sha: string): Promise<CommitPull[]> {
    const raw = await this.#paginate<{
      number: number;
      state: string;
      merged_at?: string | null;
      merge_commit_sha?: string | null;
      head: { sha: string };
      base: { ref: string };
    }>(`/commits/${encodeURIComponent(sha)}/pulls`);
    return raw.map((p) => ({
      number: p.number,
      state: p.state,
      mergedAt: p.merged_at ?? undefined,
      mergeCommitSha: p.merge_commit_sha ?? undefined,
      head: { sha: p.head.sha },
      base: { ref: p.base.ref },
    }));
  }

  /** What a user may do in the repository; a `/karpenter apply` comment needs write access. */
  async readCollaboratorPermission(login: string): Promise<RepoPermission> {
    const r = await this.#rest<{ role_name?: string; permission?: string }>(
      'GET',
      `/collaborators/${encodeURIComponent(login)}/permission`,
      undefined,
      { allow404: true },
    );
    if (r.status === 404) return 'none';
    const known = (v: string | undefined) => PERMISSIONS.find((p) => p === v);
    return known(r.data.role_name) ?? known(r.data.permission) ?? 'none';
  }

  /** Open issues only (GitHub's issues list also returns pull requests; they are left out). */
  async listOpenIssues(): Promise<Issue[]> {
    const raw = await this.#paginate<RawIssue>('/issues', { state: 'open' });
    return raw.filter((i) => !i.pull_request).map(toIssue);
  }

  /**
   * Opens an issue, e.g. the one drift report of a cluster. Like comments, a create that may have gone
   * through is looked for (by default, an open issue of ours with this title and body) before it is
   * sent again.
   */
  async createIssue(
    issue: { title: string; body: string },
    findExisting?: () => Promise<Issue | undefined>,
  ): Promise<Issue> {
    return this.#createOnce(
      async () => toIssue((await this.#rest<RawIssue>('POST', '/issues', issue, { once: true })).data),
      findExisting ??
        (async () => {
          const viewer = await this.readViewerLogin();
          return (await this.listOpenIssues()).find(
            (i) =>
              i.title === issue.title && i.body === issue.body && evaluateSameAuthor(i.user.login, viewer),
          );
        }),
    );
  }

  /** The repository's default branch, for runs whose event payload does not name it. */
  async readDefaultBranch(): Promise<string> {
    const r = await this.#rest<{ default_branch?: string }>('GET', '');
    if (!r.data.default_branch)
      throw new GitHubApiError(
        r.status,
        'GET',
        `/repos/${this.#repoPath()}`,
        'the repository has no default branch',
      );
    return r.data.default_branch;
  }

  /**
   * The activity log of one branch, newest first: who pushed, force-pushed or created it, and which
   * commit it pointed to after. It is the only record of who pushed a commit (authors can be forged).
   */
  async listBranchActivity(branch: string): Promise<RepoActivity[]> {
    const raw = await this.#paginate<{
      ref?: string;
      before?: string;
      after?: string;
      actor?: { login?: string } | null;
      activity_type?: string;
      timestamp?: string;
    }>('/activity', { ref: `refs/heads/${branch}`, direction: 'desc' });
    return raw.map((a) => ({
      ref: a.ref ?? '',
      before: a.before ?? '',
      after: a.after ?? '',
      actor: a.actor?.login ?? '',
      activityType: a.activity_type ?? '',
      timestamp: a.timestamp ?? '',
    }));
  }

  /**
   * GitHub's own verdict on a pull request (review decision, mergeability, the head commit's checks and
   * whether branch protection requires them), which REST does not expose.
   */
  async readPullStatus(number: number): Promise<PullStatus> {
    const query = `query($owner:String!,$name:String!,$number:Int!){ repository(owner:$owner,name:$name){ pullRequest(number:$number){ reviewDecision mergeable mergeStateStatus headRefOid commits(last:1){ nodes{ commit{ oid statusCheckRollup{ contexts(first:100){ nodes{ __typename ... on CheckRun{ name status conclusion isRequired(pullRequestNumber:$number) checkSuite{ workflowRun{ workflow{ name } } } } ... on StatusContext{ context state isRequired(pullRequestNumber:$number) } } } } } } } } } }`;
    type Context = {
      __typename?: string;
      name?: string;
      status?: string;
      conclusion?: string | null;
      context?: string;
      state?: string;
      isRequired?: boolean;
      checkSuite?: { workflowRun?: { workflow?: { name?: string } | null } | null } | null;
    };
    const data = await this.#graphql<{
      repository?: {
        pullRequest?: {
          reviewDecision?: string | null;
          mergeable?: string;
          mergeStateStatus?: string;
          headRefOid?: string;
          commits?: {
            nodes?: ({
              commit?: { statusCheckRollup?: { contexts?: { nodes?: (Context | null)[] } } | null };
            } | null)[];
          };
        } | null;
      } | null;
    }>(query, { owner: this.repo.owner, name: this.repo.repo, number });
    const pr = data.repository?.pullRequest;
    if (!pr)
      throw new GitHubApiError(
        200,
        'POST',
        new URL(this.graphqlUrl).pathname,
        `pull request #${number} was not found`,
      );
    const contexts = pr.commits?.nodes?.at(-1)?.commit?.statusCheckRollup?.contexts?.nodes ?? [];
    const checks: PullCheck[] = contexts.flatMap((c): PullCheck[] => {
      if (!c) return [];
      if (c.__typename === 'StatusContext')
        return [
          {
            name: c.context ?? '',
            workflow: undefined,
            state: c.state ?? 'PENDING',
            required: c.isRequired ?? false,
          },
        ];
      return [
        {
          name: c.name ?? '',
          workflow: c.checkSuite?.workflowRun?.workflow?.name ?? undefined,
          state: c.status === 'COMPLETED' ? (c.conclusion ?? 'PENDING') : 'PENDING',
          required: c.isRequired ?? false,
        },
      ];
    });
    return {
      reviewDecision: pr.reviewDecision ?? undefined,
      mergeable: pr.mergeable ?? 'UNKNOWN',
      mergeStateStatus: pr.mergeStateStatus ?? 'UNKNOWN',
      headSha: pr.headRefOid ?? '',
      checks,
    };
  }

  /** How far a commit is ahead of and behind a branch: an apply of a head that is behind would undo the base's newer changes. */
  async readComparison(base: string, head: string): Promise<Comparison> {
    const r = await this.#rest<{ ahead_by?: number; behind_by?: number; status?: string }>(
      'GET',
      `/compare/${encodeURIComponent(base)}...${encodeURIComponent(head)}`,
    );
    return { aheadBy: r.data.ahead_by ?? 0, behindBy: r.data.behind_by ?? 0, status: r.data.status ?? '' };
  }

  /** Edits or closes an issue; `stateReason` says why it was closed (`completed`, `not_planned`). */
  async updateIssue(
    number: number,
    patch: { title?: string; body?: string; state?: 'open' | 'closed'; stateReason?: string },
  ): Promise<Issue> {
    const { stateReason, ...rest } = patch;
    const r = await this.#rest<RawIssue>('PATCH', `/issues/${number}`, {
      ...rest,
      ...(stateReason ? { state_reason: stateReason } : {}),
    });
    return toIssue(r.data);
  }

  /** A file's text at a commit (e.g. the base branch's config), or undefined when it does not exist there. */
  async readFileAt(path: string, ref: string): Promise<string | undefined> {
    const encoded = path
      .replace(/^\/+/, '')
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    const r = await this.#rest<{ type?: string; content?: string; encoding?: string } | unknown[]>(
      'GET',
      `/contents/${encoded}`,
      undefined,
      { allow404: true, query: { ref } },
    );
    if (r.status === 404) return undefined;
    const file = r.data;
    if (Array.isArray(file) || file.type !== 'file')
      throw new GitHubApiError(r.status, 'GET', `/contents/${encoded}`, `${path} is not a file at ${ref}`);
    if (file.encoding !== 'base64' || file.content === undefined)
      throw new GitHubApiError(
        r.status,
        'GET',
        `/contents/${encoded}`,
        `${path} at ${ref} is too large to read through the contents API`,
      );
    return Buffer.from(file.content, 'base64').toString('utf8');
  }

  async #rest<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: SendOptions & { query?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(`${this.apiUrl}/repos/${this.#repoPath()}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    return this.#send<T>(method, url, body, opts);
  }

  async #createOnce<T>(create: () => Promise<T>, findExisting: () => Promise<T | undefined>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await create();
      } catch (e) {
        if (!(e instanceof GitHubApiError) || !e.ambiguous || attempt >= MAX_ATTEMPTS) throw e;
        await this.#wait(attempt, undefined, `${e.method} ${e.path}: ${e.status || ''} ${e.githubMessage}`);
        const found = await findExisting();
        if (found !== undefined) {
          this.#log?.debug(`${e.method} ${e.path} had gone through before it failed; not sending it again`);
          return found;
        }
      }
    }
  }

  async #paginate<T>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    let url: URL | undefined = new URL(`${this.apiUrl}/repos/${this.#repoPath()}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    url.searchParams.set('per_page', '100');
    const origin = url.origin;
    const all: T[] = [];
    while (url) {
      const r: ApiResponse<T[]> = await this.#send<T[]>('GET', url, undefined, {});
      if (!Array.isArray(r.data))
        throw new GitHubApiError(r.status, 'GET', url.pathname, 'expected a list in the response');
      all.push(...r.data);
      const next = parseNextLink(r.headers.get('link'));
      url = next ? new URL(next, url) : undefined;
      if (url && url.origin !== origin)
        throw new GitHubApiError(
          r.status,
          'GET',
          path,
          `refusing to follow a pagination link to ${url.origin}`,
        );
    }
    return all;
  }

  async #graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const url = new URL(this.graphqlUrl);
    const r = await this.#send<{ data?: T | null; errors?: { message?: string }[] }>(
      'POST',
      url,
      { query, variables },
      {},
    );
    const errors = r.data.errors ?? [];
    if (!r.data.data || errors.length > 0)
      throw new GitHubApiError(
        r.status,
        'POST',
        url.pathname,
        errors.map((e) => e.message ?? 'error').join('; ') || 'no data in the GraphQL response',
      );
    return r.data.data;
  }

  #repoPath(): string {
    return `${encodeURIComponent(this.repo.owner)}/${encodeURIComponent(this.repo.repo)}`;
  }

  async #send<T>(method: string, url: URL, body: unknown, opts: SendOptions): Promise<ApiResponse<T>> {
    const allow404 = opts.allow404 ?? false;
    const where = `${url.pathname}${url.search}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${this.#token}`,
            Accept: 'application/vnd.github+json',
            'X-GitHub-Api-Version': '2022-11-28',
            'User-Agent': this.#userAgent,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (e) {
        const reason = this.#redact(renderCause(e));
        if (attempt >= MAX_ATTEMPTS || opts.once) throw new GitHubApiError(0, method, where, reason);
        await this.#wait(attempt, undefined, `${method} ${where}: ${reason}`);
        continue;
      }
      const text = await res.text();
      if (res.ok || (allow404 && res.status === 404)) {
        let data: unknown;
        try {
          data = text ? JSON.parse(text) : undefined;
        } catch {
          throw new GitHubApiError(res.status, method, where, 'the response is not JSON');
        }
        return { status: res.status, data: data as T, headers: res.headers };
      }
      const message = this.#redact(parseGithubMessage(text) || res.statusText || 'no message');
      const retryAfter = parseRetryAfter(res.headers);
      const retryable =
        (res.status >= 500 && !opts.once) ||
        res.status === 429 ||
        (res.status === 403 && (retryAfter !== undefined || /secondary rate limit/i.test(message)));
      if (retryable && attempt < MAX_ATTEMPTS) {
        await this.#wait(attempt, retryAfter, `${method} ${where}: ${res.status} ${message}`);
        continue;
      }
      const reset = res.headers.get('x-ratelimit-reset');
      throw new GitHubApiError(
        res.status,
        method,
        where,
        message,
        reset && /^\d+$/.test(reset) ? new Date(Number(reset) * 1000) : undefined,
      );
    }
  }

  async #wait(attempt: number, retryAfterS: number | undefined, why: string): Promise<void> {
    const backoff = this.#retryBaseMs * 2 ** (attempt - 1);
    const ms =
      retryAfterS !== undefined
        ? Math.min(retryAfterS, MAX_RETRY_AFTER_S) * 1000
        : Math.round(backoff / 2 + Math.random() * (backoff / 2));
    this.#log?.debug(`retrying in ${ms} ms after ${why}`);
    await sleep(ms);
  }

  #redact(text: string): string {
    return this.#token ? text.split(this.#token).join('***') : text;
  }
}

function parseGithubMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; errors?: { message?: unknown }[] };
    const details = (parsed.errors ?? []).map((e) => e.message).filter((m) => typeof m === 'string');
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    return [message, ...details].filter(Boolean).join(': ');
  } catch {
    return text.slice(0, 200);
  }
}

function parseRetryAfter(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (v === null) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function renderCause(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}`;
  }
  return String(e);
}
