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
 */
export async function reportDriftIssue(
  client: GitHubClient,
  report: DriftReport,
): Promise<{ action: DriftIssueAction; number?: number; url?: string }> {
  const marker = driftMarker(report.cluster);
  const viewer = await client.readViewerLogin();
  const open = (await client.listOpenIssues())
    .filter((i) => buildFirstLine(i.body).trim() === marker && evaluateSameAuthor(i.user.login, viewer))
    .sort((a, b) => a.number - b.number)[0];

  if (report.drift) {
    const body = `${marker}\n${report.body}`;
    if (!open) {
      const created = await client.createIssue({ title: report.title, body });
      return { action: 'opened', number: created.number, url: created.url };
    }
    if (open.body === body && open.title === report.title)
      return { action: 'unchanged', number: open.number, url: open.url };
    const updated = await client.updateIssue(open.number, { title: report.title, body });
    return { action: 'updated', number: updated.number, url: updated.url };
  }

  if (!open) return { action: 'none' };
  await client.createIssueComment(
    open.number,
    report.resolvedComment ?? 'The cluster matches the repository again.',
  );
  const closed = await client.updateIssue(open.number, { state: 'closed', stateReason: 'completed' });
  return { action: 'closed', number: closed.number, url: closed.url };
}
