/**
 * The release notes of one version, read from CHANGELOG.md (Keep a Changelog): the body of its
 * `## [X.Y.Z] - YYYY-MM-DD` section. The release workflow publishes them as the GitHub release's notes.
 *
 *   node scripts/changelog-notes.ts 1.2.3 [CHANGELOG.md] > notes.md
 *
 * A version without a dated section of its own, or with an empty one, is an error: a release always
 * says what it brings.
 */
import { readFileSync } from 'node:fs';

const HEADING = /^## \[?([^\]\s]+)\]?(?:\s+-\s+(.*?))?\s*$/;
const LINK_DEFINITION = /^\[[^\]]+\]:\s+\S+/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function changelogNotes(changelog: string, version: string): string {
  const wanted = version.replace(/^v/, '');
  const lines = changelog.replace(/\r\n?/g, '\n').split('\n');
  let fence: string | undefined;
  let start: number | undefined;
  let end = lines.length;
  let date: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const ticks = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (ticks && ticks[0] === fence[0] && ticks.length >= fence.length) fence = undefined;
      continue;
    }
    if (ticks) {
      fence = ticks;
      continue;
    }
    const heading = HEADING.exec(line);
    if (!heading) continue;
    if (start !== undefined) {
      end = i;
      break;
    }
    if (heading[1] === wanted) {
      start = i + 1;
      date = heading[2];
    }
  }
  if (start === undefined) throw new Error(`CHANGELOG.md has no section "## [${wanted}] - YYYY-MM-DD"`);
  if (!date || !DATE.test(date))
    throw new Error(
      `the CHANGELOG.md section of ${wanted} has no release date ("## [${wanted}] - YYYY-MM-DD")`,
    );
  const body = lines.slice(start, end).filter((l) => !LINK_DEFINITION.test(l));
  const notes = body.join('\n').trim();
  if (notes === '') throw new Error(`the CHANGELOG.md section of ${wanted} is empty`);
  return `${notes}\n`;
}

if (import.meta.main) {
  const [version, file = 'CHANGELOG.md'] = process.argv.slice(2);
  if (!version) {
    process.stderr.write('usage: node scripts/changelog-notes.ts <version> [CHANGELOG.md]\n');
    process.exit(2);
  }
  try {
    process.stdout.write(changelogNotes(readFileSync(file, 'utf8'), version));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
