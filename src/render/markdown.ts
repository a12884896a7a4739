import { hasChanges, renderSummaryLine } from '../plan/model.ts';
import type { Change, Plan } from '../plan/model.ts';
import { codeFence, codeSpan, escapeHtml, escapeMarkdown, escapeUrl } from './markdown-escape.ts';
import {
  ACTION_SYMBOL,
  NO_CHANGES,
  buildPlanView,
  plural,
  renderCountsInWords,
  renderSource,
} from './view.ts';
import type { ChangeView, PlanView, StageView, StagedChange, StagedFinding } from './view.ts';

/** GitHub rejects comment bodies over 65,536 characters; the rest is margin. */
export const DEFAULT_MAX_COMMENT_CHARS = 60000;

/** What the caller knows that the plan does not: the size budget, the run URL, how to approve. */
export interface PlanCommentOptions {
  maxChars?: number;
  /** Where the full plan can be read when the comment has to leave parts out: the job summary or run URL. */
  detailsUrl?: string;
  /** Closing line telling the reader how to apply, e.g. which comment or environment approves. */
  applyHint?: string;
}

/** What the hidden first line of a plan comment records, to find it and to check approvals against it. */
export interface PlanMarker {
  cluster: string;
  fingerprint: string;
  head: string | undefined;
}

const MARKER_TAG = 'karpenter-action:plan';
const MARKER = /^<!-- karpenter-action:plan cluster=(\S+) fingerprint=(\S+) head=(\S+) -->$/;

/**
 * The start of the hidden first line of our plan comment for one cluster. Comments are found again
 * by this prefix (and by their author), so one PR keeps exactly one plan comment per cluster.
 */
export function planMarker(cluster: string): string {
  return `<!-- ${MARKER_TAG} cluster=${encodeURIComponent(cluster)} `;
}

/**
 * The hidden first line of a plan comment. A comment standing in for a plan that could not run has
 * no fingerprint (`none`), so no apply can be approved from it.
 */
export function renderPlanMarker(
  cluster: string,
  fingerprint: string | undefined,
  headSha: string | undefined,
): string {
  const enc = (v: string | undefined) => (v ? encodeURIComponent(v) : 'none');
  return `${planMarker(cluster)}fingerprint=${enc(fingerprint)} head=${enc(headSha)} -->`;
}

const renderMarker = (plan: Plan): string => renderPlanMarker(plan.cluster, plan.fingerprint, plan.headSha);

/**
 * Reads the marker back from a comment body, so apply can compare the approved plan's fingerprint
 * and head commit with a fresh plan. Only a marker on the first line counts.
 */
export function parsePlanMarker(body: string): PlanMarker | undefined {
  const first =
    body
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/, 1)[0]
      ?.trim() ?? '';
  const m = MARKER.exec(first);
  if (!m) return undefined;
  try {
    const [cluster, fingerprint, head] = [m[1], m[2], m[3]].map((s) => decodeURIComponent(s ?? ''));
    if (!cluster || !fingerprint || head === undefined) return undefined;
    return { cluster, fingerprint, head: head === 'none' ? undefined : head };
  } catch {
    return undefined;
  }
}

interface Layout {
  marker: boolean;
  /** Keys of changes whose diff is replaced by a pointer to the full plan. */
  omitted: ReadonlySet<string>;
  /** Stages shown as counts only. */
  collapsed: ReadonlySet<number>;
  /** Most items shown per warning or error list. */
  listLimit: number;
  detailsUrl: string | undefined;
  applyHint: string | undefined;
}

function fullPlanRef(url: string | undefined): string {
  return url ? `[the full plan](${escapeUrl(url)})` : 'the full plan in the job summary of this workflow run';
}

function changeTitle(c: Change): string {
  const parts = [`**${ACTION_SYMBOL[c.action]} ${c.action}** ${escapeMarkdown(c.kind)} ${codeSpan(c.name)}`];
  if (c.reason) parts.push(` — ${escapeMarkdown(c.reason)}`);
  if (c.source) parts.push(` (${escapeMarkdown(renderSource(c.source))})`);
  return parts.join('');
}

function renderFinding({ stage, finding }: StagedFinding): string {
  let line = `- ${codeSpan(finding.code)} in **${stage}**: ${escapeMarkdown(finding.message)}`;
  if (finding.source) line += ` (${escapeMarkdown(renderSource(finding.source))})`;
  if (finding.fix) line += `<br>**Fix:** ${escapeMarkdown(finding.fix)}`;
  return line;
}

function renderDeletion({ stage, change }: StagedChange): string {
  const verb = change.action === 'replace' ? 'Deletes and recreates' : 'Deletes';
  const reason = change.reason ? `: ${escapeMarkdown(change.reason)}` : '';
  return `- **${verb}** ${escapeMarkdown(change.kind)} ${codeSpan(change.name)} in **${stage}**${reason}`;
}

