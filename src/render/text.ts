import { hasChanges, renderSummaryLine } from '../plan/model.ts';
import type { Action, Finding, FindingLevel, Plan } from '../plan/model.ts';
import {
  ACTION_SYMBOL,
  NO_CHANGES,
  buildPlanView,
  plural,
  renderCountsInWords,
  renderSource,
} from './view.ts';
import type { ChangeView, StageView } from './view.ts';

/** How the CLI prints: colours only on a terminal. */
export interface PlanTextOptions {
  /** ANSI colours, for a terminal; off for pipes and files. */
  color: boolean;
  /**
   * Leave out the bodies of whole objects that are created or deleted (a line count stands in for
   * each); diffs of updates and replacements stay. For a first plan of hundreds of lines of policy.
   */
  compact?: boolean;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'magenta' | 'cyan';

const CODES: Record<Style, string> = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  magenta: '35',
  cyan: '36',
};

const ACTION_STYLE: Record<Action, Style> = {
  create: 'green',
  update: 'yellow',
  replace: 'magenta',
  delete: 'red',
  'no-op': 'dim',
};

const LEVEL_STYLE: Record<FindingLevel, Style> = { error: 'red', warning: 'yellow', info: 'cyan' };

const DIFF_INDENT = '      ';

/** Control characters from names or values would move the cursor or change colours in the terminal. */
function clean(text: string): string {
  return text.replace(/(?!\t)\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const oneLine = (text: string): string => clean(text.replace(/\r?\n/g, ' '));

function painter(color: boolean): (style: Style, text: string) => string {
  return color ? (style, text) => `\u001b[${CODES[style]}m${text}\u001b[0m` : (_style, text) => text;
}

function renderDiffLine(line: string, paint: (style: Style, text: string) => string): string {
  const text = DIFF_INDENT + clean(line);
  if (line.startsWith('@@')) return paint('cyan', text);
  if (line.startsWith('+')) return paint('green', text);
  if (line.startsWith('-')) return paint('red', text);
  return text;
}

function renderFinding(f: Finding, paint: (style: Style, text: string) => string): string[] {
  const where = f.source ? ` (${clean(renderSource(f.source))})` : '';
  const lines = [
    `  ${paint(LEVEL_STYLE[f.level], f.level)} [${oneLine(f.code)}] ${oneLine(f.message)}${where}`,
  ];
  if (f.fix) lines.push(`    fix: ${oneLine(f.fix)}`);
  return lines;
}

function renderChange(
  view: ChangeView,
  paint: (style: Style, text: string) => string,
  compact: boolean,
): string[] {
  const c = view.change;
  const head = paint(ACTION_STYLE[c.action], `${ACTION_SYMBOL[c.action]} ${c.action}`);
  let line = `  ${head} ${oneLine(c.kind)} ${paint('bold', oneLine(c.name))}`;
  if (c.reason) line += ` — ${oneLine(c.reason)}`;
  if (c.source) line += ` (${oneLine(renderSource(c.source))})`;
  const lines = [line];
  if (c.impact?.replacesNodes) {
    lines.push(
      `    ${paint('yellow', 'replaces nodes')}${c.impact.detail ? `: ${oneLine(c.impact.detail)}` : ''}`,
    );
  } else if (c.impact?.detail) {
    lines.push(`    ${oneLine(c.impact.detail)}`);
  }
  if (view.diff === '') return lines;
  const body = view.diff.split('\n');
  if (compact && (c.action === 'create' || c.action === 'delete')) {
    lines.push(
      paint(
        'dim',
        `${DIFF_INDENT}(${plural(body.length, 'line')} of ${c.action === 'create' ? 'new' : 'removed'} object)`,
      ),
    );
  } else lines.push(...body.map((l) => renderDiffLine(l, paint)));
  return lines;
}

function renderStage(
  s: StageView,
  findings: Finding[],
  paint: (style: Style, text: string) => string,
  compact: boolean,
): string[] {
  const summary = hasChanges(s.counts) ? renderSummaryLine(s.counts) : 'no changes';
  const lines = [`${paint('bold', `== ${s.stage} ==`)} ${summary}`];
  for (const c of s.changes) lines.push(...renderChange(c, paint, compact));
  if (s.unchanged > 0) lines.push(paint('dim', `  ${plural(s.unchanged, 'resource')} unchanged`));
  for (const f of findings) lines.push(...renderFinding(f, paint));
  for (const note of s.notes) {
    const [first = '', ...rest] = note.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
    lines.push(`  note: ${clean(first)}`, ...rest.map((l) => `    ${clean(l)}`));
  }
  return lines;
}

/**
 * The plan for a terminal: one section per stage with each change, its diff and the stage's
 * findings, then the summary line and the fingerprint that `apply` needs. Colours only on request.
 */
export function renderPlanText(plan: Plan, opts: PlanTextOptions): string {
  const paint = painter(opts.color);
  const view = buildPlanView(plan);
  const out = [
    paint(
      'bold',
      `Karpenter plan for ${oneLine(plan.cluster)} (${oneLine(plan.region)}, Karpenter ${oneLine(plan.karpenterVersion)})`,
    ),
  ];
  view.stages.forEach((s, i) => {
    out.push('', ...renderStage(s, plan.stages[i]?.findings ?? [], paint, opts.compact === true));
  });
  out.push('');
  if (hasChanges(plan.counts)) {
    out.push(paint('bold', `Plan: ${renderSummaryLine(plan.counts)} (${renderCountsInWords(plan.counts)})`));
  } else {
    out.push(paint('bold', NO_CHANGES));
  }
  if (view.deletions.length > 0) {
    const recreated = view.deletions.some(({ change }) => change.action === 'replace') ? ' or recreated' : '';
    out.push(paint('red', `${plural(view.deletions.length, 'resource')} will be deleted${recreated}.`));
  }
  if (view.nodeReplacements.length > 0) {
    out.push(
      paint('yellow', `${plural(view.nodeReplacements.length, 'change')} will make Karpenter replace nodes.`),
    );
  }
  if (view.errors.length > 0)
    out.push(paint('red', `Apply is blocked by ${plural(view.errors.length, 'error')}.`));
  if (view.warnings.length > 0) out.push(paint('yellow', plural(view.warnings.length, 'warning') + '.'));
  out.push(`Fingerprint: ${oneLine(plan.fingerprint)}`);
  return `${out.join('\n')}\n`;
}
