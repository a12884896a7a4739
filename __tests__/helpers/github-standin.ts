/**
 * A local stand-in for the GitHub REST and GraphQL APIs: a real HTTP server with in-memory state,
 * speaking the same JSON as GitHub for exactly the endpoints `src/github/client.ts` calls. Tests and
 * end-to-end runs of `dist/index.js` point `GITHUB_API_URL` / `GITHUB_GRAPHQL_URL` at it, seed state,
 * and read back both the state and every request that was made.
 *
 * Run the action with an asynchronous `spawn`: a synchronous child would block the event loop that
 * serves it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type Level = 'none' | 'read' | 'write';
export type Scope = 'issues' | 'pull-requests' | 'contents';

/** Who a token acts as and, like a workflow's `permissions:`, what it may do (all `write` when omitted). */
export interface StandinToken {
  login: string;
  scopes?: Partial<Record<Scope, Level>>;
}

export interface StandinUser {
  login: string;
  type: 'User' | 'Bot';
}

export interface StandinComment {
  id: number;
  node_id: string;
  issueNumber: number;
  body: string;
  user: StandinUser;
  created_at: string;
  updated_at: string;
  isMinimized: boolean;
  /** Who last edited the comment (GraphQL `editor`); null while it was never edited. */
  editor: StandinUser | null;
}

export interface StandinFile {
  filename: string;
  status: 'added' | 'modified' | 'removed' | 'renamed';
  previous_filename?: string;
}

/** A check run (of a workflow) or a commit status on a pull request's head, as GraphQL's rollup shows it. */
export interface StandinCheck {
  name: string;
  kind?: 'CheckRun' | 'StatusContext';
  /** For a check run: `COMPLETED`, `IN_PROGRESS`, `QUEUED`. */
  status?: string;
  /** For a completed check run: `SUCCESS`, `FAILURE`, …; for a status: its state. */
  conclusion?: string;
  workflow?: string;
  required?: boolean;
}

/** One entry of the repository's activity log (`GET /repos/{o}/{r}/activity`). */
export interface StandinActivity {
  id: number;
  ref: string;
  before: string;
  after: string;
  actor: StandinUser;
  activity_type: 'push' | 'force_push' | 'branch_creation' | 'branch_deletion' | 'pr_merge';
  timestamp: string;
}

export interface StandinPull {
  number: number;
  node_id: string;
  title: string;
  user: StandinUser;
  state: 'open' | 'closed';
  merged: boolean;
  merged_at: string | null;
  merge_commit_sha: string | null;
  draft: boolean;
  head: { sha: string; ref: string; repo: string | null };
  base: { sha: string; ref: string; repo: string };
  files: StandinFile[];
  created_at: string;
  /** GraphQL `reviewDecision`: null where branch protection requires no reviews. */
  reviewDecision: 'APPROVED' | 'CHANGES_REQUESTED' | 'REVIEW_REQUIRED' | null;
  mergeable: 'MERGEABLE' | 'CONFLICTING' | 'UNKNOWN';
  mergeStateStatus: 'CLEAN' | 'BLOCKED' | 'BEHIND' | 'DIRTY' | 'DRAFT' | 'HAS_HOOKS' | 'UNSTABLE' | 'UNKNOWN';
  checks: StandinCheck[];
  /** How many commits of the base branch the head lacks (the compare API's `behind_by`). */
  behind_by: number;
}

export interface StandinReview {
  id: number;
  pullNumber: number;
  user: StandinUser;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  commit_id: string;
  submitted_at: string;
}