function renderNodeReplacement({ stage, change }: StagedChange): string {
  const detail = change.impact?.detail ? `: ${escapeMarkdown(change.impact.detail)}` : '';
  return `- **Replaces nodes:** ${escapeMarkdown(change.kind)} ${codeSpan(change.name)} in **${stage}**${detail}`;
}

function limitList(items: string[], limit: number, url: string | undefined): string[] {
  if (items.length <= limit) return items;
  return [...items.slice(0, limit), `- … and ${items.length - limit} more; see ${fullPlanRef(url)}.`];
}

function renderNote(note: string): string {
  const [first = '', ...rest] = note.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const head = `> **Note:** ${escapeMarkdown(first)}`;
  return rest.length > 0 ? `${head}\n\n${codeFence(rest.join('\n'))}` : head;
}

function renderOmittedDiff(view: ChangeView, url: string | undefined): string {
  const lines = view.diff.split('\n').length;
  return `_Diff of ${plural(lines, 'line')} omitted to fit the comment; see ${fullPlanRef(url)}._`;
}

function renderChange(view: ChangeView, layout: Layout): string {
  const { change } = view;
  const blocks = [changeTitle(change)];
  if (change.impact?.detail) {
    blocks.push(
      change.impact.replacesNodes
        ? `⚠️ **Replaces nodes:** ${escapeMarkdown(change.impact.detail)}`
        : `ℹ️ ${escapeMarkdown(change.impact.detail)}`,
    );
  } else if (change.impact?.replacesNodes) {
    blocks.push('⚠️ **Replaces nodes.**');
  }
  if (view.diff !== '') {
    blocks.push(
      layout.omitted.has(view.key)
        ? renderOmittedDiff(view, layout.detailsUrl)
        : codeFence(view.diff, 'diff'),
    );
  }
  return blocks.join('\n\n');
}

function hasStageContent(s: StageView): boolean {
  return s.changes.length > 0 || s.notes.length > 0 || s.info.length > 0;
}

function renderStage(s: StageView, index: number, layout: Layout): string {
  const summary = hasChanges(s.counts) ? renderSummaryLine(s.counts) : 'no changes';
  if (layout.collapsed.has(index)) {
    return `**${escapeMarkdown(s.stage)}**: ${summary}. Details omitted to fit the comment; see ${fullPlanRef(layout.detailsUrl)}.`;
  }
  const blocks = [
    `<details${s.risky ? ' open' : ''}>\n<summary><b>${escapeHtml(s.stage)}</b> · ${escapeHtml(summary)}</summary>`,
  ];
  for (const c of s.changes) blocks.push(renderChange(c, layout));
  if (s.unchanged > 0) blocks.push(`_${plural(s.unchanged, 'resource')} unchanged._`);
  for (const f of s.info) {
    const fix = f.fix ? ` **Fix:** ${escapeMarkdown(f.fix)}` : '';
    blocks.push(`ℹ️ ${codeSpan(f.code)}: ${escapeMarkdown(f.message)}${fix}`);
  }
  for (const n of s.notes) blocks.push(renderNote(n));
  blocks.push('</details>');
  return blocks.join('\n\n');
}

