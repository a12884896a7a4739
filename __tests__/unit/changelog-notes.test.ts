import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { changelogNotes } from '../../scripts/changelog-notes.ts';

const ROOT = join(import.meta.dirname, '..', '..');

const CHANGELOG = `# Changelog

Intro text.

## [Unreleased]

- Not yet released.

## [1.2.0] - 2026-12-01

### Added

- The \`foo\` input.

\`\`\`yaml
## [1.1.0] - not a heading inside a code block
\`\`\`

### Fixed

- A crash.

## [1.1.0] - 2026-11-02

- Older.

## [1.0.0] - 2026-10-01

- First.

[Unreleased]: https://github.com/acme/karpenter-action/compare/v1.2.0...HEAD
[1.2.0]: https://github.com/acme/karpenter-action/compare/v1.1.0...v1.2.0
`;

test('the notes of a version are the body of its section, up to the next one', () => {
  expect(changelogNotes(CHANGELOG, '1.2.0')).toBe(
    [
      '### Added',
      '',
      '- The `foo` input.',
      '',
      '```yaml',
      '## [1.1.0] - not a heading inside a code block',
      '```',
      '',
      '### Fixed',
      '',
      '- A crash.',
      '',
    ].join('\n'),
  );
  expect(changelogNotes(CHANGELOG, '1.1.0')).toBe('- Older.\n');
});

test('the last section ends before the link definitions; a "v" prefix and CRLF are accepted', () => {
  expect(changelogNotes(CHANGELOG, 'v1.0.0')).toBe('- First.\n');
  expect(changelogNotes(CHANGELOG.replace(/\n/g, '\r\n'), '1.0.0')).toBe('- First.\n');
});

test('a version without a dated, non-empty section of its own has no notes', () => {
  expect(() => changelogNotes(CHANGELOG, '1.3.0')).toThrow('CHANGELOG.md has no section "## [1.3.0]');
  expect(() => changelogNotes(CHANGELOG, '1.2')).toThrow('has no section');
  expect(() => changelogNotes(CHANGELOG, 'Unreleased')).toThrow('has no release date');
  expect(() => changelogNotes('## [2.0.0]\n\n- x\n', '2.0.0')).toThrow('has no release date');
  expect(() => changelogNotes('## [2.0.0] - 2027-01-01\n\n## [1.0.0] - 2026-01-01\n- x\n', '2.0.0')).toThrow(
    'the CHANGELOG.md section of 2.0.0 is empty',
  );
});

test("the project's CHANGELOG.md has notes for every released version", () => {
  const text = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
  expect(text).toMatch(/^## \[Unreleased\]$/m);
  const released = [...text.matchAll(/^## \[(\d+\.\d+\.\d+)\]/gm)].map((m) => m[1]!);
  for (const version of released) expect(changelogNotes(text, version)).not.toBe('');
});
