import type { GitHubClient } from './client.ts';
import { buildFirstLine, evaluateSameAuthor } from './sticky.ts';

/**
 * The hidden first line of a cluster's drift issue: one open issue per cluster is found again by it
 * (and by its author), so scheduled runs update that issue instead of opening new ones.
 */
export function driftMarker(cluster: string): string {
  return `<!-- karpenter-action:drift cluster=${encodeURIComponent(cluster)} -->`;
}

export interface DriftReport {
  cluster: string;
  drift: boolean;
  title: string;
  /** The report without the marker; the marker line is added here. */
  body: string;
  /** Said on the issue before it is closed; defaults to a plain "matches again" line. */
  resolvedComment?: string;
}

export type DriftIssueAction = 'opened' | 'updated' | 'unchanged' | 'closed' | 'none';

/**
 * Keeps the drift issue of a cluster in step with the latest check: opened or updated while the
 * cluster differs from the repository, closed as completed (with a comment) once it matches again.
 * Every open issue of ours for the cluster is handled, not only the first: a duplicate (from a race,
 * or a create that went through although it failed) is closed pointing at the one kept, and all are
 * closed once the cluster is clean.
 */
export async function reportDriftIssue(
  client: GitHubClient,
  report: DriftReport,
): Promise<{ action: DriftIssueAction; number?: number; url?: string }> {
  const marker = driftMarker(report.cluster);
  const viewer = await client.readViewerLogin();
  const readOurs = async () =>
    (await client.listOpenIssues())
      .filter((i) => buildFirstLine(i.body).trim() === marker && evaluateSameAuthor(i.user.login, viewer))
      .sort((a, b) => a.number - b.number);
  const ours = await readOurs();
  const [open, ...duplicates] = ours;

  if (report.drift) {
    const body = `${marker}\n${report.body}`;
    let result: { action: DriftIssueAction; number?: number; url?: string };
    if (!open) {
      const created = await client.createIssue(
        { title: report.title, body },
        async () => (await readOurs())[0],
      );
      result =
        created.body === body && created.title === report.title
          ? { action: 'opened', number: created.number, url: created.url }
          : await updateDriftIssue(client, created.number, report.title, body);
    } else if (open.body === body && open.title === report.title) {
      result = { action: 'unchanged', number: open.number, url: open.url };
    } else {
      result = await updateDriftIssue(client, open.number, report.title, body);
    }
    for (const d of duplicates) {
      await client.createIssueComment(d.number, `Closed as a duplicate of #${result.number ?? ''}.`);
      await client.updateIssue(d.number, { state: 'closed', stateReason: 'not_planned' });
    }
    return result;
  }

  if (!open) return { action: 'none' };
  const closed = [];
  for (const issue of ours) {
    await client.createIssueComment(
      issue.number,
      report.resolvedComment ?? 'The cluster matches the repository again.',
    );
    closed.push(await client.updateIssue(issue.number, { state: 'closed', stateReason: 'completed' }));
  }
  return { action: 'closed', number: closed[0]!.number, url: closed[0]!.url };
}

async function updateDriftIssue(
  client: GitHubClient,
  number: number,
  title: string,
  body: string,
): Promise<{ action: DriftIssueAction; number: number; url?: string }> {
  const updated = await client.updateIssue(number, { title, body });
  return { action: 'updated', number: updated.number, url: updated.url };
}
