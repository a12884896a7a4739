import type { GitHubClient, IssueComment } from './client.ts';

/**
 * Whether a comment or issue was written by the token's identity. GraphQL names the Actions bot
 * `github-actions`, REST names it `github-actions[bot]`, so both spellings match.
 */
export function evaluateSameAuthor(login: string, viewer: string): boolean {
  const bare = (s: string) => s.toLowerCase().replace(/\[bot\]$/, '');
  return login !== '' && bare(login) === bare(viewer);
}

/** The first line of a body, which is where our hidden markers live. */
export function buildFirstLine(body: string): string {
  return body.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
}

/**
 * Our comment for this marker: first line starts with it, written by this token's identity, not hidden
 * by anyone. The oldest wins, so a duplicate from a race never takes over.
 */
export async function readStickyComment(
  client: GitHubClient,
  issueNumber: number,
  markerPrefix: string,
): Promise<IssueComment | undefined> {
  const viewer = await client.readViewerLogin();
  const candidates = (await client.listIssueComments(issueNumber))
    .filter(
      (c) => buildFirstLine(c.body).startsWith(markerPrefix) && evaluateSameAuthor(c.user.login, viewer),
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
  if (candidates.length === 0) return undefined;
  const hidden = await client.listMinimizedCommentIds(candidates.map((c) => c.nodeId));
  return candidates.find((c) => !hidden.has(c.nodeId));
}

/**
 * Keeps one comment per issue or pull request and marker, edited in place, so a pull request shows
 * the current plan once instead of a growing pile. Someone else's comment carrying our marker is never
 * touched. A create that failed but may have gone through is looked for by its marker before it is
 * sent again. `body` must already start with the marker line.
 */
export async function upsertStickyComment(
  client: GitHubClient,
  issueNumber: number,
  markerPrefix: string,
  body: string,
): Promise<{ id: number; created: boolean; url?: string }> {
  if (!buildFirstLine(body).startsWith(markerPrefix))
    throw new Error(`a sticky comment's body must start with its marker ${JSON.stringify(markerPrefix)}`);
  const existing = await readStickyComment(client, issueNumber, markerPrefix);
  if (!existing) {
    const c = await client.createIssueComment(issueNumber, body, () =>
      readStickyComment(client, issueNumber, markerPrefix),
    );
    if (c.body === body) return { id: c.id, created: true, url: c.url };
    const updated = await client.updateIssueComment(c.id, body);
    return { id: updated.id, created: true, url: updated.url };
  }
  if (existing.body === body) return { id: existing.id, created: false, url: existing.url };
  const c = await client.updateIssueComment(existing.id, body);
  return { id: c.id, created: false, url: c.url };
}