export interface StandinIssue {
  number: number;
  node_id: string;
  title: string;
  body: string;
  user: StandinUser;
  state: 'open' | 'closed';
  state_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** A planned failure: the next `count` matching requests get `status` (or a dropped connection). */
export interface StandinFault {
  method?: string;
  /** Matched against the request path without query; a string must match exactly. */
  path: string | RegExp;
  status: number | 'disconnect';
  /** Carry the request out first, then fail it: a create that went through although its caller saw an error. */
  after?: boolean;
  count?: number;
  message?: string;
  retryAfter?: number;
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; `authorization` is kept verbatim so tests can check which token was sent. */
  headers: Record<string, string>;
  body: unknown;
}

export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export interface StandinState {
  repo: { owner: string; name: string; default_branch: string };
  tokens: Map<string, StandinToken>;
  users: Map<string, StandinUser>;
  pulls: Map<number, StandinPull>;
  issues: Map<number, StandinIssue>;
  comments: StandinComment[];
  reviews: StandinReview[];
  permissions: Map<string, RepoRole>;
  /** Newest last; `GET /activity` lists it newest first. */
  activities: StandinActivity[];
  /** Commit SHA → numbers of the pull requests containing it (`GET /commits/{sha}/pulls`). */
  commitPulls: Map<string, number[]>;
  /** Ref or SHA → path → text. */
  files: Map<string, Map<string, string>>;
}

export interface StandinOptions {
  owner?: string;
  name?: string;
  defaultBranch?: string;
  /** Extra tokens besides `ghs_test` (→ `github-actions[bot]`). */
  tokens?: Record<string, StandinToken>;
  /** Where `html_url`s point; nothing is served there. */
  serverUrl?: string;
  /** Answer GraphQL's `viewer.login` without the `[bot]` suffix, as GraphQL names apps. */
  graphqlDropsBotSuffix?: boolean;
  /** The owner's and the repository's numeric IDs (`GET /repos/{o}/{r}` as `.owner.id` and `.id`). */
  ownerId?: number;
  repositoryId?: number;
  /**
   * What `GET /repos/{o}/{r}/actions/oidc/customization/sub` answers; by default the default template,
   * name-only (`use_immutable_subject: false`, no prefix).
   */
  oidcSubject?: Record<string, unknown>;
  /**
   * Serve HTTPS with this certificate, and GitHub Enterprise's `/api/v3` prefix as well, so the real
   * `gh` CLI (which speaks HTTPS to any host but github.com) can be pointed at the stand-in with GH_HOST.
   */
  tls?: { cert: string; key: string };
}

export interface GithubStandin {
  url: string;
  graphqlUrl: string;
  close(): Promise<void>;
  requests: RecordedRequest[];
  state: StandinState;
  /** The default token, which acts as `github-actions[bot]`. */
  token: string;
  addPull(
    p?: Partial<Omit<StandinPull, 'user' | 'head' | 'base'>> & {
      author?: string;
      head?: Partial<StandinPull['head']>;
      base?: Partial<StandinPull['base']>;
    },
  ): StandinPull;
  /**
   * A push of `sha` onto the pull request's branch by `actor` (its author when omitted): the head moves
   * and the activity log records who pushed it, as GitHub does.
   */
  pushTo(
    pullNumber: number,
    sha: string,
    actor?: string,
    type?: StandinActivity['activity_type'],
  ): StandinActivity;
  addIssue(i: {
    title: string;
    body?: string;
    author?: string;
    state?: 'open' | 'closed';
    number?: number;
  }): StandinIssue;
  addComment(
    issueNumber: number,
    body: string,
    opts?: { author?: string; minimized?: boolean; createdAt?: string },
  ): StandinComment;
  addReview(
    pullNumber: number,
    r: { author: string; state: StandinReview['state']; commitId: string; submittedAt?: string },
  ): StandinReview;
  setPermission(login: string, role: RepoRole): void;
  /** Someone edits a comment in the web interface (people with write access can edit anyone's). */
  editComment(id: number, body: string, editor: string): StandinComment;
  setFile(ref: string, path: string, text: string): void;
  linkCommit(sha: string, pullNumbers: number[]): void;
  fail(fault: StandinFault): void;
  /** Comments of one issue or pull request, oldest first. */
  commentsOn(issueNumber: number): StandinComment[];
  /** The recorded requests with this method whose path matches. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[];
}

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const DEFAULT_TOKEN = 'ghs_test';
const BOT = 'github-actions[bot]';
const DOCS = 'https://docs.github.com/rest';

const matches = (pattern: string | RegExp, path: string) =>
  typeof pattern === 'string' ? pattern === path : pattern.test(path);

/** Starts the stand-in on 127.0.0.1 at a random port. */
export async function startGithubStandin(opts: StandinOptions = {}): Promise<GithubStandin> {
  const owner = opts.owner ?? 'acme';
  const name = opts.name ?? 'infra';
  const fullName = `${owner}/${name}`;
  const serverUrl = opts.serverUrl ?? 'https://github.com';
  const state: StandinState = {
    repo: { owner, name, default_branch: opts.defaultBranch ?? 'main' },
    tokens: new Map([[DEFAULT_TOKEN, { login: BOT }], ...Object.entries(opts.tokens ?? {})]),
    users: new Map(),
    pulls: new Map(),
    issues: new Map(),
    comments: [],
    reviews: [],
    permissions: new Map(),
    activities: [],
    commitPulls: new Map(),
    files: new Map(),
  };
  const requests: RecordedRequest[] = [];
  const faults: (StandinFault & { left: number })[] = [];
  let nextId = 1000;
  let nextNumber = 1;
  let tick = 0;
  const now = () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const user = (login: string): StandinUser => {
    let u = state.users.get(login);
    if (!u) {
      u = { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' };
      state.users.set(login, u);
    }
    return u;
  };
  for (const t of state.tokens.values()) user(t.login);

  const takeNumber = (wanted?: number) => {
    const n = wanted ?? nextNumber;
    if (state.pulls.has(n) || state.issues.has(n)) throw new Error(`#${n} already exists`);
    nextNumber = Math.max(nextNumber, n + 1);
    return n;
  };

  const standin: Omit<GithubStandin, 'url' | 'graphqlUrl' | 'close'> = {
    requests,
    state,
    token: DEFAULT_TOKEN,
    addPull(p = {}) {
      const number = takeNumber(p.number);
      const pull: StandinPull = {
        number,
        node_id: `PR_${number}`,
        title: p.title ?? `Pull request ${number}`,
        user: user(p.author ?? 'alice'),
        state: p.state ?? 'open',
        merged: p.merged ?? false,
        merged_at: p.merged_at ?? (p.merged ? now() : null),
        merge_commit_sha: p.merge_commit_sha ?? null,
        draft: p.draft ?? false,
        head: {
          sha: p.head?.sha ?? `${number}`.padStart(40, 'a'),
          ref: p.head?.ref ?? `change-${number}`,
          repo: p.head?.repo === undefined ? fullName : p.head.repo,
        },
        base: {
          sha: p.base?.sha ?? `${number}`.padStart(40, 'b'),
          ref: p.base?.ref ?? state.repo.default_branch,
          repo: p.base?.repo ?? fullName,
        },
        files: p.files ?? [],
        created_at: p.created_at ?? now(),
        reviewDecision: p.reviewDecision ?? null,
        mergeable: p.mergeable ?? 'MERGEABLE',
        mergeStateStatus: p.mergeStateStatus ?? 'CLEAN',
        checks: p.checks ?? [],
        behind_by: p.behind_by ?? 0,
      };
      state.pulls.set(number, pull);
      if (pull.head.repo === fullName)
        state.activities.push({
          id: nextId++,
          ref: `refs/heads/${pull.head.ref}`,
          before: '0'.repeat(40),
          after: pull.head.sha,
          actor: pull.user,
          activity_type: 'branch_creation',
          timestamp: now(),
        });
      return pull;
    },
    pushTo(pullNumber, sha, actor, type = 'push') {
      const pull = state.pulls.get(pullNumber);
      if (!pull) throw new Error(`#${pullNumber} does not exist`);
      const activity: StandinActivity = {
        id: nextId++,
        ref: `refs/heads/${pull.head.ref}`,
        before: pull.head.sha,
        after: sha,
        actor: actor === undefined ? pull.user : user(actor),
        activity_type: type,
        timestamp: now(),
      };
      pull.head.sha = sha;
      state.activities.push(activity);
      return activity;
    },
    addIssue(i) {
      const number = takeNumber(i.number);
      const at = now();
      const issue: StandinIssue = {
        number,
        node_id: `I_${number}`,
        title: i.title,
        body: i.body ?? '',
        user: user(i.author ?? 'alice'),
        state: i.state ?? 'open',
        state_reason: null,
        created_at: at,
        updated_at: at,
      };
      state.issues.set(number, issue);
      return issue;
    },
    addComment(issueNumber, body, o = {}) {
      const id = nextId++;
      const at = o.createdAt ?? now();
      const c: StandinComment = {
        id,
        node_id: `IC_${id}`,
        issueNumber,
        body,
        user: user(o.author ?? BOT),
        created_at: at,
        updated_at: at,
        isMinimized: o.minimized ?? false,
        editor: null,
      };
      state.comments.push(c);
      return c;
    },
    addReview(pullNumber, r) {
      const review: StandinReview = {
        id: nextId++,
        pullNumber,
        user: user(r.author),
        state: r.state,
        commit_id: r.commitId,
        submitted_at: r.submittedAt ?? now(),
      };
      state.reviews.push(review);
      return review;
    },
    editComment(id, body, editor) {
      const c = state.comments.find((x) => x.id === id);
      if (!c) throw new Error(`comment ${id} does not exist`);
      c.body = body;
      c.updated_at = now();
      c.editor = user(editor);
      return c;
    },
    setPermission(login, role) {
      user(login);
      state.permissions.set(login, role);
    },
    setFile(ref, path, text) {
      let files = state.files.get(ref);
      if (!files) state.files.set(ref, (files = new Map<string, string>()));
      files.set(path, text);
    },
    linkCommit(sha, pullNumbers) {
      state.commitPulls.set(sha, pullNumbers);
    },
    fail(fault) {
      faults.push({ ...fault, left: fault.count ?? 1 });
    },
    commentsOn(issueNumber) {
      return state.comments
        .filter((c) => c.issueNumber === issueNumber)
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
    },
    requestsTo(method, path) {
      return requests.filter((r) => r.method === method && matches(path, r.path));
    },
  };

  // ---- JSON shapes, as GitHub returns them -------------------------------------------------------
  let base = '';
  const repoApi = () => `${base}/repos/${fullName}`;
  const userJson = (u: StandinUser) => ({ login: u.login, type: u.type });
  const commentJson = (c: StandinComment) => ({
    id: c.id,
    node_id: c.node_id,
    url: `${repoApi()}/issues/comments/${c.id}`,
    html_url: `${serverUrl}/${fullName}/${state.pulls.has(c.issueNumber) ? 'pull' : 'issues'}/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${repoApi()}/issues/${c.issueNumber}`,
    body: c.body,
    user: userJson(c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });
  const repoJson = (full: string | null) =>
    full === null
      ? null
      : { full_name: full, name: full.split('/')[1], owner: { login: full.split('/')[0] } };
  const pullJson = (p: StandinPull) => ({
    number: p.number,
    node_id: p.node_id,
    title: p.title,
    html_url: `${serverUrl}/${fullName}/pull/${p.number}`,
    state: p.state,
    draft: p.draft,
    merged: p.merged,
    merged_at: p.merged_at,
    merge_commit_sha: p.merge_commit_sha,
    user: userJson(p.user),
    head: { sha: p.head.sha, ref: p.head.ref, label: p.head.ref, repo: repoJson(p.head.repo) },
    base: { sha: p.base.sha, ref: p.base.ref, label: p.base.ref, repo: repoJson(p.base.repo) },
    created_at: p.created_at,
  });
  const issueJson = (i: StandinIssue) => ({
    number: i.number,
    node_id: i.node_id,
    html_url: `${serverUrl}/${fullName}/issues/${i.number}`,
    title: i.title,
    body: i.body,
    user: userJson(i.user),
    state: i.state,
    state_reason: i.state_reason,
    created_at: i.created_at,
    updated_at: i.updated_at,
  });
  const pullAsIssueJson = (p: StandinPull) => ({
    number: p.number,
    node_id: p.node_id,
    html_url: `${serverUrl}/${fullName}/pull/${p.number}`,
    title: p.title,
    body: '',
    user: userJson(p.user),
    state: p.state,
    state_reason: null,
    created_at: p.created_at,
    updated_at: p.created_at,
    pull_request: { url: `${repoApi()}/pulls/${p.number}`, merged_at: p.merged_at },
  });

  // ---- request handling ----------------------------------------------------------------------------
  const allows = (token: StandinToken, scope: Scope, level: 'read' | 'write') => {
    const have = token.scopes ? (token.scopes[scope] ?? 'none') : 'write';
    return level === 'read' ? have !== 'none' : have === 'write';
  };
  const needAny = (token: StandinToken, scopes: Scope[], level: 'read' | 'write') => {
    if (!scopes.some((s) => allows(token, s, level)))
      throw new HttpError(403, 'Resource not accessible by integration');
  };
  const need = (token: StandinToken, scope: Scope, level: 'read' | 'write') => needAny(token, [scope], level);
  const paginate = (all: unknown[], url: URL, res: ServerResponse): unknown[] => {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string) => {
      const u = new URL(url.pathname + url.search, base);
      u.searchParams.set('page', String(p));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length) res.setHeader('Link', links.join(', '));
    return all.slice((page - 1) * perPage, page * perPage);
  };
  const toInt = (s: string | undefined) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new HttpError(404, 'Not Found');
    return n;
  };
  const pullOr404 = (n: number) => {
    const p = state.pulls.get(n);
    if (!p) throw new HttpError(404, 'Not Found');
    return p;
  };
  const bodyObject = (body: unknown): Record<string, unknown> => {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new HttpError(400, 'Problems parsing JSON');
    return body as Record<string, unknown>;
  };
  const requireString = (b: Record<string, unknown>, key: string): string => {
    const v = b[key];
    if (typeof v !== 'string') throw new HttpError(422, `Invalid request.\n\n"${key}" wasn't supplied.`);
    if (key === 'body' && v.length > 65536)
      throw new HttpError(422, 'Validation Failed: Body is too long (maximum is 65536 characters)');
    return v;
  };

  function handleRest(
    method: string,
    rest: string[],
    url: URL,
    body: unknown,
    token: StandinToken,
    res: ServerResponse,
  ): [number, unknown] {
    const [a, b, c, d] = rest;
    // /issues/comments/{id}
    if (a === 'issues' && b === 'comments' && c && d === undefined) {
      const comment = state.comments.find((x) => x.id === toInt(c));
      if (!comment) throw new HttpError(404, 'Not Found');
      const scopes: Scope[] = state.pulls.has(comment.issueNumber) ? ['pull-requests', 'issues'] : ['issues'];
      if (method === 'GET') {
        needAny(token, scopes, 'read');
        return [200, commentJson(comment)];
      }
      if (method === 'PATCH') {
        needAny(token, scopes, 'write');
        comment.body = requireString(bodyObject(body), 'body');
        comment.updated_at = now();
        comment.editor = user(token.login);
        return [200, commentJson(comment)];
      }
    }
    // /issues/{n}/comments
    if (a === 'issues' && b && c === 'comments' && d === undefined) {
      const n = toInt(b);
      if (!state.pulls.has(n) && !state.issues.has(n)) throw new HttpError(404, 'Not Found');
      const scopes: Scope[] = state.pulls.has(n) ? ['pull-requests', 'issues'] : ['issues'];
      if (method === 'GET') {
        needAny(token, scopes, 'read');
        return [200, paginate(standin.commentsOn(n).map(commentJson), url, res)];
      }
      if (method === 'POST') {
        needAny(token, scopes, 'write');
        const text = requireString(bodyObject(body), 'body');
        const created = standin.addComment(n, text, { author: token.login });
        return [201, commentJson(created)];
      }
    }
    // /issues and /issues/{n}
    if (a === 'issues' && c === undefined) {
      if (b === undefined && method === 'GET') {
        needAny(token, ['issues'], 'read');
        const wanted = url.searchParams.get('state') ?? 'open';
        const all = [
          ...[...state.issues.values()].map((i) => ({ n: i.number, state: i.state, json: issueJson(i) })),
          ...[...state.pulls.values()].map((p) => ({
            n: p.number,
            state: p.state,
            json: pullAsIssueJson(p),
          })),
        ]
          .filter((x) => wanted === 'all' || x.state === wanted)
          .sort((x, y) => y.n - x.n)
          .map((x) => x.json);
        return [200, paginate(all, url, res)];
      }
      if (b === undefined && method === 'POST') {
        need(token, 'issues', 'write');
        const o = bodyObject(body);
        const issue = standin.addIssue({
          title: requireString(o, 'title'),
          body: typeof o.body === 'string' ? o.body : '',
          author: token.login,
        });
        return [201, issueJson(issue)];
      }
      if (b !== undefined) {
        const issue = state.issues.get(toInt(b));
        if (!issue) throw new HttpError(404, 'Not Found');
        if (method === 'GET') {
          need(token, 'issues', 'read');
          return [200, issueJson(issue)];
        }
        if (method === 'PATCH') {
          need(token, 'issues', 'write');
          const o = bodyObject(body);
          if (typeof o.title === 'string') issue.title = o.title;
          if (typeof o.body === 'string') issue.body = o.body;
          if (o.state === 'open' || o.state === 'closed') {
            issue.state = o.state;
            issue.state_reason = o.state === 'closed' ? 'completed' : 'reopened';
          }
          if (typeof o.state_reason === 'string') issue.state_reason = o.state_reason;
          issue.updated_at = now();
          return [200, issueJson(issue)];
        }
      }
    }
    // /pulls/{n}[/reviews|/files]
    if (a === 'pulls' && b && d === undefined && method === 'GET') {
      need(token, 'pull-requests', 'read');
      const pull = pullOr404(toInt(b));
      if (c === undefined) return [200, pullJson(pull)];
      if (c === 'reviews') {
        const reviews = state.reviews
          .filter((r) => r.pullNumber === pull.number)
          .map((r) => ({
            id: r.id,
            node_id: `PRR_${r.id}`,
            user: userJson(r.user),
            state: r.state,
            commit_id: r.commit_id,
            submitted_at: r.state === 'PENDING' ? undefined : r.submitted_at,
          }));
        return [200, paginate(reviews, url, res)];
      }
      if (c === 'files') return [200, paginate(pull.files, url, res)];
    }
    // /commits/{sha}/pulls
    if (a === 'commits' && b && c === 'pulls' && d === undefined && method === 'GET') {
      need(token, 'pull-requests', 'read');
      const numbers = state.commitPulls.get(b) ?? [];
      return [
        200,
        paginate(
          numbers.map((n) => pullJson(pullOr404(n))),
          url,
          res,
        ),
      ];
    }
    // /activity
    if (a === 'activity' && b === undefined && method === 'GET') {
      need(token, 'contents', 'read');
      const ref = url.searchParams.get('ref');
      const type = url.searchParams.get('activity_type');
      const full = ref && !ref.startsWith('refs/') ? `refs/heads/${ref}` : ref;
      const all = state.activities
        .filter((x) => (!full || x.ref === full) && (!type || x.activity_type === type))
        .sort((x, y) => (url.searchParams.get('direction') === 'asc' ? x.id - y.id : y.id - x.id))
        .map((x) => ({
          id: x.id,
          node_id: `RA_${x.id}`,
          before: x.before,
          after: x.after,
          ref: x.ref,
          timestamp: x.timestamp,
          activity_type: x.activity_type,
          actor: userJson(x.actor),
        }));
      return [200, paginate(all, url, res)];
    }
    // /compare/{base}...{head}
    if (a === 'compare' && b && c === undefined && method === 'GET') {
      need(token, 'contents', 'read');
      const [baseRef, headSha] = decodeURIComponent(b).split('...');
      const pull = [...state.pulls.values()].find((p) => p.head.sha === headSha && p.base.ref === baseRef);
      if (!pull) throw new HttpError(404, 'Not Found');
      return [
        200,
        {
          status: pull.behind_by > 0 ? 'diverged' : 'ahead',
          ahead_by: 1,
          behind_by: pull.behind_by,
          total_commits: 1,
        },
      ];
    }
    // /collaborators/{login}/permission
    if (a === 'collaborators' && b && c === 'permission' && d === undefined && method === 'GET') {
      const login = decodeURIComponent(b);
      const u = state.users.get(login);
      if (!u) throw new HttpError(404, `${login} is not a user`);
      const role = state.permissions.get(login);
      const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : (role ?? 'none');
      return [200, { permission, role_name: role ?? 'none', user: userJson(u) }];
    }
    // /contents/{path}
    if (a === 'contents' && b && method === 'GET') {
      need(token, 'contents', 'read');
      const path = rest.slice(1).map(decodeURIComponent).join('/');
      const ref = url.searchParams.get('ref') ?? state.repo.default_branch;
      const text = state.files.get(ref)?.get(path);
      if (text === undefined) throw new HttpError(404, 'Not Found');
      const content = Buffer.from(text, 'utf8').toString('base64');
      return [
        200,
        {
          type: 'file',
          name: path.split('/').pop(),
          path,
          size: Buffer.byteLength(text),
          encoding: 'base64',
          // GitHub wraps base64 content at 60 characters
          content: (content.match(/.{1,60}/g) ?? []).join('\n'),
        },
      ];
    }
    throw new HttpError(404, 'Not Found');
  }

  function handleGraphql(body: unknown, token: StandinToken): [number, unknown] {
    const o = bodyObject(body);
    const query = typeof o.query === 'string' ? o.query : '';
    const variables = (o.variables ?? {}) as Record<string, unknown>;
    if (/\bpullRequest\s*\(\s*number\s*:/.test(query)) {
      if (!allows(token, 'pull-requests', 'read'))
        return [200, { data: null, errors: [{ message: 'Resource not accessible by integration' }] }];
      const pull = state.pulls.get(Number(variables.number));
      if (variables.owner !== owner || variables.name !== name || !pull)
        return [
          200,
          {
            data: { repository: variables.owner === owner ? { pullRequest: null } : null },
            errors: [
              {
                message: `Could not resolve to a PullRequest with the number of ${String(variables.number)}.`,
              },
            ],
          },
        ];
      const contexts = pull.checks.map((c) =>
        c.kind === 'StatusContext'
          ? {
              __typename: 'StatusContext',
              context: c.name,
              state: c.conclusion ?? 'PENDING',
              isRequired: c.required ?? false,
            }
          : {
              __typename: 'CheckRun',
              name: c.name,
              status: c.status ?? 'COMPLETED',
              conclusion: (c.status ?? 'COMPLETED') === 'COMPLETED' ? (c.conclusion ?? 'SUCCESS') : null,
              isRequired: c.required ?? false,
              checkSuite: { workflowRun: c.workflow ? { workflow: { name: c.workflow } } : null },
            },
      );
      return [
        200,
        {
          data: {
            repository: {
              pullRequest: {
                reviewDecision: pull.reviewDecision,
                mergeable: pull.mergeable,
                mergeStateStatus: pull.draft ? 'DRAFT' : pull.mergeStateStatus,
                headRefOid: pull.head.sha,
                commits: {
                  nodes: [
                    {
                      commit: {
                        oid: pull.head.sha,
                        statusCheckRollup: contexts.length ? { contexts: { nodes: contexts } } : null,
                      },
                    },
                  ],
                },
              },
            },
          },
        },
      ];
    }
    if (/\bviewer\s*\{\s*login\s*\}/.test(query)) {
      const login = opts.graphqlDropsBotSuffix ? token.login.replace(/\[bot\]$/, '') : token.login;
      return [200, { data: { viewer: { login } } }];
    }
    if (/\bnode\s*\(\s*id\s*:/.test(query) && /\beditor\b/.test(query)) {
      const c = state.comments.find((x) => x.node_id === variables.id);
      if (!c)
        return [
          200,
          {
            data: { node: null },
            errors: [
              { message: `Could not resolve to a node with the global id of '${String(variables.id)}'` },
            ],
          },
        ];
      const editor =
        c.editor && (opts.graphqlDropsBotSuffix || c.editor.type === 'Bot')
          ? c.editor.login.replace(/\[bot\]$/, '')
          : c.editor?.login;
      return [200, { data: { node: { id: c.node_id, editor: editor ? { login: editor } : null } } }];
    }
    if (/\bnodes\s*\(\s*ids\s*:/.test(query) && /isMinimized/.test(query)) {
      const ids = Array.isArray(variables.ids) ? (variables.ids as unknown[]) : [];
      if (ids.length > 100)
        return [
          200,
          { data: null, errors: [{ message: 'You may not request more than 100 nodes at once' }] },
        ];
      const errors: { message: string }[] = [];
      const nodes = ids.map((id) => {
        const c = state.comments.find((x) => x.node_id === id);
        if (!c) errors.push({ message: `Could not resolve to a node with the global id of '${String(id)}'` });
        return c ? { id: c.node_id, isMinimized: c.isMinimized } : null;
      });
      return [200, { data: { nodes }, ...(errors.length ? { errors } : {}) }];
    }
    return [200, { data: null, errors: [{ message: 'the stand-in does not know this query' }] }];
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      if (opts.tls && url.pathname.startsWith('/api/v3/'))
        url.pathname = url.pathname.slice('/api/v3'.length);
      if (opts.tls && url.pathname === '/api/graphql') url.pathname = '/graphql';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const method = req.method ?? 'GET';
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = String(v);
      requests.push({
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      });

      const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
        const text = payload === undefined ? '' : JSON.stringify(payload);
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...extra });
        res.end(text);
      };

      const fault = faults.find(
        (f) => f.left > 0 && (!f.method || f.method === method) && matches(f.path, url.pathname),
      );
      const failAfter = fault?.after ? fault : undefined;
      if (fault && !fault.after) {
        fault.left--;
        if (fault.status === 'disconnect') {
          req.socket.destroy();
          return;
        }
        const message =
          fault.message ??
          (fault.status === 403
            ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
            : 'Server Error');
        send(
          fault.status,
          { message, documentation_url: DOCS },
          {
            ...(fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}),
            ...fault.headers,
          },
        );
        return;
      }

      const auth = /^(?:Bearer|token)\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
      const token = auth ? state.tokens.get(auth) : undefined;
      if (!token) {
        send(401, { message: 'Bad credentials', documentation_url: DOCS });
        return;
      }
      try {
        let result: [number, unknown];
        if (url.pathname === '/graphql' && method === 'POST') result = handleGraphql(body, token);
        else {
          const parts = url.pathname.split('/').filter(Boolean);
          if (parts[0] !== 'repos' || parts[1] !== owner || parts[2] !== name)
            throw new HttpError(404, 'Not Found');
          result =
            parts.length === 3 && method === 'GET'
              ? [
                  200,
                  {
                    id: opts.repositoryId ?? 456789,
                    full_name: fullName,
                    name,
                    owner: { login: owner, id: opts.ownerId ?? 123456 },
                    default_branch: state.repo.default_branch,
                  },
                ]
              : parts.slice(3).join('/') === 'actions/oidc/customization/sub' && method === 'GET'
                ? [200, opts.oidcSubject ?? { use_default: true, use_immutable_subject: false }]
                : handleRest(method, parts.slice(3), url, body, token, res);
        }
        if (failAfter) {
          failAfter.left--;
          if (failAfter.status === 'disconnect') req.socket.destroy();
          else
            send(failAfter.status, { message: failAfter.message ?? 'Server Error', documentation_url: DOCS });
          return;
        }
        send(result[0], result[1]);
      } catch (e) {
        if (e instanceof HttpError)
          send(e.status, { message: e.message, documentation_url: DOCS }, e.headers);
        else send(500, { message: e instanceof Error ? e.message : String(e) });
      }
    });
  };

  const server = opts.tls ? createHttpsServer(opts.tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...standin,
    url: base,
    graphqlUrl: `${base}/graphql`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
