import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeadSha } from '../../src/main.ts';

const event = (payload: unknown) => {
  const p = join(mkdtempSync(join(tmpdir(), 'ka-event-')), 'event.json');
  writeFileSync(p, JSON.stringify(payload));
  return p;
};

test('on a pull request the plan is for the head commit, not the merge commit', () => {
  expect(
    readHeadSha({
      GITHUB_SHA: 'merge0',
      GITHUB_EVENT_PATH: event({ pull_request: { head: { sha: 'head1' } } }),
    }),
  ).toBe('head1');
});

test('on push and schedule it is GITHUB_SHA', () => {
  expect(readHeadSha({ GITHUB_SHA: 'abc', GITHUB_EVENT_PATH: event({ ref: 'refs/heads/main' }) })).toBe(
    'abc',
  );
  expect(readHeadSha({ GITHUB_SHA: 'abc', GITHUB_EVENT_PATH: '/nonexistent' })).toBe('abc');
  expect(readHeadSha({})).toBeUndefined();
});
