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

export type TrackingIssueAction = 'opened' | 'updated' | 'unchanged' | 'closed' | 'none';
export type DriftIssueAction = TrackingIssueAction;

/** One issue kept in step with a recurring check, found again by its hidden first line. */
export interface TrackingIssue {
  /** The hidden first line that tells this issue from every other. */
  marker: string;
  /** Whether the issue should be open: the check found something. */
  open: boolean;
  title: string;
  /** The report without the marker; the marker line is added here. */
  body: string;
  /** Said on the issue before it is closed. */
  resolvedComment: string;
}

/**
 * Keeps the drift issue of a cluster in step with the latest check: opened or updated while the
 * cluster differs from the repository, closed as completed (with a comment) once it matches again.
 */
export async function reportDriftIssue(
  client: GitHubClient,
  report: DriftReport,
): Promise<{ action: DriftIssueAction; number?: number; url?: string }> {
  return reportTrackingIssue(client, {
    marker: driftMarker(report.cluster),
    open: report.drift,
    title: report.title,
    body: report.body,
    resolvedComment: report.resolvedComment ?? 'The cluster matches the repository again.',
  });
}

/**
 * Keeps the one issue of a marker in step with the latest check: opened or updated while the check
 * finds something, closed as completed (with a comment) once it does not. Every open issue of ours
 * with the marker is handled, not only the first: a duplicate (from a race, or a create that went
 * through although it failed) is closed pointing at the one kept, and all are closed once the check
 * is clean.
 */
export async function reportTrackingIssue(
  client: GitHubClient,
  report: TrackingIssue,
): Promise<{ action: TrackingIssueAction; number?: number; url?: string }> {
  const { marker } = report;
  const viewer = await client.readViewerLogin();
  const readOurs = async () =>
    (await client.listOpenIssues())
      .filter((i) => buildFirstLine(i.body).trim() === marker && evaluateSameAuthor(i.user.login, viewer))
      .sort((a, b) => a.number - b.number);
  const ours = await readOurs();
  const [open, ...duplicates] = ours;

  if (report.open) {
    const body = `${marker}\n${report.body}`;
    let result: { action: TrackingIssueAction; number?: number; url?: string };
    if (!open) {
      const created = await client.createIssue(
        { title: report.title, body },
        async () => (await readOurs())[0],
      );
      result =
        created.body === body && created.title === report.title
          ? { action: 'opened', number: created.number, url: created.url }
          : await updateTrackingIssue(client, created.number, report.title, body);
    } else if (open.body === body && open.title === report.title) {
      result = { action: 'unchanged', number: open.number, url: open.url };
    } else {
      result = await updateTrackingIssue(client, open.number, report.title, body);
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
    await client.createIssueComment(issue.number, report.resolvedComment);
    closed.push(await client.updateIssue(issue.number, { state: 'closed', stateReason: 'completed' }));
  }
  return { action: 'closed', number: closed[0]!.number, url: closed[0]!.url };
}

async function updateTrackingIssue(
  client: GitHubClient,
  number: number,
  title: string,
  body: string,
): Promise<{ action: TrackingIssueAction; number: number; url?: string }> {
  const updated = await client.updateIssue(number, { title, body });
  return { action: 'updated', number: updated.number, url: updated.url };
}