function renderStageTable(view: PlanView): string {
  const rows = view.stages.map(
    (s) =>
      `| ${escapeMarkdown(s.stage)} | ${s.counts.create} | ${s.counts.update} | ${s.counts.replace} | ${s.counts.delete} |`,
  );
  return [
    '| Stage | Create | Update | Replace | Delete |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function compose(view: PlanView, layout: Layout): string {
  const { plan } = view;
  const blocks: string[] = [];
  if (layout.marker) blocks.push(renderMarker(plan));
  blocks.push(
    `## Karpenter plan for ${codeSpan(plan.cluster)} (${escapeMarkdown(plan.region)}, Karpenter ${escapeMarkdown(plan.karpenterVersion)})`,
  );

  const changed = hasChanges(plan.counts);
  let status = changed
    ? `**Plan: ${renderSummaryLine(plan.counts)}**, ${renderCountsInWords(plan.counts)}.`
    : NO_CHANGES;
  if (view.errors.length > 0) status += ` **Apply is blocked by ${plural(view.errors.length, 'error')}.**`;
  blocks.push(status);

  if (layout.omitted.size > 0 || layout.collapsed.size > 0 || Number.isFinite(layout.listLimit)) {
    blocks.push(
      `> [!NOTE]\n> Parts of this plan are left out to fit GitHub's comment size limit; every change is in ${fullPlanRef(layout.detailsUrl)}.`,
    );
  }
  if (changed) blocks.push(renderStageTable(view));

  if (view.errors.length > 0) {
    blocks.push('### ⛔ Errors: apply is blocked');
    blocks.push(limitList(view.errors.map(renderFinding), layout.listLimit, layout.detailsUrl).join('\n'));
  }
  const warnings = [
    ...view.deletions.map(renderDeletion),
    ...view.nodeReplacements.map(renderNodeReplacement),
    ...view.warnings.map(renderFinding),
  ];
  if (warnings.length > 0) {
    blocks.push('### ⚠️ Warnings');
    blocks.push(limitList(warnings, layout.listLimit, layout.detailsUrl).join('\n'));
  }

  view.stages.forEach((s, i) => {
    if (hasStageContent(s)) blocks.push(renderStage(s, i, layout));
  });

  blocks.push('---');
  const footer = [`Plan fingerprint ${codeSpan(plan.fingerprint)}`];
  if (plan.headSha) footer.push(`commit ${codeSpan(plan.headSha.slice(0, 12))}`);
  footer.push(`${escapeMarkdown(plan.tool.name)} ${escapeMarkdown(plan.tool.version)}`);
  blocks.push(`<sub>${footer.join(' · ')}</sub>`);
  if (layout.applyHint) blocks.push(layout.applyHint);
  return `${blocks.join('\n\n')}\n`;
}

/** The smallest prefix length of `count` candidates for which `fits` holds, or undefined. */
function smallestFitting(count: number, fits: (n: number) => boolean): number | undefined {
  if (!fits(count)) return undefined;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Cuts whole lines from the end; only used when nothing but lists and one-line stages is left. */
function cutLines(text: string, max: number): string {
  const lines = text.split('\n');
  let out = '';
  for (const line of lines) {
    const next = out === '' ? line : `${out}\n${line}`;
    if (next.length + 1 > max) break;
    out = next;
  }
  return `${out}\n`;
}

/**
 * The pull-request comment for a plan: status, per-stage counts, blocking errors, a warning for every
 * deletion and node replacement, and a collapsible block per stage with each change and its diff. It
 * stays under `maxChars` (GitHub rejects longer bodies) by leaving out the largest diffs first, then
 * whole stages, while every change line, warning and the hidden marker stay.
 */
export function renderPlanComment(plan: Plan, opts: PlanCommentOptions = {}): string {
  const max = opts.maxChars ?? DEFAULT_MAX_COMMENT_CHARS;
  const view = buildPlanView(plan);
  const base: Layout = {
    marker: true,
    omitted: new Set(),
    collapsed: new Set(),
    listLimit: Infinity,
    detailsUrl: opts.detailsUrl,
    applyHint: opts.applyHint,
  };
  const full = compose(view, base);
  if (full.length <= max) return full;

  const diffs = view.stages
    .flatMap((s) => s.changes)
    .filter(
      (c) => c.diff !== '' && codeFence(c.diff, 'diff').length > renderOmittedDiff(c, opts.detailsUrl).length,
    )
    .sort((a, b) => b.diff.length - a.diff.length || (a.key < b.key ? -1 : 1));
  const omitting = (n: number): Layout => ({
    ...base,
    omitted: new Set(diffs.slice(0, n).map((c) => c.key)),
  });
  const omitCount = smallestFitting(diffs.length, (n) => compose(view, omitting(n)).length <= max);
  if (omitCount !== undefined) return compose(view, omitting(omitCount));

  const allOmitted = omitting(diffs.length);
  const stageOrder = view.stages
    .map((s, i) => ({ i, size: renderStage(s, i, allOmitted).length, shown: hasStageContent(s) }))
    .filter((s) => s.shown)
    .sort((a, b) => b.size - a.size || a.i - b.i)
    .map((s) => s.i);
  const collapsing = (n: number): Layout => ({ ...allOmitted, collapsed: new Set(stageOrder.slice(0, n)) });
  const collapseCount = smallestFitting(stageOrder.length, (n) => compose(view, collapsing(n)).length <= max);
  if (collapseCount !== undefined) return compose(view, collapsing(collapseCount));

  const allCollapsed = collapsing(stageOrder.length);
  const longest = Math.max(
    view.errors.length,
    view.deletions.length + view.nodeReplacements.length + view.warnings.length,
  );
  const limiting = (n: number): Layout => ({ ...allCollapsed, listLimit: n });
  const limit = smallestFitting(longest, (n) => compose(view, limiting(longest - n)).length <= max);
  if (limit !== undefined) return compose(view, limiting(longest - limit));
  return cutLines(compose(view, limiting(0)), max);
}

/**
 * The same report for the job summary, where the size limit is far larger and the full plan belongs:
 * every diff, no hidden marker.
 */
export function renderJobSummary(plan: Plan): string {
  return compose(buildPlanView(plan), {
    marker: false,
    omitted: new Set(),
    collapsed: new Set(),
    listLimit: Infinity,
    detailsUrl: undefined,
    applyHint: undefined,
  });
}
